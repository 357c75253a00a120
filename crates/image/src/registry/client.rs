//! A synchronous client of one repository on a registry speaking the OCI distribution API:
//! the /v2/ ping, anonymous access, and the Bearer token dance (a 401 with a
//! `WWW-Authenticate: Bearer realm=..,service=..,scope=..` challenge, a token from the realm,
//! the request again with it); Basic auth when the registry asks for it.
//!
//! Loopback registries (`localhost:*`, `127.0.0.0/8`, `[::1]`) are spoken to over plain http,
//! as docker's default insecure-registries do; `--tls-verify=false` tries https accepting any
//! certificate, then plain http.

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use ureq::http::Response;
use ureq::Body;

use crate::error::ImageError;
use crate::reference::{Reference, DEFAULT_REGISTRY};

use super::PullOptions;

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    registry: String,
    repository: String,
    creds: Option<(String, String)>,
    authorization: Option<String>,
    /// Ask tokens for `pull,push` (`hull push`), not just `pull`.
    push: bool,
}

fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Splits `Bearer realm="x",service="y"` into its scheme and parameters.
pub fn parse_challenge(header: &str) -> (String, HashMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = HashMap::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        params.insert(key, value);
        rest = remainder.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Client {
    pub fn new(r: &Reference, opts: &PullOptions) -> Result<Client, ImageError> {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(opts.insecure)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .user_agent(concat!("hull/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let host = if r.registry == DEFAULT_REGISTRY {
            "registry-1.docker.io".to_string()
        } else {
            r.registry.clone()
        };
        let mut c = Client {
            agent,
            base: String::new(),
            registry: r.registry.clone(),
            repository: r.repository.clone(),
            creds: opts.credentials.clone(),
            authorization: None,
            push: false,
        };
        // --tls-verify=false: https without verification, then http (podman's behaviour).
        // Loopback registries are insecure by default, as in docker: plain http.
        let schemes: &[&str] = if opts.insecure {
            &["https", "http"]
        } else if is_loopback(&host) {
            &["http"]
        } else {
            &["https"]
        };
        let mut last = None;
        for scheme in schemes {
            c.base = format!("{scheme}://{host}");
            match c.agent.get(format!("{}/v2/", c.base)).call() {
                Ok(resp) => {
                    if resp.status() == 401 {
                        c.answer_challenge(&resp)?;
                    }
                    return Ok(c);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(c.err(format!(
            "cannot reach {host}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    /// `hull login`: GET /v2/ with the credentials (answering the registry's challenge);
    /// Ok when the registry lets them in.
    pub fn check_login(&mut self) -> Result<(), ImageError> {
        let url = format!("{}/v2/", self.base);
        let mut req = self.agent.get(&url);
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        let resp = req
            .call()
            .map_err(|e| self.err(format!("GET {url}: {e}")))?;
        match resp.status().as_u16() {
            200 => Ok(()),
            401 => Err(self.err("unauthorized: incorrect username or password")),
            s => Err(self.err(format!("GET {url}: {s}"))),
        }
    }

    pub(crate) fn set_push(&mut self) {
        self.push = true;
        // A token asked for pull only would not do: ask again at the first 401.
        self.authorization = None;
        if let Some((u, p)) = &self.creds {
            self.authorization = Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes())));
        }
    }

    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    pub(crate) fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn repository(&self) -> &str {
        &self.repository
    }

    pub(crate) fn error(&self, reason: impl std::fmt::Display) -> ImageError {
        self.err(reason)
    }

    pub(crate) fn challenge(&mut self, resp: &Response<Body>) -> Result<(), ImageError> {
        self.answer_challenge(resp)
    }

    fn err(&self, reason: impl std::fmt::Display) -> ImageError {
        ImageError::registry(&self.registry, reason)
    }

    /// Gets credentials for what a 401 asked for.
    fn answer_challenge(&mut self, resp: &Response<Body>) -> Result<(), ImageError> {
        let header = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.err("401 Unauthorized without a WWW-Authenticate challenge"))?
            .to_string();
        let (scheme, params) = parse_challenge(&header);
        match scheme.as_str() {
            "basic" => {
                let (u, p) = self
                    .creds
                    .clone()
                    .ok_or_else(|| self.err("authentication required (use --creds USER:PASS)"))?;
                self.authorization =
                    Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes())));
                Ok(())
            }
            "bearer" => {
                let realm = params.get("realm").ok_or_else(|| {
                    self.err(format!("Bearer challenge without a realm: {header}"))
                })?;
                let mut url = format!("{realm}?");
                if let Some(service) = params.get("service") {
                    url.push_str(&format!("service={}&", urlencode(service)));
                }
                let actions = if self.push { "pull,push" } else { "pull" };
                let scope = format!("repository:{}:{actions}", self.repository);
                url.push_str(&format!("scope={}", urlencode(&scope)));
                let mut req = self.agent.get(&url);
                if let Some((u, p)) = &self.creds {
                    req = req.header(
                        "Authorization",
                        format!("Basic {}", base64(format!("{u}:{p}").as_bytes())),
                    );
                }
                let mut resp = req
                    .call()
                    .map_err(|e| self.err(format!("token from {realm}: {e}")))?;
                if resp.status() != 200 {
                    return Err(self.err(format!("token from {realm}: {}", resp.status())));
                }
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(1 << 20)
                    .read_to_vec()
                    .map_err(|e| self.err(format!("token from {realm}: {e}")))?;
                #[derive(serde::Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let t: Token = serde_json::from_slice(&body)
                    .map_err(|e| self.err(format!("token from {realm}: {e}")))?;
                let token = t.token.or(t.access_token).ok_or_else(|| {
                    self.err(format!("token from {realm}: no token in the answer"))
                })?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(self.err(format!("unsupported authentication scheme {other:?}"))),
        }
    }

    /// GET `/v2/<repository>/<path>`, answering one auth challenge on the way.
    fn get(&mut self, path: &str, accept: Option<&str>) -> Result<Response<Body>, ImageError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.repository);
        let mut retried = false;
        loop {
            let mut req = self.agent.get(&url);
            if let Some(a) = accept {
                req = req.header("Accept", a);
            }
            if let Some(auth) = &self.authorization {
                req = req.header("Authorization", auth);
            }
            let resp = req
                .call()
                .map_err(|e| self.err(format!("GET {url}: {e}")))?;
            if resp.status() == 401 && !retried {
                retried = true;
                self.answer_challenge(&resp)?;
                continue;
            }
            if resp.status() != 200 {
                return Err(self.status_error(resp, path));
            }
            return Ok(resp);
        }
    }

    fn status_error(&self, mut resp: Response<Body>, path: &str) -> ImageError {
        let status = resp.status();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_vec()
            .unwrap_or_default();
        #[derive(serde::Deserialize)]
        struct Errors {
            errors: Vec<E>,
        }
        #[derive(serde::Deserialize)]
        struct E {
            code: Option<String>,
            message: Option<String>,
        }
        let detail = serde_json::from_slice::<Errors>(&body)
            .ok()
            .and_then(|e| e.errors.into_iter().next())
            .map(|e| {
                format!(
                    ": {} {}",
                    e.code.unwrap_or_default(),
                    e.message.unwrap_or_default()
                )
            })
            .unwrap_or_else(|| {
                // Not the API's JSON: the first line of whatever it said, if it is text.
                let text = String::from_utf8_lossy(&body);
                let line = text.lines().next().unwrap_or("").trim();
                if line.is_empty() || line.len() > 200 || body.contains(&0) {
                    String::new()
                } else {
                    format!(": {line}")
                }
            });
        self.err(format!("{}/{path}: {status}{detail}", self.repository))
    }

    /// A manifest or index by tag or digest: its bytes and Content-Type.
    pub fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, Option<String>), ImageError> {
        let path = format!("manifests/{reference}");
        let mut resp = self.get(&path, Some(super::manifest::ACCEPT))?;
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .map_err(|e| self.err(format!("{path}: {e}")))?;
        Ok((body, ctype))
    }

    /// A blob, as a stream.
    pub fn blob(&mut self, digest: &str) -> Result<impl Read + use<>, ImageError> {
        let resp = self.get(&format!("blobs/{digest}"), None)?;
        Ok(resp.into_body().into_reader())
    }

    /// A small blob (a config), read whole.
    pub fn blob_bytes(&mut self, digest: &str, limit: u64) -> Result<Vec<u8>, ImageError> {
        let mut out = Vec::new();
        self.blob(digest)?
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| self.err(format!("blobs/{digest}: {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:library/busybox:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="basic-realm""#);
        assert_eq!((s.as_str(), p["realm"].as_str()), ("basic", "basic-realm"));
    }

    #[test]
    fn loopback_registries() {
        for r in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
        ] {
            assert!(is_loopback(r), "{r}");
        }
        for r in ["quay.io", "10.0.0.1:5000", "registry-1.docker.io"] {
            assert!(!is_loopback(r), "{r}");
        }
    }

    #[test]
    fn encodes() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(
            urlencode("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
    }
}
