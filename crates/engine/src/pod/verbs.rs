//! Pod verbs the CLI calls beside `pod::ops` (which holds the pod lifecycle): the `--pod` of
//! `run`/`create`, and the pod list.

use serde_json::Value;

use super::{hooks, ops, store};
use crate::container::create::Request;
use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// `run --pod` / `create --pod`: the request joins the pod `key` (its infra started if
    /// the pod is stopped; refused if degraded).
    pub fn pod_join(&self, key: &str, req: &mut Request) -> Result<()> {
        let p = ops::lookup(self, key)?;
        ops::ensure_infra(self, &p)?;
        hooks::join(&p, &mut req.config).map_err(Error::InvalidArgument)
    }

    /// Every pod, as `pod ps` and `pod inspect` show one (docker-style JSON rows).
    pub fn pod_list(&self) -> Result<Vec<(store::Pod, Value)>> {
        store::init(&self.conn)?;
        let mut rows = Vec::new();
        for p in store::list(&self.conn)? {
            let v = ops::inspect(self, &p)?;
            rows.push((p, v));
        }
        Ok(rows)
    }
}
