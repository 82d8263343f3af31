//! `/api/v1/keys`: the caller's own API keys. Every query is scoped to the caller's
//! registry, so another tenant's key id is simply not found (404), never forbidden.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth;
use crate::http::auth::Tenant;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiPath, OptionalJson};
use crate::store::api_keys::{ApiKey, KeySource};
use crate::store::{Db, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_own, create_own)).routes(routes!(revoke_own))
}

/// Live keys one user may hold; a bound on what a client can make us store.
pub const MAX_LIVE_KEYS: i64 = 50;

/// A key as listed: never the secret itself.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    id: String,
    name: String,
    /// The first characters of the key, to tell keys apart.
    prefix: String,
    /// `env`, `generated` or `api`.
    source: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        KeyView {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            source: k.source,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just created: the only time its secret is shown.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    #[serde(flatten)]
    view: KeyView,
    /// The API key. Store it now: it cannot be shown again.
    key: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// A label, up to 64 characters (no control characters); default `api key`.
    #[schema(example = "ci-pipeline", max_length = 64, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub name: Option<String>,
}

pub fn validate_key_name(name: Option<&str>) -> ApiResult<String> {
    let name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or("api key");
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ApiError::field("name", "must be at most 64 printable characters"));
    }
    Ok(name.to_string())
}

/// Issues a key for `user_id` within the per-user cap.
pub async fn create_key_for(db: &Db, user_id: &str, name: Option<&str>) -> ApiResult<CreatedKey> {
    let name = validate_key_name(name)?;
    if db.count_live_api_keys(user_id).await? >= MAX_LIVE_KEYS {
        return Err(ApiError::new(
            Code::Conflict,
            format!("a user may hold at most {MAX_LIVE_KEYS} live keys; revoke one first"),
        ));
    }
    let (key, plaintext) = auth::issue_key(db, user_id, &name, KeySource::Api).await?;
    Ok(CreatedKey { view: key.into(), key: plaintext })
}

pub async fn list_keys_of(db: &Db, user_id: &str) -> ApiResult<Page<KeyView>> {
    let items: Vec<KeyView> = db.list_api_keys(user_id).await?.into_iter().map(KeyView::from).collect();
    Ok(Page::all(items))
}

pub async fn revoke_key_of(db: &Db, user_id: &str, key_id: &str) -> ApiResult<KeyView> {
    match db.revoke_api_key(user_id, key_id).await {
        Ok(k) => Ok(k.into()),
        Err(StoreError::NotFound) => Err(ApiError::not_found("API key")),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/api/v1/keys", tag = "Keys", operation_id = "listOwnKeys",
    summary = "List my API keys", description = "The caller's keys, revoked ones included, without secrets.",
    responses((status = 200, description = "Keys", body = Envelope<Page<KeyView>>), AdminErrors))]
async fn list_own(State(state): State<AppState>, Tenant(me): Tenant) -> ApiResult<Reply<Page<KeyView>>> {
    Ok(Reply::ok("API keys fetched", list_keys_of(&state.db, &me.registry).await?))
}

#[utoipa::path(post, path = "/api/v1/keys", tag = "Keys", operation_id = "createOwnKey",
    summary = "Create an API key for myself", description = "The key is in the answer once and never again.",
    request_body(content = Option<CreateKeyRequest>),
    responses((status = 201, description = "Created", body = Envelope<CreatedKey>), AdminErrors))]
async fn create_own(
    State(state): State<AppState>,
    Tenant(me): Tenant,
    OptionalJson(req): OptionalJson<CreateKeyRequest>,
) -> ApiResult<Reply<CreatedKey>> {
    Ok(Reply::created("API key created", create_key_for(&state.db, &me.registry, req.name.as_deref()).await?))
}

#[utoipa::path(delete, path = "/api/v1/keys/{keyId}", tag = "Keys", operation_id = "revokeOwnKey",
    summary = "Revoke one of my API keys", description = "Takes effect at once. A key of another user is not found.",
    params(("keyId" = String, Path, description = "Key id, e.g. key_0193…")),
    responses((status = 200, description = "Revoked", body = Envelope<KeyView>), AdminErrors))]
async fn revoke_own(
    State(state): State<AppState>,
    Tenant(me): Tenant,
    ApiPath(key_id): ApiPath<String>,
) -> ApiResult<Reply<KeyView>> {
    Ok(Reply::ok("API key revoked", revoke_key_of(&state.db, &me.registry, &key_id).await?))
}
