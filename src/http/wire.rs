//! Constraints of wire fields that mean the same everywhere, stated once.
//!
//! Some fields appear in dozens of operations, as a query or path parameter or a body
//! property (`sessionId` in 40 of them). Their rule is one validator in the code, and here
//! it is one entry: [`Constraints`] walks the OpenAPI document and puts the entry's schema
//! constraints on every parameter and property of that name, so the document says what the
//! validator checks. A test below runs the validator over the pattern's edge cases.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{Components, RefOr, Required};

/// Session ids: 1-64 of `[A-Za-z0-9_-]` (`validate_session_id`; the words that are routes
/// under `/session/` are refused too, which a pattern cannot say without lookarounds).
pub const SESSION_ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
pub const SESSION_ID_MAX: usize = 64;

/// A field's shared rule.
struct Field {
    name: &'static str,
    pattern: &'static str,
    max_length: Option<usize>,
    /// Also required as a query parameter: the handlers refuse a request without it (the
    /// body variants already say `required` through their types).
    required_in_query: bool,
    /// Also for body and answer properties of that name, not only parameters.
    in_bodies: bool,
}

const FIELDS: &[Field] = &[
    Field {
        name: "sessionId",
        pattern: SESSION_ID_PATTERN,
        max_length: Some(SESSION_ID_MAX),
        required_in_query: true,
        in_bodies: true,
    },
    Field {
        name: "groupId",
        pattern: crate::groups::GROUP_ID_PATTERN,
        max_length: Some(80),
        required_in_query: true,
        in_bodies: true,
    },
    Field {
        name: "checkNumbers",
        pattern: crate::outbound::recipient::patterns::USER_LIST,
        max_length: None,
        required_in_query: true,
        in_bodies: false,
    },
    Field {
        name: "inviteLink",
        pattern: crate::groups::INVITE_PATTERN,
        max_length: Some(crate::groups::MAX_INVITE_LEN),
        required_in_query: true,
        in_bodies: true,
    },
    // Answers name chats the API does not take (`status@broadcast`), so only requests.
    Field {
        name: "chatId",
        pattern: crate::outbound::recipient::patterns::CHAT,
        max_length: Some(128),
        required_in_query: false,
        in_bodies: false,
    },
];

/// Operations whose `sessionId` query parameter is a filter, not the session acted on.
const OPTIONAL_SESSION_QUERY: &[&str] =
    &["/api/v1/webhook/deliveries", "/api/v1/webhook/dlq", "/api/v1/events/stream", "/api/v1/messages/{messageId}"];

/// The [`Modify`] that applies [`FIELDS`] to the document.
pub struct Constraints;

impl Modify for Constraints {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for op in ops.into_iter().flatten() {
                constrain_operation(path, op);
            }
        }
        if let Some(Components { schemas, .. }) = doc.components.as_mut() {
            for schema in schemas.values_mut() {
                constrain_schema(schema);
            }
        }
    }
}

fn constrain_operation(path: &str, op: &mut Operation) {
    for p in op.parameters.iter_mut().flatten() {
        constrain_parameter(path, p);
    }
    if let Some(body) = op.request_body.as_mut() {
        for content in body.content.values_mut() {
            if let Some(schema) = content.schema.as_mut() {
                constrain_schema(schema);
            }
        }
    }
}

fn constrain_parameter(path: &str, p: &mut Parameter) {
    let Some(field) = FIELDS.iter().find(|f| f.name == p.name) else { return };
    if let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() {
        apply(field, o);
    }
    if p.parameter_in == ParameterIn::Query && field.required_in_query && !OPTIONAL_SESSION_QUERY.contains(&path) {
        p.required = Required::True;
    }
}

fn constrain_schema(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            for (name, prop) in o.properties.iter_mut() {
                let field = FIELDS.iter().find(|f| f.name == name && f.in_bodies);
                if let (Some(field), RefOr::T(Schema::Object(p))) = (field, &mut *prop) {
                    apply(field, p);
                } else {
                    constrain_schema(prop);
                }
            }
        }
        Schema::Array(a) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut a.items {
                constrain_schema(items);
            }
        }
        Schema::OneOf(o) => o.items.iter_mut().for_each(constrain_schema),
        Schema::AllOf(o) => o.items.iter_mut().for_each(constrain_schema),
        Schema::AnyOf(o) => o.items.iter_mut().for_each(constrain_schema),
        _ => {}
    }
}

fn apply(field: &Field, o: &mut Object) {
    o.pattern = Some(field.pattern.to_string());
    o.max_length = field.max_length;
    o.min_length = Some(1);
}

/// A string with a pattern (and a length cap).
fn text(pattern: &str, max_length: usize, description: &str) -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(1))
        .max_length(Some(max_length))
        .description(Some(description))
        .build()
}

