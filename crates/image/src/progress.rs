//! Progress of a pull: one bar per layer on a terminal, nothing otherwise.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a pull reports as it goes. `id` is a layer's short digest, as docker prints it.
pub trait Progress {
    /// A layer (or the config) starts downloading; `total` bytes when known.
    fn start(&mut self, id: &str, total: Option<u64>);
    /// `bytes` more of it arrived.
    fn advance(&mut self, id: &str, bytes: u64);
    /// It is done: `status` is docker's word (`Pull complete`, `Already exists`).
    fn finish(&mut self, id: &str, status: &str);
    /// A line outside the bars (`Digest: sha256:...`).
    fn message(&mut self, line: &str);
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: &str, _: u64) {}
    fn finish(&mut self, _: &str, _: &str) {}
    fn message(&mut self, _: &str) {}
}

/// One bar per layer on stderr (hidden when stderr is not a terminal: then only the final
/// status lines are printed, as docker does).
pub struct TtyProgress {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
    tty: bool,
}

impl Default for TtyProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl TtyProgress {
    pub fn new() -> TtyProgress {
        use std::io::IsTerminal;
        let tty = std::io::stderr().is_terminal();
        let target = if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        TtyProgress {
            multi: MultiProgress::with_draw_target(target),
            bars: HashMap::new(),
            tty,
        }
    }
}

impl Progress for TtyProgress {
    fn start(&mut self, id: &str, total: Option<u64>) {
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::no_length(),
        };
        let style =
            ProgressStyle::with_template("{prefix}: {msg:12} [{bar:30}] {bytes}/{total_bytes}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let bar = self.multi.add(bar);
        bar.set_style(style);
        bar.set_prefix(id.to_string());
        bar.set_message("Downloading");
        self.bars.insert(id.to_string(), bar);
    }

    fn advance(&mut self, id: &str, bytes: u64) {
        if let Some(b) = self.bars.get(id) {
            b.inc(bytes);
        }
    }

    fn finish(&mut self, id: &str, status: &str) {
        match self.bars.remove(id) {
            Some(b) => {
                b.set_style(
                    ProgressStyle::with_template("{prefix}: {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b.finish_with_message(status.to_string());
                if !self.tty {
                    eprintln!("{id}: {status}");
                }
            }
            None => {
                if self.tty {
                    let _ = self.multi.println(format!("{id}: {status}"));
                } else {
                    eprintln!("{id}: {status}");
                }
            }
        }
    }

    fn message(&mut self, line: &str) {
        if self.tty {
            let _ = self.multi.println(line);
        } else {
            eprintln!("{line}");
        }
    }
}
