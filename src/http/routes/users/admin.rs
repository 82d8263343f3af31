//! `/api/v1/admin/users…`: users (tenants) and their keys. Admin keys only.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::{self, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};
use crate::http::auth::Admin;
use crate::http::docs::AdminErrors;
use crate::http::envelope::{Envelope, Page, Reply};
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::http::routes::users::keys::{
    CreateKeyRequest, CreatedKey, KeyView, create_key_for, list_keys_of, revoke_key_of,
};
use crate::store::StoreError;
use crate::store::users::{NewUser, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, delete_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(list_user_keys, create_user_key))
        .routes(routes!(revoke_user_key))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// The user id, which is also its registry (tenant) id.
    #[schema(example = "usr_01936f0e9c6b7c1a8e3b5f2d4a6c8e0f")]
    id: String,
    registry: String,
    username: String,
    is_admin: bool,
    disabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            registry: u.id.clone(),
            id: u.id,
            username: u.username,
            is_admin: u.is_admin,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    /// 2–64 of letters, digits, `.`, `_`, `-`.
    #[schema(example = "support-team", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")]
    username: String,
    /// Optional password for the API explorer login (8–256 characters).
    #[schema(min_length = 8, max_length = 256)]
    password: Option<String>,
    /// Admins manage users and see every registry. Default false.
    #[serde(default)]
    is_admin: bool,
    /// Name of the first API key, created with the user.
    key_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    user: UserView,
    /// The user's first API key; its secret is shown only here.
    api_key: CreatedKey,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0)]
    offset: Option<i64>,
}

fn not_found_user(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found("user"),
        e => e.into(),
    }
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "Admin", operation_id = "adminCreateUser",
    summary = "Create a user", description = "Creates a user (its own registry) and its first API key, shown once.",
    request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = Envelope<CreatedUser>),
              (status = 409, description = "Username taken (code 2300)", body = crate::http::envelope::ErrorEnvelope), AdminErrors))]
async fn create_user(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> ApiResult<Reply<CreatedUser>> {
    auth::validate_username(&req.username).map_err(|why| ApiError::field("username", why))?;
    let hash = match req.password {
        Some(pw) if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&pw.chars().count()) => {
            return Err(ApiError::field(
                "password",
                format!("must be {MIN_PASSWORD_LEN}-{MAX_PASSWORD_LEN} characters"),
            ));
        }
        Some(pw) => Some(
            tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await.map_err(|_| ApiError::internal())?,
        ),
        None => None,
    };
    crate::http::routes::users::keys::validate_key_name(req.key_name.as_deref())?;
    let user = state
        .db
        .create_user(NewUser {
            id: &auth::new_id("usr"),
            username: &req.username,
            password_hash: hash.as_deref(),
            is_admin: req.is_admin,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => ApiError::new(Code::Conflict, format!("username {:?} is taken", req.username)),
            e => e.into(),
        })?;
    let api_key = create_key_for(&state.db, &user.id, req.key_name.as_deref()).await?;
    tracing::info!(registry = %user.id, admin = user.is_admin, "user created");
    Ok(Reply::created("User created", CreatedUser { user: user.into(), api_key }))
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "Admin", operation_id = "adminListUsers",
    summary = "List users", params(ListQuery),
    responses((status = 200, description = "A page of users", body = Envelope<Page<UserView>>), AdminErrors))]