/// `to` of the send routes and chat actions: chats as one comma-separated string or an
/// array (of such strings), at most 50 in all.
pub fn chat_list() -> RefOr<Schema> {
    use crate::outbound::recipient::{MAX_RECIPIENTS, patterns};
    let one = chat_list_text();
    // The array form holds one chat per item, so its length is the count WAREST limits.
    let item = text(patterns::CHAT, 128, "Phone number, user JID, LID or group JID");
    let many = ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(MAX_RECIPIENTS));
    OneOfBuilder::new().item(one).item(many).examples(["6281234567890"]).into()
}

/// `to` as a form field: the comma-separated string.
pub fn chat_list_text() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(crate::outbound::recipient::patterns::CHAT_LIST))
        .description(Some("Phone numbers, user JIDs, LIDs or group JIDs, comma-separated; at most 50"))
        .into()
}

/// `to` of the message actions: the message's chat (of a list, the first is used).
pub fn chat_target() -> RefOr<Schema> {
    use crate::outbound::recipient::patterns;
    let one = text(patterns::CHAT, 128, "Phone number, user JID, LID or group JID");
    let many = ArrayBuilder::new().items(one.clone()).min_items(Some(1)).max_items(Some(50));
    OneOfBuilder::new().item(one).item(many).examples(["6281234567890"]).into()
}

/// One chat, e.g. the `{chatId}` path parameter.
pub fn chat() -> RefOr<Schema> {
    text(crate::outbound::recipient::patterns::CHAT, 128, "Phone number, user JID, LID or group JID").into()
}

/// One phone number.
pub fn phone() -> RefOr<Schema> {
    text(
        crate::outbound::recipient::patterns::PHONE,
        64,
        "Phone number with country code (a leading 0 takes the default)",
    )
    .into()
}

/// One person: a group member, a blocklist entry.
pub fn user() -> RefOr<Schema> {
    text(crate::outbound::recipient::patterns::USER, 128, "Phone number, user JID or LID").into()
}

/// Group members to add or change: 1-256 people.
pub fn members() -> RefOr<Schema> {
    ArrayBuilder::new().items(user()).min_items(Some(1)).max_items(Some(crate::groups::MAX_PARTICIPANTS)).into()
}

/// The members of a new group: up to 256 people (none: a group of one).
pub fn new_members() -> RefOr<Schema> {
    ArrayBuilder::new().items(user()).max_items(Some(crate::groups::MAX_PARTICIPANTS)).into()
}

/// A file in a JSON body: an http(s) URL, a `data:` URL or base64.
pub fn media_source() -> RefOr<Schema> {
    source(Type::String.into())
}

/// An optional file (e.g. a header image): a source as above, or null.
pub fn optional_media_source() -> RefOr<Schema> {
    source(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
}

fn source(types: utoipa::openapi::schema::SchemaType) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(types)
        .pattern(Some(crate::media::fetch::SOURCE_PATTERN))
        .description(Some("An http(s) URL, a `data:` URL or base64"))
        .into()
}

/// A disappearing-messages timer: the four WhatsApp offers, in seconds.
pub fn timer() -> RefOr<Schema> {
    let values = crate::groups::EPHEMERAL_CHOICES.iter().map(|&s| serde_json::Value::from(s));
    ObjectBuilder::new().schema_type(Type::Integer).enum_values(Some(values)).into()
}

/// A poll's options: 2-12, each 1-100 characters (not blank).
pub fn poll_options() -> RefOr<Schema> {
    let option = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"\S")).max_length(Some(100));
    ArrayBuilder::new().items(option).min_items(Some(2)).max_items(Some(12)).unique_items(true).into()
}

/// An IANA timezone name, as `chrono-tz` knows them.
pub fn timezone() -> RefOr<Schema> {
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| serde_json::Value::from(tz.name()));
    // Absent or null: GENERIC_TIMEZONE.
    let names = names.chain([serde_json::Value::Null]);
    let types = utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]);
    ObjectBuilder::new().schema_type(types).enum_values(Some(names)).into()
}

/// People to mention: phone numbers or user JIDs.
pub fn mentions() -> RefOr<Schema> {
    ArrayBuilder::new().items(user()).max_items(Some(crate::groups::MAX_PARTICIPANTS)).into()
}

#[cfg(test)]
mod tests {
    use crate::http::routes::sessions::views::validate_session_id;

    /// The validator accepts exactly what the pattern describes (the reserved route words
    /// aside): its edges, one character class at a time.
    #[test]
    fn session_id_validator_matches_its_pattern() {
        let long = "a".repeat(super::SESSION_ID_MAX);
        for ok in ["a", "Z9", "main_1-x", long.as_str()] {
            assert!(validate_session_id(ok).is_ok(), "{ok:?} fits {}", super::SESSION_ID_PATTERN);
        }
        let too_long = "a".repeat(super::SESSION_ID_MAX + 1);
        for bad in ["", "a b", "a.b", "ä", "a/b", too_long.as_str()] {
            assert!(validate_session_id(bad).is_err(), "{bad:?} does not fit {}", super::SESSION_ID_PATTERN);
        }
    }
}
