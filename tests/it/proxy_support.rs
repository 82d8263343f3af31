//! Real proxy servers for the proxy tests: `microsocks` (SOCKS5, optionally with a
//! username and password) and `tinyproxy` (HTTP CONNECT and forward proxying, optionally
//! with basic auth), from Debian packages. Each binds 127.0.0.1 on a port picked free
//! just before, logs to a file of its own temp dir (the proof the traffic went through
//! it), and is killed when dropped. Absent tools skip the test (`require::tool`).
//! Each opens its outgoing connections from `OUTGOING` (127.0.0.2, still loopback), so the
//! sandbox can tell a tunnelled connection from a direct one by its source address.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{eventually, require};

pub struct ProxyProc {
    child: Option<Child>,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
    /// `socks5` or `http`.
    scheme: &'static str,
    auth: Option<(String, String)>,
}

/// The source address of every connection a test proxy opens onward; the gateway itself
/// connects from 127.0.0.1.
pub const OUTGOING: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// A port nothing listens on right now (the kernel's pick, released at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl ProxyProc {
    /// `microsocks` on a free port; with `auth`, only that user may use it.
    pub async fn microsocks(auth: Option<(&str, &str)>) -> Option<ProxyProc> {
        let bin = require::tool("microsocks")?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("microsocks.log");
        let mut cmd = Command::new(bin);
        cmd.args(["-i", "127.0.0.1", "-p", &port.to_string(), "-b", &OUTGOING.to_string()]);
        if let Some((u, p)) = auth {
            cmd.args(["-u", u, "-P", p]);
        }
        Some(Self::start(cmd, dir, port, log, "socks5", auth).await)
    }

    /// `tinyproxy` in the foreground with its own config and log file; with `auth`, basic auth.
    pub async fn tinyproxy(auth: Option<(&str, &str)>) -> Option<ProxyProc> {
        let bin = require::tool("tinyproxy")?;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        // No ConnectPort line: CONNECT to any port (the sandbox's is not 443).
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nBind {OUTGOING}\nTimeout 600\nLogFile \"{}\"\nLogLevel Info\nMaxClients 100\nAllow 127.0.0.1\n",
            log.display()
        );
        if let Some((u, p)) = auth {
            conf.push_str(&format!("BasicAuth {u} {p}\n"));
        }
        let conf_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg("-d").arg("-c").arg(&conf_path);
        Some(Self::start(cmd, dir, port, log, "http", auth).await)
    }

    async fn start(
        mut cmd: Command,
        dir: tempfile::TempDir,
        port: u16,
        log: PathBuf,
        scheme: &'static str,
        auth: Option<(&str, &str)>,
    ) -> ProxyProc {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn the proxy");
        let proc = ProxyProc {
            child: Some(child),
            port,
            log,
            _dir: dir,
            scheme,
            auth: auth.map(|(u, p)| (u.to_string(), p.to_string())),
        };
        eventually(format!("{scheme} proxy on port {port} to accept"), Duration::from_secs(10), async || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })
        .await;
        proc
    }

    /// Its URL for the gateway, credentials included.
    pub fn url(&self) -> String {
        match &self.auth {
            Some((u, p)) => format!("{}://{u}:{p}@127.0.0.1:{}", self.scheme, self.port),
            None => format!("{}://127.0.0.1:{}", self.scheme, self.port),
        }
    }

    /// As the gateway shows it: the password masked.
    pub fn masked(&self) -> String {
        match &self.auth {
            Some((u, _)) => format!("{}://{u}:***@127.0.0.1:{}", self.scheme, self.port),
            None => format!("{}://127.0.0.1:{}", self.scheme, self.port),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Lines of its log that show a tunnel or request to `127.0.0.1:port`.
    pub fn hits_to(&self, port: u16) -> usize {
        let target = format!("127.0.0.1:{port}");
        self.log_text()
            .lines()
            .filter(|l| l.contains(&target) && (l.contains("connected to") || l.contains("Request")))
            .count()
    }

    /// SIGKILL: every tunnel through it breaks at once, as when a proxy host dies.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        self.kill();
    }
}
