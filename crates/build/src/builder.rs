//! The builder: runs the stages a target needs, one instruction a step, printing docker's
//! classic progress (`Step 2/5 : RUN ...`, ` ---> Using cache`, ` ---> 0123456789ab`) or
//! BuildKit's ([`crate::progress`]).
//!
//! A stage's state is the image config and layers so far. An image is stored only where
//! one is needed (before a `RUN`, after a step that adds a layer, at the end of a stage);
//! the cache maps each step's chained key to such an image, so a build with nothing changed
//! runs nothing and ends on the very image id of the build before.

use std::io::Write;

use hull_engine::Engine;
use hull_image::layers::LayerInfo;
use serde_json::{json, Value};

use crate::cache::{chain, Cache};
use crate::config::{self, env_pairs, StageVars};
use crate::context::Context;
use crate::copy::{self, Plan};
use crate::index::Index;
use crate::layer::{LayerTar, LayerWriter};
use crate::lex::{expand, Vars};
use crate::parse::{Dockerfile, Instr, RawInstr};
use crate::progress::{full_name, hex_sha256, Progress, Style};
use crate::stages::{self, Stage};
use crate::view::View;
use crate::BuildError;

mod copy_step;
mod run_step;

/// `hull build`'s options (the CLI's flags).
#[derive(Debug, Default)]
pub struct Options {
    pub tags: Vec<String>,
    pub build_args: Vec<(String, String)>,
    pub target: Option<String>,
    pub no_cache: bool,
    /// `none`, `host`, `default` (or empty: default).
    pub network: String,
    pub labels: Vec<(String, String)>,
    pub platform: Option<String>,
    /// `-q`: `RUN` output is not shown either.
    pub quiet: bool,
    /// `--pull`: base images are pulled even when the store has them.
    pub pull: bool,
    /// `--secret id=ID,src=FILE`: for `RUN --mount=type=secret`.
    pub secrets: Vec<(String, Vec<u8>)>,
    /// What the progress looks like: docker's classic builder's or BuildKit's.
    pub progress: Style,
    /// Set by the caller to stop the build (the API service, when its client hangs up).
    pub cancel: crate::cancel::Cancel,
}

/// One stage's state so far.
struct State {
    cfg: Value,
    layers: Vec<LayerInfo>,
    /// The stored image matching `cfg` and `layers`, when one is.
    image: Option<String>,
    key: String,
    /// Declared build args with their values, in order.
    args: Vec<(String, String)>,
    shell: Vec<String>,
    cmd_set: bool,
}

/// Writes a step's layer (a tar in a temp file, hashed), or none when nothing changed.
type MakeLayer<'m, 'b> =
    dyn FnMut(&mut Builder<'b>, &mut State) -> Result<Option<LayerTar>, BuildError> + 'm;

struct Builder<'a> {
    eng: &'a Engine,
    store: hull_image::Store,
    cache: Cache,
    o: &'a Options,
    ctx: &'a Context,
    escape: char,
    /// The Dockerfile's name, for errors.
    file: &'a str,
    p: Progress<'a>,
    /// BuildKit's step names: the stage's prefix (`build `, or none in a one-stage
    /// Dockerfile), the step's number in it and the stage's count of steps.
    vprefix: String,
    vk: usize,
    vn: usize,
    /// The base images a `FROM` step was shown for.
    froms: Vec<String>,
    used_args: Vec<String>,
    /// The context files' digests (see [`crate::index`]).
    index: Index,
}

/// docker's default PATH on Linux (system.DefaultPathEnv).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn short(id: &str) -> &str {
    let h = id.strip_prefix("sha256:").unwrap_or(id);
    &h[..h.len().min(12)]
}

fn platform_ok(p: &str) -> Result<(), BuildError> {
    match p {
        "linux/amd64" | "linux/x86_64" | "amd64" => Ok(()),
        other => Err(BuildError::msg(format!(
            "--platform {other}: hull builds linux/amd64 only"
        ))),
    }
}

/// The platform args BuildKit predefines (an `ARG TARGETARCH` without a value gets it).
fn platform_arg(k: &str) -> Option<String> {
    let v = match k {
        "TARGETPLATFORM" | "BUILDPLATFORM" => "linux/amd64",
        "TARGETOS" | "BUILDOS" => "linux",
        "TARGETARCH" | "BUILDARCH" => "amd64",
        "TARGETVARIANT" | "BUILDVARIANT" => "",
        _ => return None,
    };
    Some(v.to_string())
}

