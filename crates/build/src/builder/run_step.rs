//! The `RUN` step: its argv with the build args in effect (docker's `|N K=V` prefix in the
//! history and the key), its `--mount`s prepared around the container ([`crate::mount`]),
//! and the container itself ([`crate::run`]).

use serde_json::json;

use super::{Builder, State};
use crate::config::env_pairs;
use crate::mount::{self, RunMount};
use crate::parse::Command;
use crate::stages::Stage;
use crate::{run, BuildError};

impl<'a> Builder<'a> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_instr(
        &mut self,
        st: &mut State,
        cmd: &Command,
        network: Option<&str>,
        mounts: &[RunMount],
        stages: &[Stage<'_>],
        i: usize,
        images: &[Option<String>],
    ) -> Result<(), BuildError> {
        let argv = cmd.argv(&st.shell);
        let net = network.map_or_else(|| self.o.network.clone(), String::from);
        let env = env_pairs(&st.cfg);
        let mut full: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let extra: Vec<String> = st
            .args
            .iter()
            .filter(|(k, _)| !env.iter().any(|(e, _)| e == k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        full.extend(extra.iter().cloned());
        let prefix = if extra.is_empty() {
            String::new()
        } else {
            format!("|{} {} ", extra.len(), extra.join(" "))
        };
        let created_by = format!("{prefix}{}", argv.join(" "));
        // The mounts as written are part of the key (a secret's content is not, as in
        // BuildKit); a bind `from=` a stage is keyed by that stage's image.
        let mut mount_key = Vec::new();
        for m in mounts {
            let from = match &m.from {
                Some(f) => self.image_of_from(f, stages, i, images)?,
                None => String::new(),
            };
            mount_key.push(format!("{}\0{from}", m.spec));
        }
        let step_key = format!(
            "RUN {}\n{net}",
            serde_json::to_string(&json!([prefix, argv, mount_key])).expect("json")
        );
        self.layer_step(st, &step_key, created_by, &mut |b, st| {
            let image = b.materialize(st)?;
            let user = st.cfg["config"]["User"].as_str().unwrap_or("").to_string();
            let workdir = st.cfg["config"]["WorkingDir"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let tmp = b.eng.paths.root.join("tmp");
            let view = b.view(&st.layers)?;
            let from = |f: &str| {
                let id = b.image_of_from(f, stages, i, images)?;
                b.view(&b.store.layers_of(Some(&id))?)
            };
            let prepared = mount::prepare(
                mounts,
                &mount::Sources {
                    root: &b.eng.paths.root,
                    tmp: &tmp,
                    context: b.ctx.root(),
                    secrets: &b.o.secrets,
                    image: view.root(),
                    from: &from,
                },
            )?;
            drop(view);
            run::run(
                b.eng,
                &run::Step {
                    image: &image,
                    argv: argv.clone(),
                    env: full.clone(),
                    user,
                    workdir,
                    network: &net,
                    quiet: b.o.quiet,
                    volumes: st.cfg["config"]["Volumes"]
                        .as_object()
                        .map(|m| m.keys().cloned().collect())
                        .unwrap_or_default(),
                    mounts: prepared.specs.clone(),
                    stubs: prepared.stubs.clone(),
                    cancel: &b.o.cancel,
                },
                &mut b.p,
            )
        })
    }
}
