//! The wire shapes of a location and of contact cards, read the same way by the REST send
//! routes and by webhook send actions, then validated by [`build`]: one body sends one
//! message whichever way it arrives.

use serde::Deserialize;
use utoipa::ToSchema;

use super::build::{self, CardInput, Invalid, Place};
use super::content::Card;

/// Contact cards one message may carry.
pub const MAX_CONTACTS: usize = 20;

/// `{latitude, longitude, name?, address?, url?}` or `[latitude, longitude]`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LocationInput {
    Object { latitude: f64, longitude: f64, name: Option<String>, address: Option<String>, url: Option<String> },
    Pair([f64; 2]),
}

impl From<LocationInput> for Place {
    fn from(l: LocationInput) -> Place {
        match l {
            LocationInput::Object { latitude, longitude, name, address, url } => {
                Place { latitude, longitude, name, address, url }
            }
            LocationInput::Pair([latitude, longitude]) => {
                Place { latitude, longitude, name: None, address: None, url: None }
            }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactInput {
    pub name: Option<String>,
    pub full_name: Option<String>,
    /// One number, or several comma-separated.
    pub phone: Option<String>,
    /// Several numbers.
    #[serde(default)]
    pub phones: Vec<String>,
    // `org` too: the original's actions spelled it so.
    #[serde(alias = "org")]
    pub organization: Option<String>,
    pub email: Option<String>,
}

impl ContactInput {
    fn card(&self, field: &str, country: Option<&str>) -> Result<Card, Invalid> {
        let mut phones: Vec<String> = self.phone.iter().cloned().collect();
        phones.extend(self.phones.iter().cloned());
        let input = CardInput {
            name: self.name.clone(),
            full_name: self.full_name.clone(),
            phones,
            organization: self.organization.clone(),
            email: self.email.clone(),
        };
        build::card(field, &input, country)
    }
}

/// The cards of one contact message: `contact`, else the `name`/`phone` shorthand, then
/// every one of `contacts`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCards {
    pub contact: Option<ContactInput>,
    #[serde(default)]
    pub contacts: Vec<ContactInput>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl ContactCards {
    pub fn cards(&self, country: Option<&str>) -> Result<Vec<Card>, Invalid> {
        let mut cards = Vec::new();
        if let Some(c) = &self.contact {
            cards.push(c.card("contact", country)?);
        } else if self.name.is_some() || self.phone.is_some() {
            let c = ContactInput { name: self.name.clone(), phone: self.phone.clone(), ..Default::default() };
            cards.push(c.card("contact", country)?);
        }
        if self.contacts.len() > MAX_CONTACTS {
            return Err(("contacts".into(), format!("at most {MAX_CONTACTS} contacts")));
        }
        for (i, c) in self.contacts.iter().enumerate() {
            cards.push(c.card(&format!("contacts[{i}]"), country)?);
        }
        if cards.is_empty() {
            return Err(("contact".into(), "is required".into()));
        }
        Ok(cards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(v: serde_json::Value) -> Result<Vec<Card>, Invalid> {
        serde_json::from_value::<ContactCards>(v).unwrap().cards(None)
    }

    #[test]
    fn contact_cards_come_from_any_of_the_three_shapes_and_are_bounded() {
        let one = cards(serde_json::json!({ "contact": { "name": "Ann", "phone": "6281200000001", "org": "Acme" } }));
        let one = one.unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].vcard.contains("ORG:Acme"), "{}", one[0].vcard);
        let short = cards(serde_json::json!({ "name": "Bo", "phone": "6281200000002" })).unwrap();
        assert_eq!(short[0].display_name, "Bo");
        let many: Vec<_> =
            (0..3).map(|i| serde_json::json!({ "name": format!("C{i}"), "phone": "6281200000003" })).collect();
        assert_eq!(cards(serde_json::json!({ "contacts": many })).unwrap().len(), 3);
        let too_many: Vec<_> = (0..21).map(|_| serde_json::json!({ "name": "x", "phone": "6281200000003" })).collect();
        assert_eq!(cards(serde_json::json!({ "contacts": too_many })).unwrap_err().0, "contacts");
        assert_eq!(cards(serde_json::json!({})).unwrap_err().0, "contact");
        assert_eq!(cards(serde_json::json!({ "contacts": [{ "name": "x" }] })).unwrap_err().0, "contacts[0].phone");
    }

    #[test]
    fn a_location_is_an_object_or_a_pair() {
        let p: Place = serde_json::from_value::<LocationInput>(serde_json::json!([1.5, 2.5])).unwrap().into();
        assert_eq!((p.latitude, p.longitude, p.name), (1.5, 2.5, None));
        let o = serde_json::json!({ "latitude": 1.0, "longitude": 2.0, "name": "Here" });
        let p: Place = serde_json::from_value::<LocationInput>(o).unwrap().into();
        assert_eq!(p.name.as_deref(), Some("Here"));
    }
}
