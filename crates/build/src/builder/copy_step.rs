//! The `COPY`/`ADD` step: sources from the context (globs, `.dockerignore`), from a stage
//! or an image (`--from`, globs too), heredoc bodies and `ADD`'s URLs, planned into one
//! layer ([`crate::copy`]) whose hash is the step's key.

use super::{Builder, State};
use crate::config;
use crate::context::{self, regex_free};
use crate::copy::{self, Plan};
use crate::ignore::clean;
use crate::lex::expand;
use crate::parse::{CopyArgs, CopySource};
use crate::remote;
use crate::stages::Stage;
use crate::view;
use crate::BuildError;

impl<'a> Builder<'a> {
    pub(super) fn copy(
        &mut self,
        st: &mut State,
        c: &CopyArgs,
        add: bool,
        stages: &[Stage<'_>],
        i: usize,
        images: &[Option<String>],
    ) -> Result<(), BuildError> {
        let kw = if add { "ADD" } else { "COPY" };
        let vars = self.vars(st);
        let x = |w: &str| expand(w, self.escape, &vars).map_err(BuildError::msg);
        let cur = st.cfg["config"]["WorkingDir"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let dest_raw = x(&c.dest)?;
        let mut dest = config::workdir(&cur, &dest_raw);
        if (dest_raw.ends_with('/') || dest_raw == "." || dest_raw.ends_with("/.")) && dest != "/" {
            dest.push('/');
        }
        let view = self.view(&st.layers)?;
        let owner = match &c.chown {
            Some(spec) => view::chown_ids(&view, &x(spec)?)?,
            None => (0, 0),
        };
        let chmod = match &c.chmod {
            Some(m) => Some(
                u32::from_str_radix(&x(m)?, 8)
                    .map_err(|_| BuildError::msg(format!("invalid --chmod {m}: an octal mode")))?,
            ),
            None => None,
        };
        let from_view = match &c.from {
            None => None,
            Some(f) => {
                let id = self.image_of_from(&x(f)?, stages, i, images)?;
                Some(self.view(&self.store.layers_of(Some(&id))?)?)
            }
        };
        let root_of = view.root().to_path_buf();
        let exists = move |p: &str| root_of.join(p).symlink_metadata().is_ok();
        let dest_is_dir = view.resolve(&dest).is_dir();
        let o = copy::Opts {
            dest: &dest,
            dest_is_dir,
            owner,
            chmod,
            add,
            exists: &exists,
        };
        let ctx = self.ctx;
        let ignored = |r: &str| ctx.ignored(r);
        let no_ignore = |_: &str| false;
        let mut plan = Plan::default();
        let mut srcs = Vec::new();
        let mut inline = Vec::new();
        let mut remotes = Vec::new();
        for s in &c.srcs {
            match s {
                CopySource::Heredoc(h) => {
                    let body = if h.expand {
                        x(&h.content)?
                    } else {
                        h.content.clone()
                    };
                    inline.push((h.name.clone(), body));
                }
                CopySource::Path(p) => {
                    let p = x(p)?;
                    if add && remote::is_url(&p) {
                        remotes.push(remote::fetch(&p, c.checksum.as_deref())?);
                        continue;
                    }
                    if add && p.starts_with("git@") {
                        return Err(BuildError::msg(format!(
                            "ADD {p}: git sources are not supported"
                        )));
                    }
                    match &from_view {
                        Some(v) if !regex_free(&p) => {
                            let found = context::glob(v.root(), &clean(&p))?;
                            if found.is_empty() {
                                return Err(BuildError::msg(format!(
                                    "{kw} failed: no source files were specified: {p} matches nothing in --from={}",
                                    c.from.as_deref().unwrap_or("")
                                )));
                            }
                            for r in found {
                                srcs.push(copy::Src {
                                    host: v.resolve(&r),
                                    rel: None,
                                    ignored: &no_ignore,
                                });
                            }
                        }
                        Some(v) => {
                            let host = v.resolve(&p);
                            if host.symlink_metadata().is_err() {
                                return Err(BuildError::msg(format!(
                                    "{kw} failed: stat {p}: file does not exist"
                                )));
                            }
                            srcs.push(copy::Src {
                                host,
                                rel: None,
                                ignored: &no_ignore,
                            });
                        }
                        None => {
                            for found in self
                                .ctx
                                .sources(&p)
                                .map_err(|e| BuildError::msg(e.msg.replacen("COPY", kw, 1)))?
                            {
                                srcs.push(copy::Src {
                                    host: found.host,
                                    rel: Some(found.rel),
                                    ignored: &ignored,
                                });
                            }
                        }
                    }
                }
            }
        }
        let n = srcs.len() + inline.len() + remotes.len();
        if n > 1 && !dest.ends_with('/') {
            return Err(BuildError::msg(format!("When using {kw} with more than one source file, the destination must be a directory and end with a /")));
        }
        plan.add_sources(&srcs, &o)?;
        for (name, body) in &inline {
            plan.add_inline(name, body.as_bytes(), &o);
        }
        for r in &remotes {
            if r.name.is_empty() && (dest.ends_with('/') || dest_is_dir) {
                return Err(BuildError::msg(
                    "cannot determine filename from url: give the destination a file name".into(),
                ));
            }
            plan.add_bytes(&r.name, &r.bytes, 0o600, r.mtime, &o);
        }
        let digest = plan.digest(&self.index)?;
        let created_by = format!(
            "/bin/sh -c #(nop) {kw} {}:{digest} in {dest} ",
            if n > 1 { "multi" } else { "file" }
        );
        let key = format!("{kw} {digest} {dest}");
        self.layer_step(st, &key, created_by, &mut |b, _| b.write_plan(&plan))?;
        drop(from_view);
        Ok(())
    }
}
