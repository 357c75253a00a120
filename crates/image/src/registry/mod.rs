//! `hull pull`: the OCI distribution API v2. Manifests (OCI and docker schema 2) and indexes
//! (OCI index, docker manifest list: this machine's linux platform is picked) are checked
//! against the digest they were asked by; every blob is verified as it streams into the store,
//! and layers already stored are not downloaded again.

pub mod auth;
pub mod client;
pub mod manifest;
mod push;

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use crate::digest::{sha256_of, verify};
use crate::error::ImageError;
use crate::images::NewImage;
use crate::layers::{Expect, LayerInfo};
use crate::progress::Progress;
use crate::reference::Reference;
use crate::{ImageId, Store};

use client::Client;
use manifest::{parse_typed, pick_platform, Manifest};

/// `hull pull`'s options.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `--tls-verify=false`: accept any certificate, and fall back to plain http.
    pub insecure: bool,
    /// `--creds USER:PASS`, for Basic auth and for the token endpoint.
    pub credentials: Option<(String, String)>,
}

/// `hull login`: the credentials in `opts` open the registry (named as `auth::key` gives it).
pub fn login(registry: &str, opts: &PullOptions) -> Result<(), ImageError> {
    let host = if registry == auth::HUB_KEY {
        DEFAULT_REGISTRY_HOST
    } else {
        registry
    };
    let r = Reference::parse(&format!("{host}/hull-login"))?;
    Client::new(&r, opts)?.check_login()
}

const DEFAULT_REGISTRY_HOST: &str = "docker.io";

/// Layers downloaded at once, as docker's default max-concurrent-downloads.
const DOWNLOADS: usize = 3;

/// A layer to download.
struct Job {
    idx: usize,
    digest: String,
    size: u64,
    diff_id: String,
}

/// What a download thread tells the thread that draws the progress.
enum Event {
    Start(usize),
    Advance(usize, u64),
    Done(usize, Result<LayerInfo, ImageError>),
}

/// Counts bytes into progress events.
struct Counting<'a, R> {
    inner: R,
    tx: &'a mpsc::Sender<Event>,
    idx: usize,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let _ = self.tx.send(Event::Advance(self.idx, n as u64));
        Ok(n)
    }
}

fn short(digest: &str) -> &str {
    digest.get(7..19).unwrap_or(digest)
}

