use super::*;

fn parse(src: &str) -> Dockerfile {
    Dockerfile::parse("Dockerfile", src).unwrap()
}

fn instrs(src: &str) -> Vec<Instr> {
    parse(src).instrs.into_iter().map(|(_, i)| i).collect()
}

fn err(src: &str) -> String {
    Dockerfile::parse("Dockerfile", src)
        .unwrap_err()
        .to_string()
}

#[test]
fn continuations_comments_and_case() {
    let d = parse("from busybox\n# a comment\nRUN echo a \\\n  # inside\n\n  b\ncmd [\"sh\"]\n");
    let (raw, run) = &d.instrs[1];
    assert_eq!(raw.line, 3);
    assert_eq!(raw.text, "RUN echo a   b");
    assert_eq!(
        run,
        &Instr::Run {
            cmd: Command::Shell("echo a   b".into()),
            network: None,
            mounts: Vec::new()
        }
    );
    assert_eq!(d.instrs[2].1, Instr::Cmd(Command::Exec(vec!["sh".into()])));
}

#[test]
fn escape_directive_and_syntax() {
    let d = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n");
    assert_eq!(d.escape, '`');
    assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(
        d.instrs[1].1,
        Instr::Run {
            cmd: Command::Shell("dir c:\\   && echo".into()),
            network: None,
            mounts: Vec::new()
        }
    );
    // A directive after a comment or instruction is an ordinary comment.
    let d = parse("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n");
    assert_eq!(d.escape, '\\');
    assert!(err("# escape=x\nFROM a\n").contains("invalid escape token"));
    assert!(err("# escape=`\n# escape=\\\nFROM a\n").contains("only one escape"));
}

#[test]
fn exec_and_shell_forms() {
    let i = instrs("FROM a\nCMD [\"a\", \"b c\"]\nCMD [not json\nENTRYPOINT echo hi\nSHELL [\"/bin/bash\", \"-c\"]\n");
    assert_eq!(
        i[1],
        Instr::Cmd(Command::Exec(vec!["a".into(), "b c".into()]))
    );
    assert_eq!(i[2], Instr::Cmd(Command::Shell("[not json".into())));
    assert_eq!(i[3], Instr::Entrypoint(Command::Shell("echo hi".into())));
    assert_eq!(i[4], Instr::Shell(vec!["/bin/bash".into(), "-c".into()]));
    assert_eq!(
        Command::Shell("x".into()).argv(&["/bin/sh".into(), "-c".into()]),
        vec!["/bin/sh", "-c", "x"]
    );
}

#[test]
fn env_label_arg_forms() {
    let i = instrs("FROM a\nENV A=1 B=\"two words\" C=x\\ y\nENV OLD some value here\nLABEL \"k\"=v l=\"\"\nARG X Y=2\n");
    assert_eq!(
        i[1],
        Instr::Env(vec![
            ("A".into(), "1".into()),
            ("B".into(), "\"two words\"".into()),
            ("C".into(), "x\\ y".into())
        ])
    );
    assert_eq!(
        i[2],
        Instr::Env(vec![("OLD".into(), "some value here".into())])
    );
    assert_eq!(
        i[3],
        Instr::Label(vec![
            ("\"k\"".into(), "v".into()),
            ("l".into(), "\"\"".into())
        ])
    );
    assert_eq!(
        i[4],
        Instr::Arg(vec![("X".into(), None), ("Y".into(), Some("2".into()))])
    );
    assert!(err("FROM a\nENV A=1 B\n").contains("can't find = in \"B\""));
}

#[test]
fn from_copy_flags() {
    let i = instrs("ARG V=1\nFROM --platform=linux/amd64 busybox:$V AS Build\nCOPY --from=build --chown=app:app --chmod=644 a b /dst/\nADD [\"x y\", \"/z\"]\n");
    assert_eq!(i[0], Instr::Arg(vec![("V".into(), Some("1".into()))]));
    assert_eq!(
        i[1],
        Instr::From {
            image: "busybox:$V".into(),
            alias: Some("build".into()),
            platform: Some("linux/amd64".into())
        }
    );
    let Instr::Copy(c) = &i[2] else { panic!() };
    assert_eq!(c.from.as_deref(), Some("build"));
    assert_eq!(c.chown.as_deref(), Some("app:app"));
    assert_eq!(c.chmod.as_deref(), Some("644"));
    assert_eq!(
        c.srcs,
        vec![CopySource::Path("a".into()), CopySource::Path("b".into())]
    );
    assert_eq!(c.dest, "/dst/");
    let Instr::Add(a) = &i[3] else { panic!() };
    assert_eq!(a.srcs, vec![CopySource::Path("x y".into())]);
}

