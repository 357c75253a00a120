//! The stages of a Dockerfile and the ones a target needs: the target itself, and every
//! stage it names in `FROM`, `COPY --from` or `RUN --mount=from=`, transitively. The others are not built.

use crate::parse::{Dockerfile, Instr, RawInstr};
use crate::BuildError;

/// One `FROM` and the instructions up to the next.
#[derive(Debug)]
pub struct Stage<'a> {
    pub index: usize,
    pub alias: Option<String>,
    pub from: &'a RawInstr,
    pub image: String,
    pub platform: Option<String>,
    pub instrs: Vec<&'a (RawInstr, Instr)>,
}

/// The global `ARG`s (before the first `FROM`) and the stages.
pub fn split(df: &Dockerfile) -> (Vec<&(RawInstr, Instr)>, Vec<Stage<'_>>) {
    let mut globals = Vec::new();
    let mut stages: Vec<Stage<'_>> = Vec::new();
    for pair in &df.instrs {
        match &pair.1 {
            Instr::From {
                image,
                alias,
                platform,
            } => stages.push(Stage {
                index: stages.len(),
                alias: alias.clone(),
                from: &pair.0,
                image: image.clone(),
                platform: platform.clone(),
                instrs: Vec::new(),
            }),
            _ => match stages.last_mut() {
                Some(s) => s.instrs.push(pair),
                None => globals.push(pair),
            },
        }
    }
    (globals, stages)
}

/// The stage `name` (an alias or an index) names, if any stage before `before` has it.
pub fn find(stages: &[Stage<'_>], name: &str, before: usize) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    stages[..before]
        .iter()
        .position(|s| s.alias.as_deref() == Some(lower.as_str()))
        .or_else(|| name.parse::<usize>().ok().filter(|i| *i < before))
}

/// The index of the target stage.
pub fn target(stages: &[Stage<'_>], target: Option<&str>) -> Result<usize, BuildError> {
    match target {
        None => Ok(stages.len() - 1),
        Some(t) => find(stages, t, stages.len())
            .filter(|_| t.parse::<usize>().is_err())
            .ok_or_else(|| {
                BuildError::msg(format!("failed to reach build target {t} in Dockerfile"))
            }),
    }
}

/// Which stages the target needs (`needed[i]`), reading `FROM`, `COPY --from` and
/// `RUN --mount=...,from=` names as
/// written (an expanded `--from=$X` is resolved when the stage runs, then built if needed).
pub fn needed(stages: &[Stage<'_>], target: usize) -> Vec<bool> {
    let mut need = vec![false; stages.len()];
    let mut todo = vec![target];
    while let Some(i) = todo.pop() {
        if need[i] {
            continue;
        }
        need[i] = true;
        let s = &stages[i];
        let mut deps: Vec<&str> = vec![s.image.as_str()];
        for (_, ins) in &s.instrs {
            match ins {
                Instr::Copy(c) => deps.extend(c.from.as_deref()),
                Instr::Run { mounts, .. } => {
                    deps.extend(mounts.iter().filter_map(|m| m.from.as_deref()))
                }
                _ => {}
            }
        }
        for d in deps {
            if let Some(j) = find(stages, d, i) {
                todo.push(j);
            }
        }
    }
    need
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_needed_stages() {
        let df = Dockerfile::parse(
            "Dockerfile",
            "ARG V=1\nFROM busybox AS base\nRUN a\nFROM busybox AS unused\nRUN b\nFROM base AS mid\nFROM scratch\nCOPY --from=mid /x /x\nCOPY --from=0 /y /y\n",
        )
        .unwrap();
        let (globals, stages) = split(&df);
        assert_eq!(globals.len(), 1);
        assert_eq!(stages.len(), 4);
        let t = target(&stages, None).unwrap();
        assert_eq!(needed(&stages, t), vec![true, false, true, true]);
        let t = target(&stages, Some("unused")).unwrap();
        assert_eq!(needed(&stages, t), vec![false, true, false, false]);
        assert!(target(&stages, Some("nope")).is_err());
        assert!(target(&stages, Some("0")).is_err());
    }
}
