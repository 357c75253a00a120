//! `hull rename CONTAINER NEW_NAME`.

use hull_engine::{container, container::names, Paths};

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    container: String,
    new_name: String,
}

pub fn exec(paths: &Paths, args: Args) -> CmdResult {
    let new = args.new_name.strip_prefix('/').unwrap_or(&args.new_name);
    if !names::valid_name(new) {
        return Err(CmdError {
            msg: format!(
                "invalid container name {new:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            ),
            code: 125,
        });
    }
    let eng = super::engine(paths)?;
    let c = eng.lookup(&args.container)?;
    if c.name == new {
        return Err(CmdError {
            msg: format!("renaming container {new:?}: the new name is the same as the old one"),
            code: 125,
        });
    }
    container::rename(&eng.conn, &c.id, new)?;
    Ok(())
}
