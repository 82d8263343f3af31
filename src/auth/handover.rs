//! Handing the admin key generated at first start to the operator, once, somewhere logs
//! are not collected: printed when stdout is a terminal (someone is watching), else
//! written to a file only its owner can read in the data dir, whose path is logged. Under
//! a service manager or a container runtime stdout is a log stream, kept and shipped.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The file the key is written to without a terminal.
pub const KEY_FILE: &str = "admin-api-key.txt";

/// Where the key went.
#[derive(Debug, PartialEq, Eq)]
pub enum Handover {
    Printed,
    File(PathBuf),
}

/// Hands `key` over: to the terminal if stdout is one, else to [`KEY_FILE`].
pub fn hand_over(data_dir: &Path, username: &str, key: &str) -> io::Result<Handover> {
    hand_over_to(data_dir, username, key, io::stdout().is_terminal())
}

fn hand_over_to(data_dir: &Path, username: &str, key: &str, terminal: bool) -> io::Result<Handover> {
    if terminal {
        println!(
            "\n  WAREST generated an admin API key for user {username:?}. It is shown only this once:\n\n    {key}\n\n  \
             Store it now, or set WAREST_ADMIN_APIKEY.\n"
        );
        return Ok(Handover::Printed);
    }
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(KEY_FILE);
    // A leftover from an earlier generation is replaced, never reopened: its mode could be wider.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = open_private(&path)?;
    writeln!(file, "{key}")?;
    file.sync_all()?;
    Ok(Handover::File(path))
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_terminal_the_key_is_written_once_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "old").unwrap();
        let got = hand_over_to(dir.path(), "admin", "wrst_abc", false).unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(got, Handover::File(path.clone()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "wrst_abc\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_eq!(hand_over_to(other.path(), "admin", "wrst_abc", true).unwrap(), Handover::Printed);
        assert!(!other.path().join(KEY_FILE).exists());
    }
}
