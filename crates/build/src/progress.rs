//! What a build prints, in one of three styles:
//!
//! - **classic**: docker's classic builder (`Step 2/5 : RUN ...`, ` ---> Using cache`,
//!   ` ---> Running in ...`, the `RUN` output as it comes, `Successfully built ...`);
//! - **plain**: BuildKit's `--progress plain` (`#N [stage k/n] INSTRUCTION`, `#N sha256:..`
//!   where BuildKit prints its vertex digest (hull's: a digest of the step's place in the
//!   cache chain: its parent's key and its text), `#N CACHED`, `RUN`
//!   output lines as `#N 0.123 line`, `#N DONE 0.1s` or `#N ERROR: ...`, a blank line
//!   between steps);
//! - **tty**: BuildKit's live view on a terminal: a `[+] Building` header and one line per
//!   step with its time, the running step's last output lines under it, redrawn in place.
//!
//! Steps are BuildKit's vertices: `FROM` an image (once per image, as BuildKit merges the
//! same base of two stages), `RUN`, `COPY`, `ADD` and `WORKDIR` (numbered `k/n` within
//! their stage, `FROM` being 1); the metadata instructions (`ENV`, `LABEL`...) have none, as
//! BuildKit makes no operation of them. Stages are named in a Dockerfile of more than one:
//! `[build 2/3]`, `[stage-1 2/3]`.

use std::io::Write;
use std::time::Instant;

/// The output style.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    #[default]
    Classic,
    Plain,
    Tty,
}

struct Vertex {
    n: usize,
    name: String,
    start: Instant,
    /// Plain: an output line not yet ended.
    partial: Vec<u8>,
    /// Tty: `None` while running, else `Some(seconds)`; cached steps show `CACHED`.
    done: Option<f64>,
    cached: bool,
    error: bool,
}

/// The build's printer.
pub struct Progress<'a> {
    style: Style,
    out: &'a mut dyn Write,
    /// Classic: the step counter and total.
    step: usize,
    total: usize,
    /// Plain/tty: vertices so far (the open one last).
    vertices: Vec<Vertex>,
    open: bool,
    start: Instant,
    /// Tty: the lines drawn last (to move back over), the running step's last lines.
    drawn: usize,
    tail: Vec<String>,
}

/// How many of a running step's output lines the tty view shows.
const TAIL: usize = 6;