async fn list_users(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Reply<Page<UserView>>> {
    let limit = q.limit.unwrap_or(100);
    let offset = q.offset.unwrap_or(0);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 500"));
    }
    if offset < 0 {
        return Err(ApiError::field("offset", "must not be negative"));
    }
    let (users, total) = state.db.list_users(limit, offset).await?;
    let items = users.into_iter().map(UserView::from).collect();
    Ok(Reply::ok("Users fetched", Page { items, total, limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{userId}", tag = "Admin", operation_id = "adminGetUser",
    summary = "Get a user", params(("userId" = String, Path)),
    responses((status = 200, description = "The user", body = Envelope<UserView>), AdminErrors))]
async fn get_user(
    State(state): State<AppState>,
    _a: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<UserView>> {
    let user = state.db.get_user(&id).await.map_err(not_found_user)?;
    Ok(Reply::ok("User fetched", user.into()))
}

/// An admin may not lock itself out: the last way back in would be the database.
fn refuse_self(admin: &Admin, id: &str, what: &str) -> ApiResult<()> {
    if admin.0.registry == id {
        return Err(ApiError::new(Code::Conflict, format!("you cannot {what} your own user")));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/admin/users/{userId}/disable", tag = "Admin", operation_id = "adminDisableUser",
    summary = "Disable a user", description = "Its keys and explorer sessions stop working at once; data is kept.",
    params(("userId" = String, Path)),
    responses((status = 200, description = "Disabled", body = Envelope<UserView>), AdminErrors))]
async fn disable_user(
    State(state): State<AppState>,
    a: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<UserView>> {
    refuse_self(&a, &id, "disable")?;
    let user = state.db.set_user_disabled(&id, true).await.map_err(not_found_user)?;
    Ok(Reply::ok("User disabled", user.into()))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{userId}/enable", tag = "Admin", operation_id = "adminEnableUser",
    summary = "Enable a user", params(("userId" = String, Path)),
    responses((status = 200, description = "Enabled", body = Envelope<UserView>), AdminErrors))]
async fn enable_user(
    State(state): State<AppState>,
    _a: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<UserView>> {
    let user = state.db.set_user_disabled(&id, false).await.map_err(not_found_user)?;
    Ok(Reply::ok("User enabled", user.into()))
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{userId}", tag = "Admin", operation_id = "adminDeleteUser",
    summary = "Delete a user", description = "Deletes the user with its keys, explorer sessions and WhatsApp sessions (logged out, keys wiped).",
    params(("userId" = String, Path)),
    responses((status = 200, description = "Deleted", body = Envelope<UserView>), AdminErrors))]
async fn delete_user(
    State(state): State<AppState>,
    a: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<UserView>> {
    refuse_self(&a, &id, "delete")?;
    let user = state.db.get_user(&id).await.map_err(not_found_user)?;
    // Its sessions go first: their clients must stop and their device keys be wiped, which
    // the registry's foreign-key cascade alone would not do.
    for session in state.db.list_sessions(crate::store::sessions::Scope::Registry(&id)).await? {
        state.sessions.delete(crate::store::sessions::Scope::Registry(&id), &session.id).await?;
    }
    state.db.delete_user(&id).await.map_err(not_found_user)?;
    tracing::info!(registry = %id, "user deleted");
    Ok(Reply::ok("User deleted", user.into()))
}

#[utoipa::path(get, path = "/api/v1/admin/users/{userId}/keys", tag = "Admin", operation_id = "adminListUserKeys",
    summary = "List a user's API keys", params(("userId" = String, Path)),
    responses((status = 200, description = "Keys, without secrets", body = Envelope<Page<KeyView>>), AdminErrors))]
async fn list_user_keys(
    State(state): State<AppState>,
    _a: Admin,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Reply<Page<KeyView>>> {
    state.db.get_user(&id).await.map_err(not_found_user)?;
    Ok(Reply::ok("API keys fetched", list_keys_of(&state.db, &id).await?))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{userId}/keys", tag = "Admin", operation_id = "adminCreateUserKey",
    summary = "Create an API key for a user", description = "The key is in the answer once and never again.",
    params(("userId" = String, Path)), request_body(content = Option<CreateKeyRequest>),
    responses((status = 201, description = "Created", body = Envelope<CreatedKey>), AdminErrors))]
async fn create_user_key(
    State(state): State<AppState>,
    _a: Admin,
    ApiPath(id): ApiPath<String>,
    OptionalJson(req): OptionalJson<CreateKeyRequest>,
) -> ApiResult<Reply<CreatedKey>> {
    state.db.get_user(&id).await.map_err(not_found_user)?;
    Ok(Reply::created("API key created", create_key_for(&state.db, &id, req.name.as_deref()).await?))
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{userId}/keys/{keyId}", tag = "Admin", operation_id = "adminRevokeUserKey",
    summary = "Revoke a user's API key", params(("userId" = String, Path), ("keyId" = String, Path)),
    responses((status = 200, description = "Revoked", body = Envelope<KeyView>), AdminErrors))]
async fn revoke_user_key(
    State(state): State<AppState>,
    _a: Admin,
    ApiPath((id, key_id)): ApiPath<(String, String)>,
) -> ApiResult<Reply<KeyView>> {
    Ok(Reply::ok("API key revoked", revoke_key_of(&state.db, &id, &key_id).await?))
}
