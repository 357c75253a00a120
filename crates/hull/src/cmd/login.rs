//! `hull login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `hull logout [SERVER]`:
//! credentials checked against the registry and kept as docker keeps them (config.json under
//! $DOCKER_CONFIG or ~/.docker), where `pull` finds them.

use std::io::{BufRead, IsTerminal, Write};

use hull_engine::image::login;
use hull_engine::Paths;

use super::{CmdError, CmdResult};

#[derive(clap::Args)]
pub struct Args {
    /// Username.
    #[arg(short, long)]
    username: Option<String>,
    /// Password.
    #[arg(short, long)]
    password: Option<String>,
    /// Take the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// The registry (default: Docker Hub).
    server: Option<String>,
}

#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub).
    server: Option<String>,
}

fn prompt(what: &str) -> Result<String, CmdError> {
    if !std::io::stdin().is_terminal() {
        return Err(CmdError::new(format!(
            "Cannot perform an interactive login from a non TTY device ({what} missing)"
        ))
        .daemon());
    }
    eprint!("{what}: ");
    let _ = std::io::stderr().flush();
    let mut l = String::new();
    std::io::stdin().lock().read_line(&mut l)?;
    Ok(l.trim_end_matches(['\r', '\n']).to_string())
}

pub fn exec(_paths: &Paths, a: Args) -> CmdResult {
    let key = login::registry_key(a.server.as_deref().unwrap_or(""));
    if a.password.is_some() && a.password_stdin {
        return Err(
            CmdError::new("--password and --password-stdin are mutually exclusive".into()).daemon(),
        );
    }
    let password = match (a.password, a.password_stdin) {
        (Some(p), _) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            Some(p)
        }
        (None, true) => {
            let mut l = String::new();
            std::io::stdin().lock().read_line(&mut l)?;
            Some(l.trim_end_matches(['\r', '\n']).to_string())
        }
        (None, false) => None,
    };
    let user = match a.username {
        Some(u) => u,
        None => prompt("Username")?,
    };
    let password = match password {
        Some(p) => p,
        None => prompt("Password")?,
    };
    if user.is_empty() || password.is_empty() {
        return Err(CmdError::new("Error: Non-null Username Required".into()).daemon());
    }
    login::registry_login(&key, &user, &password)
        .map_err(|e| CmdError::new(e.to_string()).daemon())?;
    login::store_credentials(&key, &user, &password)?;
    eprintln!(
        "WARNING! Your password will be stored unencrypted in {}.",
        login::credentials_path().display()
    );
    println!("Login Succeeded");
    Ok(())
}

pub fn logout(_paths: &Paths, a: LogoutArgs) -> CmdResult {
    let key = login::registry_key(a.server.as_deref().unwrap_or(""));
    // docker 20.10 says so whether or not it held credentials for the registry.
    println!("Removing login credentials for {key}");
    login::erase_credentials(&key)?;
    Ok(())
}
