//! The OpenAPI document (built from the route annotations), `/openapi.json` and the Swagger
//! UI at `/docs`. Both are gated: a docs cookie or an API key (the `/login` page that sets
//! the cookie is the dashboard's, in `crate::ui`).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::envelope::{ErrorEnvelope, FieldError};
use super::error::ApiError;
use super::wire::Constraints;
use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "WAREST", description = "Self-hosted, multi-session WhatsApp REST gateway. \
        Every response uses the envelope {status, code, message, results}.", license(name = "MIT")),
    components(schemas(ErrorEnvelope, FieldError)),
    modifiers(&Security),
    security(("ApiKeyAuth" = []), ("BearerAuth" = [])),
    tags(
        (name = "Sessions", description = "WhatsApp accounts linked as companion devices: lifecycle, QR and pairing code, config."),
        (name = "Messages", description = "Sending through the durable per-session queue, and the status of sent messages."),
        (name = "Messages - Actions", description = "Operations on a stored message: react, edit, revoke, star, delete for me, mark as read."),
        (name = "Groups", description = "WhatsApp groups of a session: create, settings, invite links, participants, join requests, picture."),
        (name = "Webhooks", description = "Signed event delivery: targets, filters, preflight."),
        (name = "Profiles", description = "The session's own WhatsApp profile, contacts, number lookups and the blocklist."),
        (name = "Misc", description = "Stateless helpers: identifiers, hashes, base64, QR codes, images, WhatsApp number and JID checks."),
        (name = "Server", description = "Runtime and infrastructure controls."),
        (name = "Sandbox", description = "Sandbox builds only (`warest sandbox`): virtual contacts and phones on a simulated WhatsApp network."),
        (name = "Admin", description = "Users (tenants) and their API keys. Admin key required."),
        (name = "Media", description = "Received media the gateway downloaded, by signed link or API key."),
        (name = "Misc", description = "WhatsApp helpers: media decryption, poll vote decryption."),
        (name = "Keys", description = "The caller's own API keys."),
        (name = "Auth", description = "Browser login for the API explorer (the WAREST_DOCS_SESSION cookie)."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ApiKeyAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-WAREST-API-KEY",
                "An API key; admin routes need an admin user's key.",
            ))),
        );
        components.add_security_scheme(
            "BearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The same API key as a bearer token."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "MetricsToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`WAREST_METRICS_TOKEN`, for `GET /metrics` only."))
                    .build(),
            ),
        );
    }
}

crate::error_set!(
    /// Errors any authenticated route can answer.
    pub CommonErrors = []
);

crate::error_set!(
    /// Errors of routes that ask WhatsApp through one of the caller's sessions.
    pub SessionErrors = [SessionNotFound, SessionNotLinked, SessionNotConnected, WaRequestFailed]
);

crate::error_set!(
    /// Errors of routes that read a file from a URL or base64 and convert it.
    pub MediaErrors = [MediaUrlForbidden, MediaFetchFailed, MediaTooLarge, MediaUnsupported, MediaConversionFailed,
        MediaConversionTimeout, MediaConverterMissing]
);

crate::error_set!(
    /// [`SessionErrors`] and [`MediaErrors`]: a file sent to WhatsApp through a session.
    pub SessionMediaErrors = [SessionNotFound, SessionNotLinked, SessionNotConnected, WaRequestFailed,
        MediaUrlForbidden, MediaFetchFailed, MediaTooLarge, MediaUnsupported, MediaConversionFailed]
);

crate::error_set!(
    /// Errors of routes that can store their result as a generated file (`output: url`).
    pub GeneratedErrors = [GeneratedQuota]
);

crate::error_set!(
    /// Errors of admin routes and of routes on one resource: the common ones plus 403 and 404.
    pub AdminErrors = [Forbidden, NotFound]
);

/// The document of every route (and the sandbox's, when `sandbox`). The shared field
/// constraints are applied last, once the routes (and the schemas they register) are in.
pub fn document(sandbox: bool) -> utoipa::openapi::OpenApi {
    let (_, mut doc) = super::api_router(sandbox).split_for_parts();
    Constraints.modify(&mut doc);
    doc
}

/// The rendered document, as committed in `openapi/openapi.json`: without the sandbox's
/// routes, so any build renders (and checks) the same file.
pub fn openapi_json() -> String {
    let doc = document(false);
    let mut text = doc.to_pretty_json().expect("the OpenAPI document serializes");
    text.push('\n');
    text
}

/// `/docs` (Swagger UI, vendored assets) and `/openapi.json`, behind [`docs_gate`].
pub fn docs_router(state: AppState, doc: utoipa::openapi::OpenApi) -> Router<AppState> {
    let ui: Router<AppState> = SwaggerUi::new("/docs").url("/openapi.json", doc).into();
    ui.layer(axum::middleware::from_fn_with_state(state, docs_gate)).layer(axum::middleware::map_response(docs_csp))
}

/// Admits a valid docs cookie or API key. Browsers without one are sent to the login page;
/// other clients get the 401 envelope.
async fn docs_gate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let allowed = match super::routes::users::login::cookie_principal(&state, req.headers()).await {
        Some(_) => true,
        None => match super::auth::presented_key(req.headers()) {
            // Same slow-down as the API (failures only): the explorer is no side door for
            // guessing keys, and a valid key is let in whatever its neighbours guessed.
            Some(key) => match crate::auth::authenticate_key(&state.db, key).await {
                Ok(Some(_)) => true,
                Ok(None) => {
                    let bucket = super::auth::authfail_bucket(&state, &req);
                    return super::auth::refuse(&state, &bucket, ApiError::unauthorized());
                }
                Err(e) => return ApiError::from(e).into_response(),
            },
            None => false,
        },
    };
    if allowed {
        return next.run(req).await;
    }
    let wants_html =
        req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html {
        Redirect::to("/login?next=/docs/").into_response()
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Swagger UI runs its own (vendored) scripts and inline styles; everything still comes
/// from this origin only.
async fn docs_csp(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        ),
    );
    res
}
