//! The session's own profile: push name, about text and picture, read from and written to
//! WhatsApp.

use serde::Serialize;
use utoipa::ToSchema;

use super::lookup::business_json;
use super::{ContactError, phone_of, wa};
use crate::sessions::live::LiveSession;

/// WhatsApp's limits on the push name and the about text (characters).
pub const MAX_PUSH_NAME: usize = 25;
pub const MAX_ABOUT: usize = 139;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInfo {
    pub phone: String,
    /// The verified business name (the reference spells it so).
    pub verifiend_name: Option<String>,
    pub push_name: Option<String>,
    pub about: Option<String>,
    pub picture_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub business_profile: Option<serde_json::Value>,
    pub profile_picture: Option<PictureView>,
}

#[derive(Serialize, ToSchema, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PictureView {
    pub phone: String,
    pub url: String,
    pub id: String,
    /// Always `image`.
    #[serde(rename = "type")]
    pub kind: String,
    pub img_full: Option<String>,
    pub img_preview: Option<String>,
}

/// The account's profile summary.
pub async fn info(live: &LiveSession) -> Result<ProfileInfo, ContactError> {
    let client = &live.client;
    let me = client.pn().ok_or(ContactError::Failed("own number"))?;
    let phone = phone_of(&me.to_string());
    let info = client.contacts().get_user_info(std::slice::from_ref(&me)).await.map_err(wa("user info"))?;
    let info = info.into_values().next();
    let picture = own_picture(live).await?;
    let business = client.get_business_profile(&me).await.map_err(wa("business profile"))?;
    let push_name = Some(client.push_name()).filter(|n| !n.is_empty()).or(live.row.me.push_name.clone());
    Ok(ProfileInfo {
        verifiend_name: info.as_ref().and_then(|i| i.verified_name.as_ref()).and_then(|v| v.name.clone()),
        push_name,
        about: info.as_ref().and_then(|i| i.status.clone()),
        picture_id: picture.as_ref().map(|p| p.id.clone()),
        business_profile: business.map(|b| business_json(&phone, &b)),
        profile_picture: picture,
        phone,
    })
}

/// Sets the push name and/or the about text; the phone number is answered.
pub async fn set_info(
    live: &LiveSession,
    push_name: Option<&str>,
    about: Option<&str>,
) -> Result<String, ContactError> {
    if push_name.is_none() && about.is_none() {
        return Err(ContactError::invalid("pushName", "give pushName and/or about"));
    }
    if let Some(n) = push_name
        && (n.trim().is_empty() || n.chars().count() > MAX_PUSH_NAME)
    {
        return Err(ContactError::invalid("pushName", format!("must be 1-{MAX_PUSH_NAME} characters")));
    }
    if let Some(a) = about
        && a.chars().count() > MAX_ABOUT
    {
        return Err(ContactError::invalid("about", format!("must be at most {MAX_ABOUT} characters")));
    }
    if let Some(n) = push_name {
        live.client.profile().set_push_name(n.trim()).await.map_err(wa("push name"))?;
    }
    if let Some(a) = about {
        live.client.profile().set_status_text(a).await.map_err(wa("about"))?;
    }
    Ok(own_phone(live))
}

fn own_phone(live: &LiveSession) -> String {
    live.client.pn().map(|j| phone_of(&j.to_string())).unwrap_or_default()
}

/// The account's picture, or `None` when it has none.
pub async fn own_picture(live: &LiveSession) -> Result<Option<PictureView>, ContactError> {
    let client = &live.client;
    let me = client.pn().ok_or(ContactError::Failed("own number"))?;
    let full = client.contacts().get_profile_picture(&me, false).await.map_err(wa("profile picture"))?;
    let Some(full) = full else {
        return Ok(None);
    };
    let preview = client.contacts().get_profile_picture(&me, true).await.map_err(wa("profile picture"))?;
    Ok(Some(PictureView {
        phone: own_phone(live),
        url: full.url.clone(),
        id: full.id,
        kind: "image".into(),
        img_full: Some(full.url),
        img_preview: preview.map(|p| p.url),
    }))
}

/// Sets the account's picture (a JPEG or PNG, judged by its bytes) and answers it.
pub async fn set_picture(live: &LiveSession, image: Vec<u8>) -> Result<PictureView, ContactError> {
    let is_jpeg = image.starts_with(&[0xFF, 0xD8, 0xFF]);
    if !is_jpeg && !crate::outbound::imaging::is_png(&image) {
        return Err(ContactError::invalid("picture", "must be a JPEG or PNG image"));
    }
    let set = live.client.profile().set_profile_picture(image).await.map_err(wa("set picture"))?;
    let view = own_picture(live).await?.unwrap_or(PictureView {
        phone: own_phone(live),
        url: String::new(),
        id: set.id,
        kind: "image".into(),
        img_full: None,
        img_preview: None,
    });
    Ok(view)
}

pub async fn remove_picture(live: &LiveSession) -> Result<(), ContactError> {
    live.client.profile().remove_profile_picture().await.map_err(wa("remove picture"))?;
    Ok(())
}