/// Builds `df` with `ctx`; returns the image id (`sha256:...`).
pub fn build(
    eng: &Engine,
    df: &Dockerfile,
    ctx: &Context,
    o: &Options,
    out: &mut dyn Write,
) -> Result<String, BuildError> {
    if let Some(p) = &o.platform {
        platform_ok(p)?;
    }
    let (globals, stages) = stages::split(df);
    let target = stages::target(&stages, o.target.as_deref())?;
    let need = stages::needed(&stages, target);
    let total = stages
        .iter()
        .zip(&need)
        .filter(|(_, n)| **n)
        .map(|(s, _)| 1 + s.instrs.len())
        .sum::<usize>()
        + usize::from(!o.labels.is_empty());
    let mut b = Builder {
        eng,
        store: hull_image::Store::open(&eng.paths.root)?,
        cache: Cache::open(&eng.paths.root),
        o,
        ctx,
        escape: df.escape,
        file: &df.file,
        p: Progress::new(o.progress, out, total),
        vprefix: String::new(),
        vk: 0,
        vn: 0,
        froms: Vec::new(),
        used_args: Vec::new(),
        index: match ctx.root() {
            Some(r) if !ctx.is_temp() => Index::open(&eng.paths.root, r),
            _ => Index::none(),
        },
    };
    let mut global_args: Vec<(String, String)> = Vec::new();
    for (_, ins) in &globals {
        if let Instr::Arg(list) = ins {
            for (k, default) in list {
                let v = b.arg_value(k, default.as_deref(), &global_args, &[])?;
                if let Some(v) = v {
                    global_args.retain(|(x, _)| x != k);
                    global_args.push((k.clone(), v));
                }
            }
        }
    }
    b.internal_steps(df, &stages, &need, &global_args);
    let mut images: Vec<Option<String>> = vec![None; stages.len()];
    let mut built = Ok(());
    for (i, s) in stages.iter().enumerate() {
        if !need[i] {
            continue;
        }
        match b.stage(&stages, i, s, &images, &global_args, i == target) {
            Ok(id) => images[i] = Some(id),
            Err(e) => {
                built = Err(e);
                break;
            }
        }
    }
    // What was hashed stays known, whether the build went through or not.
    b.index.save();
    if let Err(e) = &built {
        b.p.abort(&e.msg);
    }
    built?;
    let id = images[target].clone().expect("target built");
    let unused: Vec<&str> = o
        .build_args
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !b.used_args.iter().any(|u| u == k))
        .collect();
    if !unused.is_empty() {
        b.p.note(&format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ));
    }
    // The result is an image of its own: listed (`<none>` when untagged) and pruned as
    // one, even when an earlier build had it as an intermediate.
    b.store.mark_build_intermediate(&id, false)?;
    // The other stages it was made from: `builder prune` keeps their cache while it stays.
    let stage_ids: Vec<String> = images.iter().flatten().cloned().collect();
    crate::prune::record_uses(&eng.paths.root, &id, &stage_ids)
        .map_err(|e| BuildError::msg(format!("build cache: {e}")))?;
    for t in &o.tags {
        b.store.tag(&id, t)?;
    }
    b.p.finish(&id, &o.tags);
    Ok(id)
}

