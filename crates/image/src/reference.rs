//! Image references, normalized as docker does: `busybox` is `docker.io/library/busybox:latest`,
//! and is printed back in its familiar form `busybox:latest`.

use std::fmt;

use crate::error::ImageError;

pub const DEFAULT_REGISTRY: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";

/// A parsed, normalized reference: `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `localhost:5000`, `127.0.0.1:5000`, `quay.io`...
    pub registry: String,
    /// `library/busybox`, `foo/bar`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>`.
    pub digest: Option<String>,
}

fn err(reference: &str, reason: &str) -> ImageError {
    ImageError::Reference {
        reference: reference.to_string(),
        reason: reason.to_string(),
    }
}

fn valid_component(c: &str) -> bool {
    // [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'-')
}

fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || d.starts_with('[') => (h, Some(p)),
        _ => (d, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    if host.starts_with('[') && host.ends_with(']') {
        return host.len() > 2;
    }
    !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Is `s` a sha256 digest string (`sha256:` and 64 lowercase hex digits)?
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
}

impl Reference {
    /// Parses and normalizes `s` as docker does. A reference with neither tag nor digest gets
    /// no tag here: [`Reference::with_default_tag`] adds `latest`.
    pub fn parse(s: &str) -> Result<Reference, ImageError> {
        if s.is_empty() {
            return Err(err(s, "empty"));
        }
        if s.len() > 4096 {
            return Err(err(s, "too long"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                if !is_digest(d) {
                    return Err(err(s, "digest must be sha256:<64 hex digits>"));
                }
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(err(s, "invalid tag"));
            }
        }
        let (registry, repo) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                if !valid_domain(first) {
                    return Err(err(s, "invalid registry host"));
                }
                (first.to_string(), remainder.to_string())
            }
            _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            DEFAULT_REGISTRY.to_string()
        } else {
            registry
        };
        if repo.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(err(s, "repository name must be lowercase"));
        }
        if repo.split('/').any(|c| !valid_component(c)) {
            return Err(err(s, "invalid repository name"));
        }
        let repository = if registry == DEFAULT_REGISTRY && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo
        };
        if registry.len() + 1 + repository.len() > 255 {
            return Err(err(
                s,
                "repository name must not be more than 255 characters",
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// `latest` when neither a tag nor a digest was given.
    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `busybox`, `foo/bar`, `localhost:5000/foo`: the name as docker prints it.
    pub fn familiar_name(&self) -> String {
        if self.registry == DEFAULT_REGISTRY {
            self.repository
                .strip_prefix("library/")
                .unwrap_or(&self.repository)
                .to_string()
        } else {
            self.name()
        }
    }

    /// `busybox:latest`, `localhost:5000/foo:1`, `busybox@sha256:...`.
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
    }
}

impl fmt::Display for Reference {
    /// The fully qualified form, `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

/// Turns a stored, fully qualified name back into docker's familiar form.
pub fn familiar(full: &str) -> String {
    Reference::parse(full)
        .map(|r| r.familiar())
        .unwrap_or_else(|_| full.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(s: &str) -> String {
        Reference::parse(s).unwrap().with_default_tag().to_string()
    }

    #[test]
    fn normalizes_like_docker() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("foo/bar"), "docker.io/foo/bar:latest");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            full("index.docker.io/library/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("localhost:5000/foo:1"), "localhost:5000/foo:1");
        assert_eq!(full("localhost/foo"), "localhost/foo:latest");
        assert_eq!(full("127.0.0.1:5000/a/b/c:x"), "127.0.0.1:5000/a/b/c:x");
        assert_eq!(full("quay.io/x/y"), "quay.io/x/y:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            full(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
    }

    #[test]
    fn familiar_forms() {
        let f = |s: &str| Reference::parse(s).unwrap().with_default_tag().familiar();
        assert_eq!(f("docker.io/library/busybox"), "busybox:latest");
        assert_eq!(f("docker.io/foo/bar:2"), "foo/bar:2");
        assert_eq!(f("localhost:5000/foo:1"), "localhost:5000/foo:1");
        assert_eq!(
            familiar("docker.io/library/busybox:latest"),
            "busybox:latest"
        );
    }

    #[test]
    fn rejects_bad_references() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "a//b",
            "busybox@sha256:zz",
            "foo/../bar",
            "-foo",
            "foo bar",
            "localhost:x5/foo",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