impl Store {
    /// Pulls `reference` and stores it under that name (and `name@digest`).
    pub fn pull(
        &mut self,
        reference: &str,
        opts: &PullOptions,
        progress: &mut dyn Progress,
    ) -> Result<ImageId, ImageError> {
        let r = Reference::parse(reference)?.with_default_tag();
        // Without --creds: what `login` stored for the registry, as docker's pull.
        let stored = PullOptions {
            credentials: opts
                .credentials
                .clone()
                .or_else(|| auth::lookup(&r.registry)),
            ..opts.clone()
        };
        let mut c = Client::new(&r, &stored)?;
        let wanted = r.digest.clone().or(r.tag.clone()).expect("tag or digest");
        progress.message(&format!("{wanted}: Pulling from {}", r.familiar_name()));
        let (top, ctype) = c.manifest(&wanted)?;
        let top_digest = sha256_of(&top);
        let what = format!("manifest {}@{wanted}", r.familiar_name());
        verify(&what, r.digest.as_deref(), &top_digest)?;
        let (manifest_bytes, m) = match parse_typed(&top, ctype.as_deref(), &what)? {
            Manifest::Image(m) => (top.clone(), m),
            Manifest::Index(list) => {
                let d = pick_platform(&list, &what)?;
                let (bytes, ctype) = c.manifest(&d.digest)?;
                let what = format!("manifest {}@{}", r.familiar_name(), d.digest);
                verify(&what, Some(&d.digest), &sha256_of(&bytes))?;
                match parse_typed(&bytes, ctype.as_deref(), &what)? {
                    Manifest::Image(m) => (bytes, m),
                    Manifest::Index(_) => {
                        return Err(ImageError::registry(
                            &r.registry,
                            format!("{what}: an index inside an index"),
                        ))
                    }
                }
            }
        };
        let config = c.blob_bytes(&m.config.digest, 16 << 20)?;
        verify(
            &format!("config {}", m.config.digest),
            Some(&m.config.digest),
            &sha256_of(&config),
        )?;
        let diff_ids = config_diff_ids(&config, &m.config.digest)?;
        let layer_descs: Vec<_> = m
            .layers
            .iter()
            .filter(|l| !l.media_type.contains("foreign"))
            .collect();
        if diff_ids.len() != layer_descs.len() {
            return Err(ImageError::registry(
                &r.registry,
                format!(
                    "{what}: {} layers but {} diff_ids in the config",
                    layer_descs.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers: Vec<Option<crate::layers::LayerInfo>> = vec![None; diff_ids.len()];
        let mut jobs = Vec::new();
        for (i, (desc, diff_id)) in layer_descs.iter().zip(&diff_ids).enumerate() {
            match self.find_layer(diff_id)? {
                Some(info) => {
                    progress.finish(short(&desc.digest), "Already exists");
                    layers[i] = Some(info);
                }
                None => jobs.push(Job {
                    idx: i,
                    digest: desc.digest.clone(),
                    size: desc.size,
                    diff_id: diff_id.clone(),
                }),
            }
        }
        for (i, info) in self.fetch_layers(&c, jobs, progress)? {
            layers[i] = Some(info);
        }
        let layers: Vec<_> = layers
            .into_iter()
            .map(|l| l.expect("every layer fetched"))
            .collect();
        let mut names = vec![];
        if r.digest.is_none() {
            names.push(r.clone());
        }
        let mut by_digest = r.clone();
        by_digest.tag = None;
        by_digest.digest = Some(top_digest.clone());
        names.push(by_digest);
        let id = self.commit_image(NewImage {
            config: &config,
            manifest: Some(&manifest_bytes),
            layers: &layers,
            names: &names,
        })?;
        progress.message(&format!("Digest: {top_digest}"));
        progress.message(&format!(
            "Status: Downloaded newer image for {}",
            r.familiar()
        ));
        Ok(id)
    }
}

impl Store {
    /// Downloads and stores `jobs`, a few at a time, each thread with its own connection to
    /// the database; the first failure stops the others after their current layer.
    fn fetch_layers(
        &self,
        client: &Client,
        jobs: Vec<Job>,
        progress: &mut dyn Progress,
    ) -> Result<Vec<(usize, LayerInfo)>, ImageError> {
        let ids: Vec<(usize, String, u64)> = jobs
            .iter()
            .map(|j| (j.idx, short(&j.digest).to_string(), j.size))
            .collect();
        let id_of = |idx: usize| ids.iter().find(|x| x.0 == idx).expect("known job");
        let workers = DOWNLOADS.min(jobs.len());
        let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
        let abort = AtomicBool::new(false);
        let root = self.root.clone();
        let mut done = Vec::new();
        let mut first_err = None;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<Event>();
            for _ in 0..workers {
                let (tx, queue, abort, root) = (tx.clone(), &queue, &abort, &root);
                let mut client = client.clone();
                scope.spawn(move || {
                    let store = match Store::open(root) {
                        Ok(s) => s,
                        Err(e) => {
                            abort.store(true, Ordering::Relaxed);
                            let _ = tx.send(Event::Done(usize::MAX, Err(e)));
                            return;
                        }
                    };
                    while !abort.load(Ordering::Relaxed) {
                        let Some(job) = queue.lock().expect("queue").pop_front() else {
                            break;
                        };
                        let _ = tx.send(Event::Start(job.idx));
                        let what = format!("layer {}", job.digest);
                        let result = client.blob(&job.digest).and_then(|body| {
                            let mut body = Counting {
                                inner: body,
                                tx: &tx,
                                idx: job.idx,
                            };
                            store.add_layer(
                                &mut body,
                                Expect {
                                    what: &what,
                                    blob_digest: Some(&job.digest),
                                    blob_size: Some(job.size),
                                    diff_id: Some(&job.diff_id),
                                },
                            )
                        });
                        if result.is_err() {
                            abort.store(true, Ordering::Relaxed);
                        }
                        let _ = tx.send(Event::Done(job.idx, result));
                    }
                });
            }
            drop(tx);
            for ev in rx {
                match ev {
                    Event::Start(i) => {
                        let (_, id, size) = id_of(i);
                        progress.start(id, Some(*size));
                    }
                    Event::Advance(i, n) => progress.advance(&id_of(i).1, n),
                    Event::Done(i, Ok(info)) => {
                        progress.finish(&id_of(i).1, "Pull complete");
                        done.push((i, info));
                    }
                    Event::Done(i, Err(e)) => {
                        if i != usize::MAX {
                            progress.finish(&id_of(i).1, "Failed");
                        }
                        first_err.get_or_insert(e);
                    }
                }
            }
        });
        match first_err {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }
}

fn config_diff_ids(config: &[u8], digest: &str) -> Result<Vec<String>, ImageError> {
    let v: serde_json::Value = serde_json::from_slice(config).map_err(|e| ImageError::Json {
        file: format!("config {digest}"),
        source: e,
    })?;
    let ids = v["rootfs"]["diff_ids"]
        .as_array()
        .ok_or_else(|| ImageError::Other(format!("config {digest}: no rootfs.diff_ids")))?;
    ids.iter()
        .map(|d| {
            let d = d.as_str().unwrap_or_default().to_string();
            crate::digest::hex_of(&d)?;
            Ok(d)
        })
        .collect()
}