impl<'a> Builder<'a> {
    /// BuildKit's `[internal]` steps before the stages' own: the Dockerfile, the
    /// `.dockerignore`, each base image's metadata and the context, when a `COPY` uses it.
    fn internal_steps(
        &mut self,
        df: &Dockerfile,
        stages: &[Stage<'_>],
        need: &[bool],
        globals: &[(String, String)],
    ) {
        if self.p.style() == Style::Classic {
            return;
        }
        let name = std::path::Path::new(&df.file)
            .file_name()
            .map_or_else(|| df.file.clone(), |n| n.to_string_lossy().into_owned());
        let begin = |p: &mut Progress<'_>, name: String, details: &[String]| {
            let key = hex_sha256(&name);
            p.begin(name, &key, details);
            p.done(None);
        };
        let size = std::fs::metadata(&df.file).map(|m| m.len()).ok();
        begin(
            &mut self.p,
            format!("[internal] load build definition from {name}"),
            &size
                .map(|n| format!("transferring dockerfile: {n}B done"))
                .into_iter()
                .collect::<Vec<_>>(),
        );
        begin(&mut self.p, "[internal] load .dockerignore".into(), &[]);
        let mut seen = Vec::new();
        for (i, s) in stages.iter().enumerate() {
            if !need[i] {
                continue;
            }
            let Ok(image) = expand(&s.image, self.escape, &globals.to_vec()) else {
                continue;
            };
            if image.eq_ignore_ascii_case("scratch")
                || stages::find(stages, &image, i).is_some()
                || seen.contains(&image)
            {
                continue;
            }
            let mut full = full_name(&image);
            if !full.rsplit('/').next().unwrap_or("").contains([':', '@']) {
                full.push_str(":latest");
            }
            begin(
                &mut self.p,
                format!("[internal] load metadata for {full}"),
                &[],
            );
            seen.push(image);
        }
        let uses_context = stages.iter().zip(need).any(|(s, n)| {
            *n && s
                .instrs
                .iter()
                .any(|(_, ins)| matches!(ins, Instr::Copy(c) | Instr::Add(c) if c.from.is_none()))
        });
        if uses_context && self.ctx.root().is_some() {
            begin(&mut self.p, "[internal] load build context".into(), &[]);
        }
    }

    /// An instruction's `Step` line or BuildKit step (`after`: the key of the state it
    /// starts from).
    fn step_line(&mut self, raw: &str, ins: Option<&Instr>, after: &str) {
        let counted = matches!(
            ins,
            Some(Instr::Run { .. } | Instr::Copy(_) | Instr::Add(_) | Instr::Workdir(_))
        );
        let vertex = counted.then(|| {
            self.vk += 1;
            (
                format!("[{}{}/{}] {raw}", self.vprefix, self.vk, self.vn),
                hex_sha256(&format!("{after}\n{raw}")),
            )
        });
        self.p.step(raw, vertex);
    }

    fn build_arg(&mut self, k: &str) -> Option<String> {
        let v = self.o.build_args.iter().rev().find(|(x, _)| x == k)?;
        if !self.used_args.iter().any(|u| u == k) {
            self.used_args.push(k.to_string());
        }
        Some(v.1.clone())
    }

    /// An `ARG`'s value: `--build-arg`, else its default (expanded), else the global one.
    fn arg_value(
        &mut self,
        k: &str,
        default: Option<&str>,
        scope: &[(String, String)],
        globals: &[(String, String)],
    ) -> Result<Option<String>, BuildError> {
        if let Some(v) = self.build_arg(k) {
            return Ok(Some(v));
        }
        match default {
            Some(d) => Ok(Some(
                expand(d, self.escape, &scope.to_vec()).map_err(BuildError::msg)?,
            )),
            None => Ok(Vars::get(globals, k).or_else(|| platform_arg(k))),
        }
    }

