//! The offer's two wire shapes: [`FeedOffer`] (what the widget receives) and
//! [`PartnerOffer`] (what the partner API returns, as documented in seed 002).
//!
//! Both use the documented camelCase names, including the documented spellings
//! `showFrerquency` and `showDelayMS`; timestamps are `2024-05-22T12:00:01.000Z`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{
    AudienceType, BodyText, ButtonText, ExternalId, HttpUrl, Offer, ShowFrequency, Template,
    TemplateData, Title, ViewType,
};

/// An offer as the widget receives it: no audience, `templateData` as an object.
///
/// Deserializing goes through the validated types, so a payload with, say, a color that
/// is not a CSS color is rejected rather than rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedOffer {
    /// Server-assigned id.
    pub id: i64,
    /// The layout.
    pub template: Template,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    /// The body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<BodyText>,
    /// The button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_text: Option<ButtonText>,
    /// Where a click goes.
    pub link: HttpUrl,
    /// The picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic: Option<HttpUrl>,
    /// Colors and alignment.
    #[serde(default)]
    pub template_data: TemplateData,
    /// Pop-up or in-feed.
    #[serde(default)]
    pub view_type: ViewType,
    /// Shown from this instant …
    #[serde(with = "crate::time::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// … until this instant (exclusive), or forever.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::rfc3339_opt"
    )]
    pub end_time: Option<DateTime<Utc>>,
    /// `false`: at most once per user, ever.
    #[serde(default)]
    pub show_multiple_times: bool,
    /// Once per entry or once per local day.
    #[serde(default, rename = "showFrerquency", alias = "showFrequency")]
    pub show_frequency: ShowFrequency,
    /// Delay after entry before showing, in milliseconds.
    #[serde(default, rename = "showDelayMS")]
    pub show_delay_ms: u64,
}

impl From<&Offer> for FeedOffer {
    fn from(offer: &Offer) -> Self {
        let spec = &offer.spec;
        Self {
            id: offer.id,
            template: spec.template,
            title: spec.title.clone(),
            text: spec.text.clone(),
            link_text: spec.link_text.clone(),
            link: spec.link.clone(),
            pic: spec.pic.clone(),
            template_data: spec.template_data.clone(),
            view_type: spec.view_type,
            start_time: spec.start_time,
            end_time: spec.end_time,
            show_multiple_times: spec.show_multiple_times,
            show_frequency: spec.show_frequency,
            show_delay_ms: spec.show_delay_ms,
        }
    }
}

impl From<Offer> for FeedOffer {
    fn from(offer: Offer) -> Self {
        Self::from(&offer)
    }
}

/// An offer as the partner API returns it (seed 002's "Response example"):
/// `templateData` is the JSON text of the [`TemplateData`] object, and missing optional
/// values are `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerOffer {
    /// Server-assigned id.
    pub id: i64,
    /// The picture, or `null`.
    pub pic: Option<HttpUrl>,
    /// The layout code.
    pub template: Template,
    /// The title, or `null`.
    pub title: Option<Title>,
    /// The body text, or `null`.
    pub text: Option<BodyText>,
    /// Where a click goes.
    pub link: HttpUrl,
    /// The button text, or `null`.
    pub link_text: Option<ButtonText>,
    /// The JSON text of the template data object.
    pub template_data: String,
    /// Pop-up or in-feed.
    pub view_type: ViewType,
    /// `false`: at most once per user, ever.
    pub show_multiple_times: bool,
    /// Once per entry or once per local day.
    #[serde(rename = "showFrerquency", alias = "showFrequency")]
    pub show_frequency: ShowFrequency,
    /// Delay after entry before showing, in milliseconds.
    #[serde(rename = "showDelayMS")]
    pub show_delay_ms: u64,
    /// Shown from this instant …
    #[serde(with = "crate::time::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// … until this instant (exclusive), or `null` for no end.
    #[serde(with = "crate::time::rfc3339_opt", default)]
    pub end_time: Option<DateTime<Utc>>,
    /// `GLOBAL`, `ROOM` or `USER`.
    #[serde(rename = "type")]
    pub kind: AudienceType,
    /// The rooms of a `ROOM` offer.
    #[serde(default)]
    pub external_room_ids: Vec<ExternalId>,
    /// The users of a `USER` offer.
    #[serde(default)]
    pub external_user_ids: Vec<ExternalId>,
}

impl From<&Offer> for PartnerOffer {
    fn from(offer: &Offer) -> Self {
        let spec = &offer.spec;
        Self {
            id: offer.id,
            pic: spec.pic.clone(),
            template: spec.template,
            title: spec.title.clone(),
            text: spec.text.clone(),
            link: spec.link.clone(),
            link_text: spec.link_text.clone(),
            // Serializing this struct cannot fail (string keys, no maps of non-strings).
            template_data: serde_json::to_string(&spec.template_data).unwrap_or_default(),
            view_type: spec.view_type,
            show_multiple_times: spec.show_multiple_times,
            show_frequency: spec.show_frequency,
            show_delay_ms: spec.show_delay_ms,
            start_time: spec.start_time,
            end_time: spec.end_time,
            kind: spec.audience.kind,
            external_room_ids: spec.audience.rooms.clone(),
            external_user_ids: spec.audience.users.clone(),
        }
    }
}

