//! `GET /api/v1/media/{id}`: received media the gateway downloaded, and files the misc
//! routes made for `output=url` (`media::generated`). Two ways in: the signed link from the
//! webhook payload or misc answer (`?exp=&sig=`, no key needed, so a receiver can hand it
//! to anyone until it expires), or an API key, scoped to the key's tenant (received media only).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::auth::MaybeTenant;
use crate::http::docs::AdminErrors;
use crate::http::error::{ApiError, ApiResult, Code};
use crate::http::extract::{ApiPath, ApiQuery};
use crate::media::received;
use crate::media::signed::{self, LinkError};
use crate::store::StoreError;
use crate::store::sessions::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_media))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// Expiry of a signed link (unix seconds).
    exp: Option<String>,
    /// Hex HMAC-SHA256 of `<id>.<exp>` with the server's media link secret.
    sig: Option<String>,
}

fn not_stored() -> ApiError {
    ApiError::new(Code::MediaNotStored, "Media not found (not downloaded yet, or not kept)")
}

#[utoipa::path(get, path = "/api/v1/media/{id}", tag = "Media", operation_id = "getMedia",
    summary = "Download received media",
    description = "The bytes of a received attachment the gateway downloaded (WAREST_DOWNLOAD_MEDIA_RECEIVED), \
        or of a file a misc route made with `output=url` (those only through their signed link). \
        Either a signed link from the webhook payload or a misc answer (`exp` and `sig`; 403 with code 3150 when expired, 3151 \
        when the signature is wrong) or an API key whose tenant owns the session. 404 (3152) until the download finished.",
    params(("id" = String, Path, description = "Media id from the payload's `media.id`"), LinkQuery),
    responses((status = 200, description = "The media bytes, with its mimetype", content_type = "application/octet-stream", body = Vec<u8>),
        AdminErrors))]
async fn get_media(
    State(state): State<AppState>,
    MaybeTenant(who): MaybeTenant,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<LinkQuery>,
) -> ApiResult<Response> {
    // Ids are 32 hex characters; anything else cannot exist (and never reaches the disk).
    let well_formed = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let media = if q.exp.is_some() || q.sig.is_some() {
        let invalid = || ApiError::new(Code::MediaLinkInvalid, "Invalid media link signature");
        let exp: i64 = q.exp.as_deref().and_then(|e| e.parse().ok()).ok_or_else(invalid)?;
        let sig = q.sig.as_deref().ok_or_else(invalid)?;
        let now = crate::store::now_ms() / 1000;
        match signed::verify(state.config.media.url_secret.expose(), &id, exp, sig, now) {
            Ok(()) => {}
            Err(LinkError::Expired) => return Err(ApiError::new(Code::MediaLinkExpired, "Media link expired")),
            Err(LinkError::BadSignature) => return Err(invalid()),
        }
        if !well_formed {
            return Err(not_stored());
        }
        received::get(&state.db, &id).await?.ok_or_else(not_stored)?
    } else {
        let who = who.ok_or_else(ApiError::unauthorized)?;
        if !well_formed {
            return Err(not_stored());
        }
        let m = received::get(&state.db, &id).await?.ok_or_else(not_stored)?;
        // Another tenant's media answers exactly like missing media.
        match state.db.get_session(Scope::of(&who), &m.session_id).await {
            Ok(_) => m,
            Err(StoreError::NotFound) => return Err(not_stored()),
            Err(e) => return Err(e.into()),
        }
    };
    let bytes = match tokio::fs::read(&media.path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_stored()),
        Err(e) => {
            tracing::error!(error = %e, media = %media.id, "cannot read stored media");
            return Err(ApiError::internal());
        }
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    let ct =
        HeaderValue::from_str(&media.mimetype).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    // Served as a download: the sender chose the bytes and the type, so a browser must not
    // render them on the gateway's origin.
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    Ok(res)
}