impl<'a> Progress<'a> {
    pub fn new(style: Style, out: &'a mut dyn Write, total: usize) -> Progress<'a> {
        Progress {
            style,
            out,
            step: 0,
            total,
            vertices: Vec::new(),
            open: false,
            start: Instant::now(),
            drawn: 0,
            tail: Vec::new(),
        }
    }

    pub fn style(&self) -> Style {
        self.style
    }

    fn classic(&self) -> bool {
        self.style == Style::Classic
    }

    /// A classic-only line (` ---> Pulling x`, `# Executing 1 build trigger`).
    pub fn note(&mut self, line: &str) {
        if self.classic() {
            let _ = writeln!(self.out, "{line}");
            let _ = self.out.flush();
        }
    }

    /// An instruction begins: classic prints its `Step i/n` line; `vertex` is BuildKit's
    /// step name (`[2/3] RUN ...`) when it makes one.
    pub fn step(&mut self, raw: &str, vertex: Option<(String, String)>) {
        match self.style {
            Style::Classic => {
                self.step += 1;
                let _ = writeln!(self.out, "Step {}/{} : {raw}", self.step, self.total);
                let _ = self.out.flush();
            }
            _ => {
                if let Some((v, key)) = vertex {
                    self.begin(v, &key, &[]);
                }
            }
        }
    }

    /// A vertex (`[internal] load build definition from Dockerfile`, `[2/3] RUN ...`),
    /// opened with its key and detail lines.
    pub fn begin(&mut self, name: String, key: &str, details: &[String]) {
        if self.classic() {
            return;
        }
        self.close(None);
        let n = self.vertices.len() + 1;
        self.vertices.push(Vertex {
            n,
            name,
            start: Instant::now(),
            partial: Vec::new(),
            done: None,
            cached: false,
            error: false,
        });
        self.open = true;
        self.tail.clear();
        if self.style == Style::Plain {
            let v = self.vertices.last().expect("pushed");
            if v.n > 1 {
                let _ = writeln!(self.out);
            }
            let _ = writeln!(self.out, "#{} {}", v.n, v.name);
            let _ = writeln!(self.out, "#{} sha256:{key}", v.n);
            for d in details {
                let _ = writeln!(self.out, "#{} {d}", v.n);
            }
            let _ = self.out.flush();
        } else {
            self.draw();
        }
    }

    /// Ends the open vertex: `DONE`, `CACHED` (`cached`) or `ERROR: msg`.
    fn close(&mut self, how: Option<Result<bool, &str>>) {
        if !self.open {
            return;
        }
        let Some(how) = how else {
            // A vertex left open by a step that printed nothing more: done.
            return self.close(Some(Ok(false)));
        };
        self.open = false;
        let plain = self.style == Style::Plain;
        let v = self.vertices.last_mut().expect("open vertex");
        let secs = v.start.elapsed().as_secs_f64();
        v.done = Some(secs);
        if plain && !v.partial.is_empty() {
            let line = String::from_utf8_lossy(&v.partial).into_owned();
            let _ = writeln!(self.out, "#{} {secs:.3} {line}", v.n);
            v.partial.clear();
        }
        match how {
            Ok(true) => {
                v.cached = true;
                if plain {
                    let _ = writeln!(self.out, "#{} CACHED", v.n);
                }
            }
            Ok(false) => {
                if plain {
                    let _ = writeln!(self.out, "#{} DONE {secs:.1}s", v.n);
                }
            }
            Err(msg) => {
                v.error = true;
                if plain {
                    let _ = writeln!(self.out, "#{} ERROR: {msg}", v.n);
                    let _ = writeln!(self.out, "------\n > {}:\n------", v.name);
                }
            }
        }
        if plain {
            let _ = self.out.flush();
        } else {
            self.tail.clear();
            self.draw();
        }
    }

    /// A `FROM`'s base image is there (`short_id`, or `scratch`): its step is cached.
    pub fn base(&mut self, short_id: &str) {
        if self.classic() {
            let _ = writeln!(self.out, " ---> {short_id}");
        } else {
            self.close(Some(Ok(true)));
        }
    }

    /// A step found in the cache (`id`: the image it adopts).
    pub fn cached(&mut self, id: &str) {
        if self.classic() {
            let _ = writeln!(self.out, " ---> Using cache\n ---> {id}");
        } else {
            self.close(Some(Ok(true)));
        }
    }

    /// A step done (`id`: the image it made, when it made one; a `FROM`'s base).
    pub fn done(&mut self, id: Option<&str>) {
        if self.classic() {
            if let Some(id) = id {
                let _ = writeln!(self.out, " ---> {id}");
            }
        } else {
            self.close(Some(Ok(false)));
        }
    }

    /// The step failed with `msg`.
    pub fn failed(&mut self, msg: &str) {
        if !self.classic() {
            self.close(Some(Err(msg)));
        }
    }

    /// A `RUN`'s container was made (classic: ` ---> Running in ...`).
    pub fn running(&mut self, short_id: &str) {
        if self.classic() {
            let _ = writeln!(self.out, " ---> Running in {short_id}");
            let _ = self.out.flush();
        }
    }

    /// A `RUN`'s container was removed.
    pub fn removed(&mut self, short_id: &str) {
        if self.classic() {
            let _ = writeln!(self.out, "Removing intermediate container {short_id}");
        }
    }

    /// Output of the running step.
    pub fn output(&mut self, data: &[u8]) {
        match self.style {
            Style::Classic => {
                let _ = self.out.write_all(data);
                let _ = self.out.flush();
            }
            Style::Plain => {
                let Some(v) = self.vertices.last_mut().filter(|_| self.open) else {
                    return;
                };
                let secs = v.start.elapsed().as_secs_f64();
                v.partial.extend_from_slice(data);
                while let Some(i) = v.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = v.partial.drain(..=i).collect();
                    let text = String::from_utf8_lossy(&line[..i]);
                    let text = text.strip_suffix('\r').unwrap_or(&text);
                    let _ = writeln!(self.out, "#{} {secs:.3} {text}", v.n);
                }
                let _ = self.out.flush();
            }
            Style::Tty => {
                let text = String::from_utf8_lossy(data);
                for (i, l) in text.split('\n').enumerate() {
                    match self.tail.last_mut() {
                        Some(last) if i == 0 => last.push_str(l),
                        _ => self.tail.push(l.to_string()),
                    }
                }
                let keep = self.tail.len().saturating_sub(TAIL + 1);
                self.tail.drain(..keep);
                self.draw();
            }
        }
    }

    /// The end of a successful build: classic's `Successfully built/tagged` lines, or
    /// BuildKit's `exporting to image` step.
    pub fn finish(&mut self, id: &str, tags: &[String]) {
        if self.classic() {
            let hex = id.strip_prefix("sha256:").unwrap_or(id);
            let _ = writeln!(self.out, "Successfully built {}", &hex[..hex.len().min(12)]);
            for t in tags {
                let _ = writeln!(self.out, "Successfully tagged {t}");
            }
            return;
        }
        let mut details = vec![
            "exporting layers done".to_string(),
            format!("writing image {id} done"),
        ];
        for t in tags {
            details.push(format!("naming to {} done", full_name(t)));
        }
        let key = hex_sha256(&format!("export {id} {tags:?}"));
        self.begin("exporting to image".into(), &key, &details);
        self.close(Some(Ok(false)));
        if self.style == Style::Tty {
            self.draw_final(true);
        }
    }

    /// The end of a failed build: the open step gets the error.
    pub fn abort(&mut self, msg: &str) {
        if self.classic() {
            return;
        }
        self.close(Some(Err(msg)));
        if self.style == Style::Tty {
            self.draw_final(false);
        }
    }