#[test]
fn heredocs() {
    let d = parse("FROM a\nRUN <<EOF\necho one\necho two\nEOF\nRUN cat <<-'END' > /f\n\tliteral $X\n\tEND\nCOPY <<EOF /etc/x\nhi $Y\nEOF\nCMD x\n");
    assert_eq!(
        d.instrs[1].1,
        Instr::Run {
            cmd: Command::Shell("echo one\necho two\n".into()),
            network: None,
            mounts: Vec::new()
        }
    );
    assert_eq!(
        d.instrs[2].1,
        Instr::Run {
            cmd: Command::Shell("cat <<-'END' > /f\nliteral $X\nEND\n".into()),
            network: None,
            mounts: Vec::new()
        }
    );
    let Instr::Copy(c) = &d.instrs[3].1 else {
        panic!()
    };
    assert_eq!(
        c.srcs,
        vec![CopySource::Heredoc(Heredoc {
            name: "EOF".into(),
            content: "hi $Y\n".into(),
            expand: true
        })]
    );
    assert_eq!(d.instrs[4].1, Instr::Cmd(Command::Shell("x".into())));
    assert!(err("FROM a\nRUN <<EOF\necho\n")
        .contains("Dockerfile:2: RUN: heredoc <<EOF is not terminated"));
}

#[test]
fn errors_name_file_line_and_instruction() {
    assert_eq!(
        err("FROM a\n\nFOO bar\n"),
        "Dockerfile:3: FOO: unknown instruction: FOO"
    );
    assert_eq!(
        err("RUN x\nFROM a\n"),
        "Dockerfile:1: RUN: no build stage in current context (only ARG may come before the first FROM)"
    );
    assert!(err("FROM a b\n").starts_with("Dockerfile:1: FROM: FROM requires either one or three"));
    assert!(err("FROM a\nCOPY x\n").contains("COPY requires at least two arguments"));
    assert!(err("FROM a\nCOPY --bogus=1 x y\n").contains("unknown flag: --bogus"));
    assert!(err("FROM a\nSHELL sh -c\n").contains("JSON form"));
    assert!(err("FROM a\nONBUILD ONBUILD RUN x\n").contains("Chaining ONBUILD"));
    assert!(err("# just a comment\n").contains("no instructions"));
}

#[test]
fn healthcheck_and_misc() {
    let i = instrs("FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD wget -q x\nHEALTHCHECK NONE\nHEALTHCHECK CMD [\"true\"]\nEXPOSE 80/tcp 53/udp\nVOLUME [\"/a\", \"/b\"]\nVOLUME /c /d\nSTOPSIGNAL SIGTERM\nONBUILD RUN echo\nMAINTAINER me\nWORKDIR /w\nUSER u:g\n");
    let Instr::Healthcheck(h) = &i[1] else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD-SHELL", "wget -q x"]);
    assert_eq!(h.interval.as_deref(), Some("5s"));
    assert_eq!(h.retries.as_deref(), Some("3"));
    let Instr::Healthcheck(h) = &i[2] else {
        panic!()
    };
    assert_eq!(h.test, vec!["NONE"]);
    let Instr::Healthcheck(h) = &i[3] else {
        panic!()
    };
    assert_eq!(h.test, vec!["CMD", "true"]);
    assert_eq!(i[4], Instr::Expose(vec!["80/tcp".into(), "53/udp".into()]));
    assert_eq!(i[5], Instr::Volume(vec!["/a".into(), "/b".into()]));
    assert_eq!(i[6], Instr::Volume(vec!["/c".into(), "/d".into()]));
    assert_eq!(i[7], Instr::StopSignal("SIGTERM".into()));
    assert_eq!(i[8], Instr::Onbuild("RUN echo".into()));
    assert_eq!(i[9], Instr::Maintainer("me".into()));
    assert_eq!(i[10], Instr::Workdir("/w".into()));
    assert_eq!(i[11], Instr::User("u:g".into()));
}
