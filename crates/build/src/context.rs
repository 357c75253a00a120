//! The build context: a directory (or a tar read from stdin, unpacked into a private temp
//! dir) and its `.dockerignore`. Sources are resolved inside it only: a path that leaves it
//! (`../x`) or a symlink whose target lies outside it is refused, so nothing outside the
//! context is ever read.

use std::path::{Path, PathBuf};

use crate::ignore::{clean, Ignore};
use crate::BuildError;

pub struct Context {
    /// The context's directory, canonical (None: a Dockerfile on stdin, no context).
    root: Option<PathBuf>,
    ignore: Ignore,
    /// Keeps a tar context's unpacked dir alive.
    _tmp: Option<tempfile::TempDir>,
}

/// A source path matched in the context: relative (slash-separated) and on the host.
#[derive(Debug, Clone)]
pub struct Source {
    pub rel: String,
    pub host: PathBuf,
}

impl Context {
    /// A directory context; `dockerfile` is its Dockerfile's path, whose
    /// `<Dockerfile>.dockerignore` wins over the context's `.dockerignore`.
    pub fn dir(dir: &Path, dockerfile: Option<&Path>) -> Result<Context, BuildError> {
        let root = dir
            .canonicalize()
            .map_err(|e| BuildError::msg(format!("context {}: {e}", dir.display())))?;
        let mut text = None;
        if let Some(df) = dockerfile {
            let own = PathBuf::from(format!("{}.dockerignore", df.display()));
            text = std::fs::read_to_string(own).ok();
        }
        let text = text
            .or_else(|| std::fs::read_to_string(root.join(".dockerignore")).ok())
            .unwrap_or_default();
        let ignore =
            Ignore::parse(&text).map_err(|e| BuildError::msg(format!(".dockerignore: {e}")))?;
        Ok(Context {
            root: Some(root),
            ignore,
            _tmp: None,
        })
    }

    /// A tar context (as `docker build - < ctx.tar`), unpacked under `tmp_in`.
    pub fn tar(src: &mut dyn std::io::Read, tmp_in: &Path) -> Result<Context, BuildError> {
        let tmp = tempfile::tempdir_in(tmp_in).map_err(|e| {
            BuildError::msg(format!("context: temp dir in {}: {e}", tmp_in.display()))
        })?;
        let mut a = tar::Archive::new(src);
        a.set_preserve_permissions(true);
        // tar's unpack keeps every entry under the destination (no `..`, no absolute path).
        a.unpack(tmp.path())
            .map_err(|e| BuildError::msg(format!("context: read tar from stdin: {e}")))?;
        let mut c = Context::dir(tmp.path(), None)?;
        c._tmp = Some(tmp);
        Ok(c)
    }

    /// No context: only a Dockerfile on stdin.
    pub fn none() -> Context {
        Context {
            root: None,
            ignore: Ignore::default(),
            _tmp: None,
        }
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// A tar context, unpacked into a temp dir for this build only.
    pub fn is_temp(&self) -> bool {
        self._tmp.is_some()
    }

    pub fn ignored(&self, rel: &str) -> bool {
        self.ignore.ignored(rel)
    }

    /// The sources `pattern` names (a path or a Go glob), docker's errors when none.
    pub fn sources(&self, pattern: &str) -> Result<Vec<Source>, BuildError> {
        let Some(root) = &self.root else {
            return Err(BuildError::msg(format!(
                "COPY failed: no build context for {pattern} (the Dockerfile came from stdin)"
            )));
        };
        let rel = clean(pattern);
        if rel == ".." || rel.starts_with("../") {
            return Err(BuildError::msg(format!(
                "COPY failed: forbidden path outside the build context: {pattern}"
            )));
        }
        let mut out = Vec::new();
        if rel.contains(['*', '?', '[']) {
            let pat = regex_of_glob(&rel)?;
            let mut all = Vec::new();
            list(root, "", &mut all)?;
            for r in all {
                if pat.is_match(&r) && !self.ignored(&r) {
                    out.push(self.confined(root, &r)?);
                }
            }
        } else if rel == "." || !self.ignored(&rel) {
            let s = self.confined(root, if rel == "." { "" } else { &rel })?;
            if s.host.symlink_metadata().is_ok() {
                out.push(s);
            }
        }
        if out.is_empty() {
            return Err(BuildError::msg(format!(
                "COPY failed: file not found in build context or excluded by .dockerignore: stat {pattern}: file does not exist"
            )));
        }
        Ok(out)
    }

    /// `rel` on the host, its symlinks followed only while they stay in the context.
    fn confined(&self, root: &Path, rel: &str) -> Result<Source, BuildError> {
        let host = root.join(rel);
        if let Ok(real) = host.canonicalize() {
            if !real.starts_with(root) {
                return Err(BuildError::msg(format!(
                    "COPY failed: forbidden path outside the build context: {rel} ({})",
                    real.display()
                )));
            }
            return Ok(Source {
                rel: rel.to_string(),
                host: real,
            });
        }
        Ok(Source {
            rel: rel.to_string(),
            host,
        })
    }
}

/// Every path under `dir`, relative, slash-separated, parents first, sorted.
pub fn list(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), BuildError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| BuildError::msg(format!("read {}: {e}", dir.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let rel = if prefix.is_empty() {
            n.clone()
        } else {
            format!("{prefix}/{n}")
        };
        out.push(rel.clone());
        let p = dir.join(&n);
        if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            list(&p, &rel, out)?;
        }
    }
    Ok(())
}