impl From<Offer> for PartnerOffer {
    fn from(offer: Offer) -> Self {
        Self::from(&offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Audience, OfferSpec};
    use chrono::TimeZone;
    use serde_json::json;

    fn banner() -> Offer {
        Offer {
            id: 7,
            spec: OfferSpec {
                link: HttpUrl::parse("https://www.watchers.io/").unwrap(),
                pic: Some(HttpUrl::parse("https://watchers.io/hand.webp").unwrap()),
                start_time: Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap(),
                show_multiple_times: false,
                show_frequency: ShowFrequency::Daily,
                audience: Audience::users(vec![ExternalId::parse("u1").unwrap()]),
                ..OfferSpec::example()
            },
        }
    }

    #[test]
    fn feed_offer_shape() {
        let feed = FeedOffer::from(&banner());
        let value = serde_json::to_value(&feed).unwrap();
        assert_eq!(
            value,
            json!({
                "id": 7, "template": 11, "link": "https://www.watchers.io/",
                "pic": "https://watchers.io/hand.webp",
                "templateData": {
                    "alignment": "center", "bgColor": "#ffffff", "btnColor": "#1890bf",
                    "btnTextColor": "#ffffff", "textColor": "#000000", "gradient": false
                },
                "viewType": "POPUP", "startTime": "2024-05-22T12:00:01.000Z",
                "showMultipleTimes": false, "showFrerquency": "DAILY", "showDelayMS": 0
            })
        );
        let back: FeedOffer = serde_json::from_value(value).unwrap();
        assert_eq!(back, feed);
    }

    #[test]
    fn feed_offer_accepts_alias_and_defaults() {
        let feed: FeedOffer = serde_json::from_value(json!({
            "id": 1, "template": 10, "title": "T", "text": "x", "linkText": "Go",
            "link": "https://a.example/", "startTime": "2024-05-22T12:00:01Z",
            "endTime": null, "showFrequency": "DAILY"
        }))
        .unwrap();
        assert_eq!(feed.show_frequency, ShowFrequency::Daily);
        assert_eq!(feed.view_type, ViewType::Popup);
        assert_eq!(feed.end_time, None);
    }

    #[test]
    fn feed_offer_rejects_hostile_values() {
        let base = json!({
            "id": 1, "template": 11, "link": "https://a.example/",
            "pic": "https://a.example/p.png", "startTime": "2024-05-22T12:00:01Z"
        });
        let mut bad_color = base.clone();
        bad_color["templateData"] = json!({"bgColor": "red;background:url(x)"});
        assert!(serde_json::from_value::<FeedOffer>(bad_color).is_err());
        let mut bad_link = base.clone();
        bad_link["link"] = json!("javascript:alert(1)");
        assert!(serde_json::from_value::<FeedOffer>(bad_link).is_err());
        let mut bad_template = base;
        bad_template["template"] = json!(42);
        assert!(serde_json::from_value::<FeedOffer>(bad_template).is_err());
    }

    #[test]
    fn partner_offer_shape() {
        let value = serde_json::to_value(PartnerOffer::from(&banner())).unwrap();
        assert_eq!(
            value,
            json!({
                "id": 7, "pic": "https://watchers.io/hand.webp", "template": 11,
                "title": null, "text": null, "link": "https://www.watchers.io/",
                "linkText": null,
                "templateData": "{\"alignment\":\"center\",\"bgColor\":\"#ffffff\",\"btnColor\":\"#1890bf\",\"btnTextColor\":\"#ffffff\",\"textColor\":\"#000000\",\"gradient\":false}",
                "viewType": "POPUP", "showMultipleTimes": false, "showFrerquency": "DAILY",
                "showDelayMS": 0, "startTime": "2024-05-22T12:00:01.000Z", "endTime": null,
                "type": "USER", "externalRoomIds": [], "externalUserIds": ["u1"]
            })
        );
        let text = serde_json::to_string(&PartnerOffer::from(&banner())).unwrap();
        assert!(
            text.starts_with("{\"id\":7,\"pic\":"),
            "documented field order"
        );
    }

    #[test]
    fn offer_serde_is_flat() {
        let offer = banner();
        let value = serde_json::to_value(&offer).unwrap();
        assert_eq!(value["id"], 7);
        assert_eq!(value["template"], 11);
        assert_eq!(value["audience"]["type"], "USER");
        let back: Offer = serde_json::from_value(value).unwrap();
        assert_eq!(back, offer);
    }
}
