//! `hull load`: docker-archive (`docker save`, with or without docker 25's OCI blobs) and
//! oci-archive, plain or compressed.
//!
//! The archive is indexed first (headers only, seeking past data), so manifest.json may come
//! anywhere in it; then each layer is read straight from its byte range in the archive with
//! pread, hashed, written to its blob and unpacked in one pass.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::Deserialize;

use crate::digest::{hex_of, sha256_of, verify};
use crate::error::{ImageError, IoContext};
use crate::images::NewImage;
use crate::layers::{Compression, Expect, LayerInfo};
use crate::reference::Reference;
use crate::registry::manifest::{self, Manifest};
use crate::Store;

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

/// The members of a tar archive by normalized name.
pub(crate) struct Index {
    file: File,
    label: String,
    members: HashMap<String, Member>,
}

fn normalize(name: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

/// Reads `size` bytes at `offset` of a file with pread: no shared file position.
pub(crate) struct RangeReader<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

impl Index {
    pub(crate) fn new(file: File, label: &str) -> Result<Index, ImageError> {
        let mut members = HashMap::new();
        let bad = |e: io::Error| ImageError::archive(label, e);
        {
            let mut ar = tar::Archive::new(&file);
            for entry in ar.entries_with_seek().map_err(bad)? {
                let entry = entry.map_err(bad)?;
                let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
                let m = match entry.header().entry_type() {
                    tar::EntryType::Regular | tar::EntryType::Continuous => Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                    tar::EntryType::Symlink | tar::EntryType::Link => {
                        let link = entry.link_name_bytes().unwrap_or_default();
                        let link = String::from_utf8_lossy(&link).into_owned();
                        let target = if entry.header().entry_type() == tar::EntryType::Link {
                            normalize(&link)
                        } else {
                            let dir = Path::new(&name).parent().unwrap_or(Path::new(""));
                            normalize(&format!("{}/{link}", dir.display()))
                        };
                        Member::Link(target)
                    }
                    _ => continue,
                };
                members.insert(name, m);
            }
        }
        Ok(Index {
            file,
            label: label.to_string(),
            members,
        })
    }

    fn find(&self, name: &str) -> Option<(u64, u64)> {
        let mut name = normalize(name);
        for _ in 0..16 {
            match self.members.get(&name)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(t) => name = t.clone(),
            }
        }
        None
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    pub(crate) fn open(&self, name: &str) -> Result<RangeReader<'_>, ImageError> {
        let (offset, size) = self.find(name).ok_or_else(|| {
            ImageError::archive(&self.label, format!("{name}: not in the archive"))
        })?;
        Ok(RangeReader {
            file: &self.file,
            offset,
            left: size,
        })
    }

    pub(crate) fn read(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let mut buf = Vec::new();
        self.open(name)?
            .take(64 << 20)
            .read_to_end(&mut buf)
            .map_err(|e| ImageError::archive(format!("{}: {name}", self.label), e))?;
        Ok(buf)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T, ImageError> {
        serde_json::from_slice(&self.read(name)?).map_err(|e| ImageError::Json {
            file: format!("{}: {name}", self.label),
            source: e,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

fn diff_ids_of(config: &[u8], what: &str) -> Result<Vec<String>, ImageError> {
    #[derive(Deserialize)]
    struct Cfg {
        rootfs: RootFs,
    }
    #[derive(Deserialize)]
    struct RootFs {
        diff_ids: Vec<String>,
    }
    let c: Cfg = serde_json::from_slice(config).map_err(|e| ImageError::Json {
        file: what.to_string(),
        source: e,
    })?;
    for d in &c.rootfs.diff_ids {
        hex_of(d)?;
    }
    Ok(c.rootfs.diff_ids)
}

impl Store {
    /// Loads every image of a docker-archive or oci-archive (plain, gzip or zstd). Returns the
    /// names loaded, in docker's familiar form, or the ids of images that have no name.
    pub fn load(&mut self, archive: &Path) -> Result<Vec<String>, ImageError> {
        let label = archive.display().to_string();
        let mut file = File::open(archive).at(archive)?;
        let mut magic = [0u8; 4];
        let n = file.read_at(&mut magic, 0).at(archive)?;
        if n == 0 {
            return Err(ImageError::archive(&label, "empty file"));
        }
        // A compressed archive is decompressed to a temp file first: layers are read from it
        // by offset.
        let _tmp;
        let compression = Compression::detect(&magic[..n]);
        if compression != Compression::None {
            let mut tmp = crate::blobs::temp_file_in(&self.root.join("tmp"))?;
            {
                let mut dec = compression
                    .decoder(BufReader::with_capacity(1 << 20, &file))
                    .map_err(|e| ImageError::archive(&label, e))?;
                io::copy(&mut dec, tmp.as_file_mut())
                    .map_err(|e| ImageError::archive(&label, e))?;
            }
            file = tmp.reopen().at(tmp.path())?;
            _tmp = tmp;
        }
        let index = Index::new(file, &label)?;
        if index.has("manifest.json") {
            self.load_docker(&index)
        } else if index.has("index.json") {
            self.load_oci(&index, None)
        } else {
            Err(ImageError::archive(
                &label,
                "neither a docker-archive (manifest.json) nor an oci-archive (index.json)",
            ))
        }
    }

    fn load_docker(&mut self, index: &Index) -> Result<Vec<String>, ImageError> {
        let entries: Vec<DockerManifestEntry> = index.json("manifest.json")?;
        if entries.is_empty() {
            return Err(ImageError::archive(
                &index.label,
                "manifest.json lists no image",
            ));
        }
        let mut loaded = Vec::new();
        for e in entries {
            let config = index.read(&e.config)?;
            let what = format!("{}: {}", index.label, e.config);
            let diff_ids = diff_ids_of(&config, &what)?;
            if diff_ids.len() != e.layers.len() {
                return Err(ImageError::archive(
                    &what,
                    format!(
                        "{} diff_ids for {} layers in manifest.json",
                        diff_ids.len(),
                        e.layers.len()
                    ),
                ));
            }
            // Docker names a config by its digest: check it when the name says one.
            if let Some(hex) = Path::new(&e.config)
                .file_name()
                .and_then(|f| f.to_str())
                .map(|f| f.trim_end_matches(".json"))
                .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
            {
                verify(&what, Some(&format!("sha256:{hex}")), &sha256_of(&config))?;
            }
            let names = e
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| Reference::parse(t))
                .collect::<Result<Vec<_>, _>>()?;
            let mut layers = Vec::new();
            for (path, diff_id) in e.layers.iter().zip(&diff_ids) {
                let what = format!("{}: {path}", index.label);
                let info = self.add_layer(
                    &mut index.open(path)?,
                    Expect {
                        what: &what,
                        diff_id: Some(diff_id),
                        ..Default::default()
                    },
                )?;
                layers.push(info);
            }
            let id = self.commit_image(NewImage {
                config: &config,
                manifest: None,
                layers: &layers,
                names: &names,
            })?;
            if names.is_empty() {
                loaded.push(id);
            }
            loaded.extend(
                names
                    .iter()
                    .map(|n| n.clone().with_default_tag().familiar()),
            );
        }
        Ok(loaded)
    }

    /// An OCI layout in `index`; `name` overrides the names its index.json gives.
    pub(crate) fn load_oci(
        &mut self,
        index: &Index,
        name: Option<&Reference>,
    ) -> Result<Vec<String>, ImageError> {
        let top = index.read("index.json")?;
        let top = manifest::parse(&top, &format!("{}: index.json", index.label))?;
        let Manifest::Index(list) = top else {
            return Err(ImageError::archive(
                &index.label,
                "index.json is not an image index",
            ));
        };
        let mut loaded = Vec::new();
        for desc in &list.manifests {
            let names: Vec<Reference> = match name {
                Some(n) => vec![n.clone()],
                None => desc
                    .ref_names()
                    .iter()
                    .filter_map(|n| Reference::parse(n).ok())
                    .collect(),
            };
            let (digest, bytes) = self.oci_manifest(index, &desc.digest, 0)?;
            let id = self.load_oci_image(index, &bytes, &digest, &names)?;
            if names.is_empty() {
                loaded.push(id);
            }
            loaded.extend(
                names
                    .iter()
                    .map(|n| n.clone().with_default_tag().familiar()),
            );
        }
        if loaded.is_empty() {
            return Err(ImageError::archive(
                &index.label,
                "index.json lists no image",
            ));
        }
        Ok(loaded)
    }

    /// The image manifest `digest` points at, through nested indexes (this platform's entry).
    fn oci_manifest(
        &self,
        index: &Index,
        digest: &str,
        depth: u32,
    ) -> Result<(String, Vec<u8>), ImageError> {
        let path = format!("blobs/sha256/{}", hex_of(digest)?);
        let bytes = index.read(&path)?;
        let what = format!("{}: {path}", index.label);
        verify(&what, Some(digest), &sha256_of(&bytes))?;
        match manifest::parse(&bytes, &what)? {
            Manifest::Image(_) => Ok((digest.to_string(), bytes)),
            Manifest::Index(list) if depth < 4 => {
                let d = manifest::pick_platform(&list, &what)?;
                self.oci_manifest(index, &d.digest, depth + 1)
            }
            Manifest::Index(_) => Err(ImageError::archive(&what, "indexes nested too deep")),
        }
    }

    fn load_oci_image(
        &mut self,
        index: &Index,
        manifest_bytes: &[u8],
        manifest_digest: &str,
        names: &[Reference],
    ) -> Result<String, ImageError> {
        let what = format!("{}: manifest {manifest_digest}", index.label);
        let Manifest::Image(m) = manifest::parse(manifest_bytes, &what)? else {
            return Err(ImageError::archive(&what, "not an image manifest"));
        };
        let config_path = format!("blobs/sha256/{}", hex_of(&m.config.digest)?);
        let config = index.read(&config_path)?;
        let cwhat = format!("{}: {config_path}", index.label);
        verify(&cwhat, Some(&m.config.digest), &sha256_of(&config))?;
        let diff_ids = diff_ids_of(&config, &cwhat)?;
        if diff_ids.len() != m.layers.len() {
            return Err(ImageError::archive(
                &what,
                format!(
                    "{} layers but {} diff_ids in the config",
                    m.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers: Vec<LayerInfo> = Vec::new();
        for (desc, diff_id) in m.layers.iter().zip(&diff_ids) {
            let path = format!("blobs/sha256/{}", hex_of(&desc.digest)?);
            let lwhat = format!("{}: {path}", index.label);
            let info = self.add_layer(
                &mut index.open(&path)?,
                Expect {
                    what: &lwhat,
                    blob_digest: Some(&desc.digest),
                    blob_size: Some(desc.size),
                    diff_id: Some(diff_id),
                },
            )?;
            layers.push(info);
        }
        self.commit_image(NewImage {
            config: &config,
            manifest: Some(manifest_bytes),
            layers: &layers,
            names,
        })
    }
}