/// Whether `p` has no glob characters.
pub fn regex_free(p: &str) -> bool {
    !p.contains(['*', '?', '['])
}

/// The paths under `root` (relative, slash-separated) that the glob `rel` (cleaned,
/// relative) matches; only the directory below its literal prefix is walked.
pub fn glob(root: &Path, rel: &str) -> Result<Vec<String>, BuildError> {
    let pat = regex_of_glob(rel)?;
    let lit = rel.find(['*', '?', '[']).map_or(rel, |n| &rel[..n]);
    let prefix = lit.rfind('/').map_or("", |n| &lit[..n]);
    // `*` and `?` stay within one element: nothing deeper than the pattern can match.
    let depth = rel.split('/').count();
    let mut out = Vec::new();
    let mut todo = vec![(root.join(prefix), prefix.to_string())];
    while let Some((dir, at)) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let r = if at.is_empty() {
                n
            } else {
                format!("{at}/{n}")
            };
            if pat.is_match(&r) {
                out.push(r.clone());
            }
            if r.split('/').count() < depth && e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push((e.path(), r));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A COPY source glob (Go's filepath.Match: `*` and `?` stay within one path element).
fn regex_of_glob(g: &str) -> Result<regex::Regex, BuildError> {
    let mut re = String::from("^");
    let mut it = g.chars();
    while let Some(c) = it.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                for c in it.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '!' && re.ends_with('[') {
                        re.push('^');
                    } else {
                        re.push_str(&regex::escape(&c.to_string()));
                    }
                }
                re.push(']');
            }
            '\\' => {
                if let Some(n) = it.next() {
                    re.push_str(&regex::escape(&n.to_string()));
                }
            }
            x => re.push_str(&regex::escape(&x.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).map_err(|e| BuildError::msg(format!("COPY source {g}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> (tempfile::TempDir, Context) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("ctx");
        std::fs::create_dir_all(d.join("src/sub")).unwrap();
        std::fs::write(d.join("src/a.txt"), "a").unwrap();
        std::fs::write(d.join("src/b.log"), "b").unwrap();
        std::fs::write(d.join("src/sub/c.txt"), "c").unwrap();
        std::fs::write(t.path().join("outside"), "secret").unwrap();
        std::os::unix::fs::symlink(t.path().join("outside"), d.join("out-link")).unwrap();
        std::os::unix::fs::symlink("src/a.txt", d.join("in-link")).unwrap();
        std::fs::write(d.join(".dockerignore"), "**/*.log\n").unwrap();
        let c = Context::dir(&d, None).unwrap();
        (t, c)
    }

    fn rels(v: Vec<Source>) -> Vec<String> {
        v.into_iter().map(|s| s.rel).collect()
    }

    #[test]
    fn globs_and_ignore() {
        let (_t, c) = ctx();
        assert_eq!(rels(c.sources("src/*").unwrap()), ["src/a.txt", "src/sub"]);
        assert_eq!(
            rels(c.sources("./src/../src/a.txt").unwrap()),
            ["src/a.txt"]
        );
        let e = c.sources("src/b.log").unwrap_err().msg;
        assert!(
            e.contains("excluded by .dockerignore: stat src/b.log"),
            "{e}"
        );
        assert!(c.sources("nope").is_err());
    }

    #[test]
    fn dockerfile_own_ignore_file_wins() {
        let (t, _) = ctx();
        let d = t.path().join("ctx");
        std::fs::write(d.join("app.Dockerfile"), "FROM x\n").unwrap();
        std::fs::write(d.join("app.Dockerfile.dockerignore"), "src/a.txt\n").unwrap();
        let c = Context::dir(&d, Some(&d.join("app.Dockerfile"))).unwrap();
        assert!(c.ignored("src/a.txt"));
        assert!(
            !c.ignored("src/b.log"),
            "the context's .dockerignore is not read then"
        );
        let c = Context::dir(&d, Some(&d.join("Dockerfile"))).unwrap();
        assert!(c.ignored("src/b.log") && !c.ignored("src/a.txt"));
    }

    #[test]
    fn nothing_outside_is_read() {
        let (_t, c) = ctx();
        let e = c.sources("../outside").unwrap_err().msg;
        assert!(
            e.contains("forbidden path outside the build context: ../outside"),
            "{e}"
        );
        let e = c.sources("out-link").unwrap_err().msg;
        assert!(
            e.contains("forbidden path outside the build context: out-link"),
            "{e}"
        );
        let s = c.sources("in-link").unwrap();
        assert!(s[0].host.ends_with("src/a.txt"));
        assert!(Context::none().sources("x").is_err());
    }
}
