//! Starts the real gateway on 127.0.0.1:0 with a fresh database, for end-to-end tests.

use std::collections::HashMap;
use std::net::SocketAddr;

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use warest::app::AppState;
use warest::config::{Config, Database};
use warest::testing::TestDb;

pub use eventually::eventually;

pub mod eventually;
pub mod fixtures;
pub mod process;
pub mod require;
pub mod wa;

pub const ADMIN_KEY: &str = "test-admin-key-0123456789abcdef";
pub const ADMIN_PASSWORD: &str = "admin-password-123";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub http: Client,
    pub state: AppState,
    pub shutdown: CancellationToken,
    pub task: Option<JoinHandle<anyhow::Result<()>>>,
    pub db: Option<TestDb>,
    pub data_dir: tempfile::TempDir,
    config: Config,
}

/// Every database kind available here: SQLite always, Postgres and MySQL/MariaDB when
/// configured (else one `SKIP` line says the test's run there was left out; CI fails
/// instead). `WAREST_TEST_DB_KINDS` (e.g. `mysql` or `sqlite,postgres`) narrows it while
/// working on one database.
pub fn kinds() -> Vec<Kind> {
    let mut k = vec![Kind::Sqlite];
    if require::postgres_run().is_some() {
        k.push(Kind::Postgres);
    }
    if require::mysql_run().is_some() {
        k.push(Kind::Mysql);
    }
    match std::env::var("WAREST_TEST_DB_KINDS") {
        Ok(only) if !only.trim().is_empty() => {
            let only = only.to_ascii_lowercase();
            k.retain(|kind| only.split(',').any(|o| o.trim() == format!("{kind:?}").to_ascii_lowercase()));
            k
        }
        _ => k,
    }
}

/// [`kinds`] without SQLite: for races that its one writer rules out.
pub fn server_kinds() -> Vec<Kind> {
    kinds().into_iter().filter(|k| *k != Kind::Sqlite).collect()
}

impl TestApp {
    pub async fn spawn(kind: Kind) -> TestApp {
        Self::spawn_with(kind, &[]).await
    }

    /// Starts the gateway with test defaults overridden by `env`.
    pub async fn spawn_with(kind: Kind, env: &[(&str, &str)]) -> TestApp {
        Self::spawn_configured(kind, env, |_| {}).await
    }

    /// Starts the gateway, letting the test adjust the loaded config (e.g. point sessions
    /// at a sandbox, which the env cannot do in a non-sandbox build).
    pub async fn spawn_configured(kind: Kind, env: &[(&str, &str)], tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_full(kind, env, tweak, |_| {}).await
    }

    /// As `spawn_configured`, and lets the test adjust the prepared state before it serves.
    pub async fn spawn_full(
        kind: Kind,
        env: &[(&str, &str)],
        tweak: impl FnOnce(&mut Config),
        tweak_state: impl FnOnce(&mut AppState),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().unwrap();
        let mut vars: HashMap<String, String> = [
            ("WAREST_HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("WAREST_ADMIN_APIKEY", ADMIN_KEY),
            ("WAREST_AUTHADMIN_PASSWORD", ADMIN_PASSWORD),
            ("LOG_LEVEL", "warn"),
            ("WAREST_SESSION_BOOT_JITTER_MS", "0"),
            // Test receivers listen on loopback and most tenants are no admins; the guard
            // itself is tested with this set back (`webhooks_private`).
            ("WAREST_WEBHOOK_ALLOW_PRIVATE", "all"),
            // Tests poll hard as one user; the combined limit has its own test (`api_quotas`).
            ("WAREST_TENANT_RATE_MAX", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        vars.insert("WAREST_DATA_DIR".into(), data_dir.path().display().to_string());
        let db = match kind {
            Kind::Sqlite => None,
            Kind::Postgres => {
                let t = TestDb::postgres().await.expect("WAREST_TEST_POSTGRES_URL");
                let Database::Postgres { url } = &t.database else { unreachable!() };
                vars.insert("WAREST_DB_CLIENT".into(), "postgres".into());
                vars.insert("WAREST_DB_POSTGRES_URL".into(), url.expose().to_string());
                Some(t)
            }
            Kind::Mysql => {
                let t = TestDb::mysql().await.expect("WAREST_TEST_MYSQL_URL");
                let Database::Mysql { url } = &t.database else { unreachable!() };
                vars.insert("WAREST_DB_CLIENT".into(), "mysql".into());
                vars.insert("WAREST_DB_MYSQL_URL".into(), url.expose().to_string());
                Some(t)
            }
        };
        for (k, v) in env {
            vars.insert(k.to_string(), v.to_string());
        }
        let mut config = Config::from_map(&vars).expect("test config");
        tweak(&mut config);
        Self::boot(config, db, data_dir, tweak_state).await
    }

    async fn boot(
        config: Config,
        db: Option<TestDb>,
        data_dir: tempfile::TempDir,
        tweak_state: impl FnOnce(&mut AppState),
    ) -> TestApp {
        let _ = warest::telemetry::init(&config);
        let mut state = warest::app::prepare(config.clone()).await.expect("prepare gateway");
        tweak_state(&mut state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(warest::app::serve(state.clone(), listener, shutdown.clone()));
        let app = TestApp {
            addr,
            http: Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            state,
            shutdown,
            task: Some(task),
            db,
            data_dir,
            config,
        };
        app.wait_ready().await;
        app
    }

    /// Stops the gateway gracefully and starts a new one on the same data and database,
    /// as a process restart would.
    pub async fn restart(mut self) -> TestApp {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server run");
        }
        let db = self.db.take();
        let config = self.config.clone();
        Self::boot(config, db, self.data_dir, |_| {}).await
    }

    /// Polls readiness (bounded): the server answers once migrations and seeding are done.
    async fn wait_ready(&self) {
        eventually("the gateway to become ready", std::time::Duration::from_secs(60), async || {
            match self.http.get(self.url("/api/v1/server/ready")).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(r.status().to_string()),
                Err(e) => Err(e.to_string()),
            }
        })
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn req(&self, method: Method, path: &str, key: Option<&str>) -> RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match key {
            Some(k) => r.header("X-WAREST-API-KEY", k),
            None => r,
        }
    }

    pub async fn get(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        call(self.req(Method::GET, path, key)).await
    }

    pub async fn post(&self, path: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        call(self.req(Method::POST, path, key).json(&body)).await
    }

    pub async fn delete(&self, path: &str, key: Option<&str>) -> (u16, Value) {
        call(self.req(Method::DELETE, path, key)).await
    }

    /// Creates a user through the admin API; returns (registry id, its first API key).
    pub async fn create_user(&self, username: &str) -> (String, String) {
        let (status, body) =
            self.post("/api/v1/admin/users", Some(ADMIN_KEY), serde_json::json!({ "username": username })).await;
        assert_eq!(status, 201, "{body}");
        let r = &body["results"][0];
        (r["user"]["id"].as_str().unwrap().to_string(), r["apiKey"]["key"].as_str().unwrap().to_string())
    }

    /// Stops the server gracefully and drops the test database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server run");
        }
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

pub async fn call(req: RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request");
    split(res).await
}

pub async fn split(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Asserts the WAREST envelope shape and returns its code.
pub fn envelope_code(body: &Value) -> u64 {
    assert!(body["status"].is_boolean(), "no envelope: {body}");
    assert!(body["message"].is_string(), "no envelope: {body}");
    assert!(body.get("results").is_some(), "no envelope: {body}");
    body["code"].as_u64().expect("numeric code")
}