    fn stage(
        &mut self,
        stages: &[Stage<'_>],
        i: usize,
        s: &Stage<'_>,
        images: &[Option<String>],
        globals: &[(String, String)],
        is_target: bool,
    ) -> Result<String, BuildError> {
        let counted = |ins: &Instr| {
            matches!(
                ins,
                Instr::Run { .. } | Instr::Copy(_) | Instr::Add(_) | Instr::Workdir(_)
            )
        };
        self.vn = 1 + s.instrs.iter().filter(|(_, ins)| counted(ins)).count();
        self.vk = 1;
        // BuildKit names steps by stage in a Dockerfile of more than one stage; a cache
        // mount counts as one more (its frontend gives it an empty stage of its own).
        let cache_mount = stages.iter().flat_map(|s| &s.instrs).any(|(_, ins)| {
            matches!(ins, Instr::Run { mounts, .. }
                if mounts.iter().any(|m| m.kind == crate::mount::MountType::Cache))
        });
        self.vprefix = if stages.len() > 1 || cache_mount {
            format!(
                "{} ",
                s.alias.clone().unwrap_or_else(|| format!("stage-{i}"))
            )
        } else {
            String::new()
        };
        let file = self.file;
        let at = |e: String| BuildError::msg(format!("{file}:{}: FROM: {e}", s.from.line));
        if let Some(p) = &s.platform {
            platform_ok(&expand(p, self.escape, &globals.to_vec()).map_err(at)?)?;
        }
        let name = expand(&s.image, self.escape, &globals.to_vec()).map_err(at)?;
        // One FROM step per image, as BuildKit merges the same base of two stages.
        let external = !name.eq_ignore_ascii_case("scratch")
            && stages::find(stages, &name, i).is_none()
            && !self.froms.contains(&name);
        if external {
            self.froms.push(name.clone());
        }
        let vertex = external.then(|| {
            (
                format!("[{}1/{}] FROM {}", self.vprefix, self.vn, full_name(&name)),
                hex_sha256(&format!("FROM {name}")),
            )
        });
        self.p.step(&s.from.text, vertex);
        let base = if name.eq_ignore_ascii_case("scratch") {
            None
        } else if let Some(j) = stages::find(stages, &name, i) {
            Some(
                images[j]
                    .clone()
                    .ok_or_else(|| at(format!("stage {name} was not built")))?,
            )
        } else {
            if self.o.pull {
                self.pull(&name).map_err(|e| at(e.msg))?;
            }
            let img = hull_engine::image::resolve(&self.eng.paths, &name).map_err(|e| {
                at(format!("{e} (hull build takes base images from hull's store: hull pull or hull load it first)"))
            })?;
            Some(img.id)
        };
        let mut st = match &base {
            None => State {
                cfg: json!({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}, "history": []}),
                layers: Vec::new(),
                image: None,
                key: chain("", "scratch"),
                args: Vec::new(),
                shell: vec!["/bin/sh".into(), "-c".into()],
                cmd_set: false,
            },
            Some(id) => {
                let img = self.store.resolve(id)?;
                let cfg: Value = serde_json::from_slice(&img.config_raw)
                    .map_err(|e| at(format!("image {name}: config: {e}")))?;
                let shell = cfg["config"]["Shell"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                State {
                    cfg,
                    layers: self.store.layers_of(Some(id))?,
                    image: Some(img.id.clone()),
                    key: chain("", &img.id),
                    args: Vec::new(),
                    shell,
                    cmd_set: false,
                }
            }
        };
        // docker's beginStage: a stage without PATH gets the default one.
        let mut env = env_pairs(&st.cfg);
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), DEFAULT_PATH.into()));
            st.cfg["config"]["Env"] = json!(env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>());
            st.image = None;
        }
        self.p.base(base.as_deref().map(short).unwrap_or("scratch"));
        self.onbuild(&mut st, stages, i, images)?;
        for (raw, ins) in &s.instrs {
            self.o.cancel.check()?;
            let after = st.key.clone();
            self.step_line(&raw.text, Some(ins), &after);
            self.instr(&mut st, raw, ins, stages, i, images, globals)
                .map_err(|e| {
                    if e.msg.starts_with(self.file)
                        || e.msg.starts_with("The command")
                        || e.msg.starts_with("executor failed")
                    {
                        e
                    } else {
                        BuildError::msg(format!(
                            "{}:{}: {}: {}",
                            self.file,
                            raw.line,
                            raw.keyword.to_ascii_uppercase(),
                            e.msg
                        ))
                    }
                })?;
        }
        if is_target && !self.o.labels.is_empty() {
            let text = self
                .o
                .labels
                .iter()
                .map(|(k, v)| format!("{k:?}='{v}'"))
                .collect::<Vec<_>>()
                .join(" ");
            self.step_line(&format!("LABEL {text}"), None, "");
            for (k, v) in &self.o.labels {
                let c = &mut st.cfg["config"];
                if !c["Labels"].is_object() {
                    c["Labels"] = json!({});
                }
                c["Labels"][k] = json!(v);
            }
            self.meta(&mut st, &format!("LABEL {text}"));
        }
        self.materialize(&mut st)
    }

    /// The base image's `ONBUILD` triggers run first, then are dropped from the config.
    fn onbuild(
        &mut self,
        st: &mut State,
        stages: &[Stage<'_>],
        i: usize,
        images: &[Option<String>],
    ) -> Result<(), BuildError> {
        let triggers: Vec<String> = st.cfg["config"]["OnBuild"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        st.cfg["config"]["OnBuild"] = Value::Null;
        self.p.note(&format!(
            "# Executing {} build trigger{}",
            triggers.len(),
            if triggers.len() == 1 { "" } else { "s" }
        ));
        let src = format!("FROM scratch\n{}\n", triggers.join("\n"));
        let df = Dockerfile::parse("ONBUILD", &src)?;
        for (raw, ins) in &df.instrs[1..] {
            self.instr(st, raw, ins, stages, i, images, &[])?;
        }
        Ok(())
    }

    fn vars<'b>(&self, st: &'b State) -> StageVars<'b> {
        StageVars {
            env: env_pairs(&st.cfg),
            args: &st.args,
        }
    }

    fn history(&self, st: &mut State, created_by: String, empty: bool) {
        let mut h =
            json!({"created": hull_engine::time::nanotime::now_nanos(), "created_by": created_by});
        if empty {
            h["empty_layer"] = json!(true);
        }
        if !st.cfg["history"].is_array() {
            st.cfg["history"] = json!([]);
        }
        st.cfg["history"].as_array_mut().expect("array").push(h);
    }

    /// A step that changes only the config: a history entry, and the key chained over the
    /// config it leaves (so a changed build arg in `ENV A=$V` is a different key).
    fn meta(&mut self, st: &mut State, text: &str) {
        self.history(st, format!("/bin/sh -c #(nop)  {text}"), true);
        let what = format!("{}\n{}", st.cfg["config"], st.cfg["author"]);
        st.key = chain(&st.key, &what);
        st.image = None;
    }

    fn adopt(&mut self, st: &mut State, id: &str) -> Result<bool, BuildError> {
        let Ok(img) = self.store.resolve(id) else {
            return Ok(false);
        };
        st.cfg = serde_json::from_slice(&img.config_raw)
            .map_err(|e| BuildError::msg(format!("cached image {id}: config: {e}")))?;
        st.layers = self.store.layers_of(Some(&img.id))?;
        st.image = Some(img.id);
        Ok(true)
    }

    fn cached(&mut self, st: &mut State, key: &str) -> Result<bool, BuildError> {
        if self.o.no_cache {
            return Ok(false);
        }
        match self.cache.get(key) {
            Some(id) => self.adopt(st, &id),
            None => Ok(false),
        }
    }

    /// The stored image of the state so far (from the cache, or committed now).
    fn materialize(&mut self, st: &mut State) -> Result<String, BuildError> {
        if let Some(id) = &st.image {
            return Ok(id.clone());
        }
        let key = st.key.clone();
        if self.cached(st, &key)? {
            return Ok(st.image.clone().expect("adopted"));
        }
        st.cfg["rootfs"] = json!({"type": "layers", "diff_ids": st.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()});
        st.cfg["created"] = json!(hull_engine::time::nanotime::now_nanos());
        let bytes = serde_json::to_vec(&st.cfg).expect("json");
        let id = self.store.commit_built(&bytes, &st.layers, &[])?;
        // Cache until it is the build's result (see `build`'s end).
        self.store.mark_build_intermediate(&id, true)?;
        let _ = self.cache.put(&key, &id);
        st.image = Some(id.clone());
        Ok(id)
    }

    /// A step that may add a layer: a cache hit adopts the image; otherwise `make` writes
    /// the layer (or none), which is stored with its history entry as a new image.
    fn layer_step(
        &mut self,
        st: &mut State,
        step_key: &str,
        created_by: String,
        make: &mut MakeLayer<'_, 'a>,
    ) -> Result<(), BuildError> {
        let key = chain(&st.key, step_key);
        if self.cached(st, &key)? {
            st.key = key;
            let id = st.image.clone().expect("adopted");
            self.p.cached(short(&id));
            return Ok(());
        }
        let layer = make(self, st)?;
        match layer {
            Some(mut t) => {
                // A layer the store has (same diff_id) is not read or unpacked again.
                let expect = hull_image::layers::Expect {
                    what: "build step",
                    diff_id: Some(&t.diff_id),
                    ..Default::default()
                };
                let l = self.store.add_layer(&mut t.file, expect)?;
                st.layers.push(l);
                self.history(st, created_by, false);
            }
            None => self.history(st, created_by, true),
        }
        st.image = None;
        st.key = key;
        let id = self.materialize(st)?;
        self.p.done(Some(short(&id)));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn instr(
        &mut self,
        st: &mut State,
        raw: &RawInstr,
        ins: &Instr,
        stages: &[Stage<'_>],
        i: usize,
        images: &[Option<String>],
        globals: &[(String, String)],
    ) -> Result<(), BuildError> {
        match ins {
            Instr::Arg(list) => {
                for (k, default) in list {
                    let scope: Vec<(String, String)> = {
                        let v = self.vars(st);
                        let mut all = st.args.clone();
                        all.extend(v.env);
                        all
                    };
                    if let Some(v) = self.arg_value(k, default.as_deref(), &scope, globals)? {
                        st.args.retain(|(x, _)| x != k);
                        st.args.push((k.clone(), v));
                    }
                }
                let text = raw.text.clone();
                self.meta(st, &text);
                let args = format!("{:?}", st.args);
                st.key = chain(&st.key, &args);
            }
            Instr::Run {
                cmd,
                network,
                mounts,
            } => self.run_instr(st, cmd, network.as_deref(), mounts, stages, i, images)?,
            Instr::Copy(c) => self.copy(st, c, false, stages, i, images)?,
            Instr::Add(c) => self.copy(st, c, true, stages, i, images)?,
            Instr::Workdir(_) => {
                let vars = self.vars(st);
                let mut shell = st.shell.clone();
                let mut cmd_set = st.cmd_set;
                let mut cfg = st.cfg.clone();
                config::apply(&mut cfg, ins, &vars, self.escape, &mut shell, &mut cmd_set)
                    .map_err(BuildError::msg)?;
                st.cfg = cfg;
                let dir = st.cfg["config"]["WorkingDir"]
                    .as_str()
                    .unwrap_or("/")
                    .to_string();
                let view = self.view(&st.layers)?;
                let exists = view.resolve(&dir).is_dir();
                let text = format!("WORKDIR {dir}");
                if exists {
                    self.meta(st, &text);
                    self.p.done(None);
                } else {
                    // docker's classic builder makes the directory (root, 0755) in a layer.
                    let mut plan = Plan::default();
                    let root_of = view.root().to_path_buf();
                    let ex = move |p: &str| root_of.join(p).symlink_metadata().is_ok();
                    plan.add_dir(
                        &dir,
                        &copy::Opts {
                            dest: &dir,
                            dest_is_dir: true,
                            owner: (0, 0),
                            chmod: None,
                            add: false,
                            exists: &ex,
                        },
                    );
                    let key = format!("{text}\n{}", st.cfg["config"]);
                    self.layer_step(
                        st,
                        &key,
                        format!("/bin/sh -c #(nop)  {text}"),
                        &mut |b, _| b.write_plan(&plan),
                    )?;
                }
            }
            _ => {
                let vars = self.vars(st);
                let mut cmd_set = st.cmd_set;
                let mut shell = st.shell.clone();
                let mut cfg = st.cfg.clone();
                config::apply(&mut cfg, ins, &vars, self.escape, &mut shell, &mut cmd_set)
                    .map_err(BuildError::msg)?;
                st.cfg = cfg;
                st.shell = shell;
                st.cmd_set = cmd_set;
                let text = raw.text.clone();
                self.meta(st, &text);
            }
        }
        Ok(())
    }

    /// `--pull`: the base image from its registry, whether the store has it or not (as
    /// docker's `--pull`); its layers already in the store are not fetched again.
    fn pull(&mut self, name: &str) -> Result<(), BuildError> {
        self.p.note(&format!(" ---> Pulling {name}"));
        let opts = hull_image::PullOptions::default();
        self.store
            .pull(name, &opts, &mut hull_image::NoProgress)
            .map_err(|e| BuildError::msg(format!("pull {name}: {e}")))?;
        Ok(())
    }

    /// The image a `--from=NAME` (COPY, RUN --mount) names: an earlier stage's, or an
    /// image of the store.
    fn image_of_from(
        &self,
        f: &str,
        stages: &[Stage<'_>],
        i: usize,
        images: &[Option<String>],
    ) -> Result<String, BuildError> {
        match stages::find(stages, f, i) {
            Some(j) => images[j]
                .clone()
                .ok_or_else(|| BuildError::msg(format!("--from={f}: stage was not built"))),
            None => Ok(hull_engine::image::resolve(&self.eng.paths, f)
                .map_err(|e| BuildError::msg(format!("--from={f}: {e}")))?
                .id),
        }
    }

    fn view(&self, layers: &[LayerInfo]) -> Result<View, BuildError> {
        let dirs = self.store.layer_dirs(layers)?;
        View::open(&dirs, &self.eng.paths.root.join("tmp"))
    }

    fn write_plan(&self, plan: &Plan) -> Result<Option<LayerTar>, BuildError> {
        let mut w = LayerWriter::new(&self.eng.paths.root.join("tmp"))?;
        plan.write(w.writer())?;
        Ok(Some(w.finish()?))
    }
}
