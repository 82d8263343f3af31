//! `warest sandbox`: the gateway on an embedded simulated WhatsApp network, or
//! (`--network-only`) the network alone.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::{bind, cancel_on_signal, exit_code, report};
use crate::config::Config;

pub(super) async fn network(config: Config, listen: Option<std::net::SocketAddr>) -> ExitCode {
    let _telemetry = crate::telemetry::init(&config);
    let Some(listen) = listen else {
        return report(anyhow::anyhow!("--network-only needs --listen <address:port>"));
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    match crate::sandbox_api::network::run(config, listen, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(e),
    }
}

pub(super) async fn gateway(mut config: Config, listen: Option<std::net::SocketAddr>) -> ExitCode {
    use crate::sandbox_api::{ECHO_PHONE, SandboxHost};
    let telemetry = crate::telemetry::init(&config);
    let opts =
        warest_sandbox::SandboxOptions { listen, data_dir: Some(config.data_dir.join("sandbox")), other_http: None };
    let net = match warest_sandbox::Sandbox::start_with(opts).await {
        Ok(s) => s,
        Err(e) => return report(anyhow::anyhow!("cannot start the sandbox network: {e:#}")),
    };
    config.wa_url = Some(net.ws_url());
    config.wa_version = Some(warest_sandbox::CLIENT_VERSION);
    let host = SandboxHost::new(net);
    let listener = match bind(&config).await {
        Ok(l) => l,
        Err(e) => return report(e),
    };
    let mut state = match crate::app::prepare(config).await {
        Ok(s) => s,
        Err(e) => return report(e),
    };
    let mut wa = state.sessions.deps().wa.clone();
    wa.http = Some(std::sync::Arc::new(host.sandbox.http_client()));
    state.sessions.set_wa_options(wa);
    state.sandbox = Some(host.clone());
    // The echo contact pairs in the background; the API is usable meanwhile. A restart on
    // the same data dir brought it back already.
    if !host.has_contact(ECHO_PHONE) {
        let host = host.clone();
        tokio::spawn(async move {
            match host.create_contact(ECHO_PHONE, warest_sandbox::Behaviour::Echo, Some("Echo".into())).await {
                Ok(c) => tracing::info!(phone = %c.phone, "sandbox echo contact ready"),
                Err(e) => tracing::error!(error = %e, "could not start the echo contact"),
            }
        });
    }
    println!("warest sandbox: simulated WhatsApp network running; echo contact +{ECHO_PHONE}");
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let restart = state.restart.clone();
    let served = crate::app::serve(state, listener, shutdown).await;
    // Sessions are stopped by now; keep the network's last state for the next run.
    if let Err(e) = host.sandbox.persist_now() {
        tracing::error!(error = %format!("{e:#}"), "could not save the sandbox state");
    }
    telemetry.flush().await;
    exit_code(served, &restart)
}
