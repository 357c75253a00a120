//! The kubelet's side of containerd's CRI streaming server (k8s.io/kubelet/cri/streaming,
//! with k8s.io/apiserver's wsstream): the WebSocket form, subprotocol `v4.channel.k8s.io`.
//! Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the call's
//! outcome (a metav1.Status as JSON, written once at the end), 4 terminal resize.

use std::net::TcpStream;
use std::time::Duration;

use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

pub const PROTOCOL: &str = "v4.channel.k8s.io";
pub const STDIN: u8 = 0;

/// How long the server may stay silent before the stream is called hung.
const HUNG: Duration = Duration::from_secs(60);

pub struct Stream {
    ws: WebSocket<TcpStream>,
    /// The subprotocol the server chose.
    pub protocol: String,
}

/// What the server sent on channels 1 (stdout), 2 (stderr) and 3 (status) until it closed.
#[derive(Debug, Default)]
pub struct Received {
    pub stdout: String,
    pub stderr: String,
    pub status: String,
}

impl Stream {
    /// Connects to `url` (the `url` of an Attach or Exec reply) asking for PROTOCOL.
    pub fn open(url: &str) -> Result<Stream, String> {
        let ws_url = url.replacen("http://", "ws://", 1);
        let mut req = ws_url
            .as_str()
            .into_client_request()
            .map_err(|e| format!("{url}: {e}"))?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", PROTOCOL.parse().unwrap());
        let host = req
            .uri()
            .authority()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let tcp = TcpStream::connect(&host).map_err(|e| format!("connect {host}: {e}"))?;
        tcp.set_read_timeout(Some(HUNG)).unwrap();
        let (ws, resp) = tungstenite::client(req, tcp)
            .map_err(|e| format!("WebSocket upgrade at {url}: {e}"))?;
        let protocol = resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok(Stream { ws, protocol })
    }

    /// Sends `data` on `channel`.
    pub fn send(&mut self, channel: u8, data: &[u8]) -> Result<(), String> {
        let mut m = vec![channel];
        m.extend_from_slice(data);
        self.ws
            .send(Message::Binary(m.into()))
            .map_err(|e| format!("send on channel {channel}: {e}"))
    }

    /// Reads until the server closes the stream.
    pub fn receive_all(mut self) -> Result<Received, String> {
        let mut got = Received::default();
        loop {
            let m = match self.ws.read() {
                Ok(m) => m,
                Err(tungstenite::Error::ConnectionClosed) => return Ok(got),
                Err(e) => return Err(format!("stream read: {e} (so far {got:?})")),
            };
            let Message::Binary(b) = m else { continue };
            let Some((&channel, data)) = b.split_first() else {
                continue;
            };
            let text = String::from_utf8_lossy(data);
            match channel {
                1 => got.stdout.push_str(&text),
                2 => got.stderr.push_str(&text),
                3 => got.status.push_str(&text),
                _ => return Err(format!("message on channel {channel}: {text:?}")),
            }
        }
    }
}
