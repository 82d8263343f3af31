//! The real `warest` binary as a child process: started on port 0, it reports the address
//! it bound (`warest: listening on <addr>` on stderr, printed by `main.rs`), which is read
//! here instead of guessing a free port (a guessed port can be taken by someone else
//! between the guess and the bind). Killed when dropped (also when an assertion fails);
//! every wait is bounded.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use super::eventually;

/// The line `main.rs` prints once the listener is bound (the gateway, and the sandbox
/// network with `--network-only`).
pub const LISTENING: &str = "warest: listening on ";

/// How long a child may take from spawn to bound listener (before its migrations).
const START: Duration = Duration::from_secs(60);

/// A `warest` child, killed (SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    addr: SocketAddr,
}

/// A `warest <args>` command with an empty environment except PATH (the test adds what
/// it needs) and `PORT=0` on 127.0.0.1.
pub fn warest(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warest"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WAREST_HOST", "127.0.0.1")
        .env("PORT", "0")
        .stdin(Stdio::null());
    cmd
}

impl Proc {
    /// Spawns `cmd` and waits (bounded) for the address it reports. Its output goes to
    /// `log` (appended; for post-mortems) or, without one, stderr to the test's stderr
    /// and stdout nowhere.
    pub async fn start(mut cmd: Command, log: Option<&Path>) -> Proc {
        let sink: Box<dyn Write + Send> = match log {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
                cmd.stdout(Stdio::from(file.try_clone().unwrap()));
                Box::new(file)
            }
            None => {
                cmd.stdout(Stdio::null());
                Box::new(std::io::stderr())
            }
        };
        let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn the warest binary");
        let stderr = child.stderr.take().unwrap();
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        // Drains stderr for the child's whole life (a full pipe would block it), copying
        // every line to the sink and handing over the first address it reports.
        std::thread::spawn(move || {
            let (mut sink, mut tx) = (sink, Some(tx));
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(sink, "{line}");
                if let Some(addr) = line.strip_prefix(LISTENING).and_then(|a| a.trim().parse::<SocketAddr>().ok())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = eventually("warest to report the address it bound", START, async || {
            if let Ok(addr) = rx.try_recv() {
                return Ok(addr);
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("warest exited with {status} before it listened");
            }
            Err("no `listening on` line yet")
        })
        .await;
        Proc { child, addr }
    }

    /// The address the child bound.
    // Used by the sandbox-only tests (the network's address for `WAREST_WA_URL`).
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status (Linux)")
    }

    /// Waits (bounded) for the process to exit on its own.
    pub async fn wait_exit(&mut self, bound: Duration) -> ExitStatus {
        let child = &mut self.child;
        eventually("warest to exit", bound, async || child.try_wait().ok().flatten()).await
    }

    /// SIGTERM, then wait (bounded) for a clean exit.
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    pub async fn terminate(mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.wait_exit(Duration::from_secs(30)).await;
        assert!(status.success(), "warest exited with {status}");
    }

    /// SIGKILL: no shutdown, nothing flushed.
    pub fn kill9(self) {
        drop(self);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory under the system temp dir, unique per test run.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("warest-e2e-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
