//! Comparing two probe reports: ids, inodes, device numbers and peer group numbers become
//! stable labels, then a line diff, then each differing line is checked against the table of
//! accepted differences in docs/runc-differences.md.

use std::collections::HashMap;
use std::path::Path;

/// The probe's lines with what differs between runs but not between runtimes replaced:
/// mountinfo's mount ids (by the mount point), device numbers (dropped: the source names the
/// device), peer group numbers (host groups by the host mount point that has them, the
/// container's own by order of appearance), and the bundle's directory (`BUNDLE`).
/// The exec'd probe's lines (prefixed `exec `) are normalised on their own.
pub fn normalise(
    lines: &[String],
    bundle: &Path,
    host_groups: &HashMap<String, String>,
) -> Vec<String> {
    let (exec, init): (Vec<String>, Vec<String>) =
        lines.iter().cloned().partition(|l| l.starts_with("exec "));
    let exec: Vec<String> = exec
        .iter()
        .map(|l| l["exec ".len()..].to_string())
        .collect();
    let mut out = normalise_one(&init, bundle, host_groups);
    out.extend(
        normalise_one(&exec, bundle, host_groups)
            .into_iter()
            .map(|l| format!("exec {l}")),
    );
    out
}

fn normalise_one(
    lines: &[String],
    bundle: &Path,
    host_groups: &HashMap<String, String>,
) -> Vec<String> {
    let bundle = bundle.to_str().unwrap();
    let mut points = HashMap::new();
    for l in lines {
        if let Some(rest) = l.strip_prefix("mountinfo: ") {
            let f: Vec<&str> = rest.split(' ').collect();
            if f.len() > 4 {
                points.insert(f[0].to_string(), f[4].to_string());
            }
        }
    }
    // Mount records sorted (the order of mounting is not compared; the tree, options and
    // propagation are), then peer groups labelled in that order.
    let mut mounts = Vec::new();
    let mut out = Vec::new();
    for l in lines {
        let l = l.replace(bundle, "BUNDLE");
        let Some(rest) = l.strip_prefix("mountinfo: ") else {
            out.push(l);
            continue;
        };
        let f: Vec<String> = rest.split(' ').map(String::from).collect();
        let Some(dash) = f.iter().position(|x| x == "-") else {
            out.push(l.clone());
            continue;
        };
        let parent = points.get(&f[1]).map_or("outside", String::as_str);
        let fields = |i: usize| f.get(i).map_or("", String::as_str).to_string();
        let key = format!(
            "{} parent={} root={} {} {} {} {}",
            f[4],
            parent,
            f[3],
            f[5],
            fields(dash + 1),
            fields(dash + 2),
            fields(dash + 3)
        );
        mounts.push((key, f[6..dash].to_vec()));
    }
    mounts.sort();
    let mut groups: HashMap<String, String> = HashMap::new();
    for (key, tags) in mounts {
        let tags: Vec<String> = tags
            .iter()
            .map(|tag| {
                let (kind, n) = tag.split_once(':').unwrap_or((tag, ""));
                let label = match host_groups.get(n) {
                    Some(host) => format!("host{}", host.replace(bundle, "BUNDLE")),
                    None => {
                        let next = format!("g{}", groups.len() + 1);
                        groups.entry(n.to_string()).or_insert(next).clone()
                    }
                };
                format!("{kind}:{label}")
            })
            .collect();
        out.push(format!("mountinfo: {key} [{}]", tags.join(" ")));
    }
    out
}

/// Peer group number -> the host mount point of the first host mount in that group.
pub fn host_groups() -> HashMap<String, String> {
    let mut m = HashMap::new();
    for l in std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
    {
        let f: Vec<&str> = l.split(' ').collect();
        let Some(dash) = f.iter().position(|x| *x == "-") else {
            continue;
        };
        for tag in &f[6..dash] {
            if let Some((_, n)) = tag.split_once(':') {
                m.entry(n.to_string()).or_insert_with(|| f[4].to_string());
            }
        }
    }
    m
}

/// One side of a difference: the line only runc's container saw (`-`) or only hullrt's (`+`).
pub struct Diff {
    pub runc: bool,
    pub line: String,
}

/// The lines of `a` (runc) and `b` (hullrt) outside their longest common subsequence.
pub fn diff(a: &[String], b: &[String]) -> Vec<Diff> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j == m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Diff {
                runc: true,
                line: a[i].clone(),
            });
            i += 1;
        } else {
            out.push(Diff {
                runc: false,
                line: b[j].clone(),
            });
            j += 1;
        }
    }
    out
}

/// A row of the accepted-differences table: configs (names, or prefixes ending in `*`), the
/// start of the probe line, and the reason.
pub struct Accepted {
    pub configs: Vec<String>,
    pub line: String,
}

impl Accepted {
    pub fn covers(&self, config: &str, line: &str) -> bool {
        line.starts_with(&self.line)
            && self.configs.iter().any(|c| match c.strip_suffix('*') {
                Some(prefix) => config.starts_with(prefix),
                None => c == config,
            })
    }
}

/// The rows of the table under "## Accepted differences" in docs/runc-differences.md:
/// `| configs | line | README row |`, configs and line in backquotes. Each must name a row of
/// the README's table of differences (the one home of the reasons).
pub fn accepted() -> Vec<Accepted> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read =
        |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let doc = read("docs/runc-differences.md");
    let section = doc
        .split("## Accepted differences")
        .nth(1)
        .expect("docs/runc-differences.md has an \"## Accepted differences\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let readme = read("README.md");
    let reasons: Vec<String> = readme
        .split("### Where hullrt differs from runc")
        .nth(1)
        .expect("the README has a \"### Where hullrt differs from runc\" section")
        .lines()
        .filter(|l| l.starts_with("| "))
        .filter_map(|l| l.trim_matches('|').split('|').next())
        .map(|c| c.trim().to_string())
        .collect();
    let unquote = |s: &str| s.trim().trim_matches('`').to_string();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
            assert!(
                cells.len() >= 3,
                "a row needs configs, a line and a README row: {l}"
            );
            let row = cells[2].trim();
            assert!(
                reasons.iter().any(|r| r == row),
                "docs/runc-differences.md names README row {row:?}, which the README's table \
                 of differences does not have"
            );
            Accepted {
                configs: cells[0].split(',').map(unquote).collect(),
                line: unquote(cells[1]),
            }
        })
        .collect()
}