    /// Tty: redraws the view over the one drawn before.
    fn draw(&mut self) {
        let text = self.render(false);
        self.paint(&text);
    }

    fn draw_final(&mut self, ok: bool) {
        let mut text = self.render(true);
        if !ok {
            text.push_str("------\n");
        }
        self.paint(&text);
        self.drawn = 0;
    }

    fn paint(&mut self, text: &str) {
        let mut buf = String::new();
        if self.drawn > 0 {
            buf.push_str(&format!("\x1b[{}A\r", self.drawn));
        }
        buf.push_str("\x1b[J");
        buf.push_str(text);
        self.drawn = text.matches('\n').count();
        let _ = self.out.write_all(buf.as_bytes());
        let _ = self.out.flush();
    }

    fn render(&self, finished: bool) -> String {
        let width = crate::progress::width();
        let done = self.vertices.iter().filter(|v| v.done.is_some()).count();
        let mut s = format!(
            "[+] Building {:.1}s ({done}/{}){}\n",
            self.start.elapsed().as_secs_f64(),
            self.vertices.len(),
            if finished { " FINISHED" } else { "" }
        );
        for v in &self.vertices {
            let time = match (v.done, v.cached) {
                (_, true) => "CACHED".to_string(),
                (Some(t), _) => format!("{t:.1}s"),
                (None, _) => format!("{:.1}s", v.start.elapsed().as_secs_f64()),
            };
            let mark = if v.error { "ERROR" } else { "=>" };
            let left = format!(" {mark} {}", v.name);
            let room = width.saturating_sub(time.len() + 1);
            let left: String = left.chars().take(room).collect();
            let pad = room.saturating_sub(left.chars().count());
            s.push_str(&format!("{left}{}{time}\n", " ".repeat(pad + 1)));
            if v.done.is_none() {
                for l in self.tail.iter().filter(|l| !l.is_empty()) {
                    let line = format!(" => => # {l}");
                    s.push_str(&line.chars().take(width).collect::<String>());
                    s.push('\n');
                }
            }
        }
        s
    }
}

/// The hex sha256 of `s`: the key of a step that has no cache key of its own.
pub fn hex_sha256(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The terminal's width (80 when unknown).
fn width() -> usize {
    hull_term::attach::terminal_size()
        .map(|(_, c)| usize::from(c))
        .unwrap_or(80)
        .max(40)
}

/// A reference as BuildKit prints it: `busybox` is `docker.io/library/busybox`,
/// `me/app:1` is `docker.io/me/app:1`; a registry host is kept.
pub fn full_name(r: &str) -> String {
    let (first, rest) = match r.split_once('/') {
        None => return format!("docker.io/library/{r}"),
        Some(x) => x,
    };
    if first.contains(['.', ':']) || first == "localhost" {
        r.to_string()
    } else {
        let _ = rest;
        format!("docker.io/{r}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prints_buildkit_lines() {
        let mut buf = Vec::new();
        {
            let mut p = Progress::new(Style::Plain, &mut buf, 3);
            p.step(
                "FROM busybox",
                Some(("[1/2] FROM docker.io/library/busybox".into(), "k1".into())),
            );
            p.base("0123");
            p.step("ENV A=1", None);
            p.step(
                "RUN echo hi",
                Some(("[2/2] RUN echo hi".into(), "k2".into())),
            );
            p.running("abc");
            p.output(b"hi\nthere");
            p.output(b" again\n");
            p.removed("abc");
            p.done(Some("sha256:2"));
            p.finish("sha256:2", &["x:1".into()]);
        }
        let text = String::from_utf8(buf).unwrap();
        let k3 = format!("#3 sha256:{}", hex_sha256("export sha256:2 [\"x:1\"]"));
        let norm: Vec<String> = text
            .lines()
            .map(|l| {
                l.split(' ')
                    .map(|w| {
                        if w.parse::<f64>().is_ok()
                            || w.ends_with('s') && w[..w.len() - 1].parse::<f64>().is_ok()
                        {
                            "T"
                        } else {
                            w
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            norm,
            [
                "#1 [1/2] FROM docker.io/library/busybox",
                "#1 sha256:k1",
                "#1 CACHED",
                "",
                "#2 [2/2] RUN echo hi",
                "#2 sha256:k2",
                "#2 T hi",
                "#2 T there again",
                "#2 DONE T",
                "",
                "#3 exporting to image",
                k3.as_str(),
                "#3 exporting layers done",
                "#3 writing image sha256:2 done",
                "#3 naming to docker.io/library/x:1 done",
                "#3 DONE T",
            ]
        );
    }

    #[test]
    fn names_as_buildkit_prints_them() {
        assert_eq!(full_name("busybox"), "docker.io/library/busybox");
        assert_eq!(full_name("me/app:1"), "docker.io/me/app:1");
        assert_eq!(full_name("localhost:5000/a"), "localhost:5000/a");
        assert_eq!(full_name("quay.io/a/b"), "quay.io/a/b");
    }
}
