//! The keys hull understands, as a tree, and the walk that names every other key of a
//! manifest in a warning (`spec.containers[0].livenessProbe: not supported, ignored`), so
//! nothing is dropped silently. Values of the wrong type are left to the typed parse, which
//! reports them as errors with their path.

use serde_norway::Value;

/// The shape of a value hull reads.
pub enum Shape {
    /// A scalar (or anything read whole, such as env's valueFrom).
    Leaf,
    /// A mapping with these known keys.
    Map(&'static [(&'static str, Shape)]),
    /// A list of one shape.
    List(&'static Shape),
    /// A mapping with free keys (labels).
    Free,
}

use Shape::{Free, Leaf, List, Map};

const METADATA: Shape = Map(&[("name", Leaf), ("labels", Free)]);

const RESOURCES: Shape = Map(&[("limits", Map(&[("cpu", Leaf), ("memory", Leaf)]))]);

const CONTAINER: Shape = Map(&[
    ("name", Leaf),
    ("image", Leaf),
    ("command", List(&Leaf)),
    ("args", List(&Leaf)),
    (
        "env",
        List(&Map(&[
            ("name", Leaf),
            ("value", Leaf),
            ("valueFrom", Leaf),
        ])),
    ),
    ("workingDir", Leaf),
    (
        "ports",
        List(&Map(&[
            ("name", Leaf),
            ("containerPort", Leaf),
            ("hostPort", Leaf),
            ("hostIP", Leaf),
            ("protocol", Leaf),
        ])),
    ),
    ("resources", RESOURCES),
    (
        "securityContext",
        Map(&[
            ("runAsUser", Leaf),
            ("runAsGroup", Leaf),
            (
                "capabilities",
                Map(&[("add", List(&Leaf)), ("drop", List(&Leaf))]),
            ),
            ("privileged", Leaf),
            ("readOnlyRootFilesystem", Leaf),
            ("allowPrivilegeEscalation", Leaf),
        ]),
    ),
    (
        "volumeMounts",
        List(&Map(&[
            ("name", Leaf),
            ("mountPath", Leaf),
            ("readOnly", Leaf),
        ])),
    ),
]);

const POD_SPEC: Shape = Map(&[
    ("containers", List(&CONTAINER)),
    ("initContainers", List(&CONTAINER)),
    (
        "volumes",
        List(&Map(&[
            ("name", Leaf),
            ("emptyDir", Map(&[("medium", Leaf), ("sizeLimit", Leaf)])),
            ("hostPath", Map(&[("path", Leaf), ("type", Leaf)])),
        ])),
    ),
    ("shareProcessNamespace", Leaf),
    ("hostNetwork", Leaf),
    ("hostname", Leaf),
    ("restartPolicy", Leaf),
    ("resources", RESOURCES),
]);

pub const POD: Shape = Map(&[
    ("apiVersion", Leaf),
    ("kind", Leaf),
    ("metadata", METADATA),
    ("spec", POD_SPEC),
]);

pub const DEPLOYMENT: Shape = Map(&[
    ("apiVersion", Leaf),
    ("kind", Leaf),
    ("metadata", METADATA),
    (
        "spec",
        Map(&[
            ("replicas", Leaf),
            ("selector", Map(&[("matchLabels", Free)])),
            (
                "template",
                Map(&[("metadata", METADATA), ("spec", POD_SPEC)]),
            ),
        ]),
    ),
]);

/// Appends a warning for every key of `v` that `shape` does not know, with its path.
pub fn unsupported(v: &Value, shape: &Shape, path: &str, out: &mut Vec<String>) {
    match (shape, v) {
        (Map(keys), Value::Mapping(m)) => {
            for (k, child) in m {
                let name = match k {
                    Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                let child_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                match keys.iter().find(|(key, _)| *key == name) {
                    Some((_, s)) => unsupported(child, s, &child_path, out),
                    None => out.push(format!("{child_path}: not supported, ignored")),
                }
            }
        }
        (List(item), Value::Sequence(items)) => {
            for (i, child) in items.iter().enumerate() {
                unsupported(child, item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}
