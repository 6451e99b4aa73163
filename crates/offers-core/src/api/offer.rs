//! The offer's wire shapes: [`FeedOffer`] (what the widget receives), [`PartnerOffer`] (what
//! the partner API returns, as documented in seed 002), and the partner API's answers built
//! from it ([`SaveOfferResponse`], [`ListedOffer`]).
//!
//! All use the documented camelCase names, including the documented spellings
//! `showFrerquency` and `showDelayMS`; timestamps are `2024-05-22T12:00:01.000Z`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::figures::StatsSummary;
use crate::campaign::{Trigger, Variant};
use crate::explain::{ScheduleStatus, schedule_status};
use crate::merge::{MergeVars, MissingVariable};
use crate::model::{
    AudienceType, BodyText, ButtonText, ExternalId, HttpUrl, LanguageTag, Offer, OfferName,
    OfferSpec, OfferTag, ShowFrequency, Template, TemplateData, Title, Translation, ViewType,
};

/// An offer as the widget receives it: no audience, `templateData` as an object; no name,
/// tags, segments or translations either: the server sends the texts of the user's language
/// with merge tags filled in ([`FeedOffer::personalized`]).
///
/// Deserializing goes through the validated types, so a payload with, say, a color that
/// is not a CSS color is rejected rather than rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// A test send (SPEC §7, `POST /external/offer/{id}/test`): shown now whatever the
    /// frequency rules say, and its events are not counted. Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// Shown after this event the host reports (SPEC §9); absent: on entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// Of the pop-ups that qualify at the same moment the highest priority wins; absent: 0.
    #[serde(default, skip_serializing_if = "crate::model::is_zero")]
    pub priority: i16,
    /// The A/B variants with their merged content (absent: none); the widget picks one with
    /// [`crate::campaign::assign`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<FeedVariant>,
    /// The share of users (percent) who see nothing of this offer; absent: 0.
    #[serde(default, skip_serializing_if = "crate::model::is_zero")]
    pub holdout_percent: u8,
}

/// A variant as the widget receives it: its weight and its whole displayed content (the
/// variant's fields over the offer's own, personalized like the offer's texts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedVariant {
    /// Its share of the users outside the holdout, relative to the others' weights.
    pub weight: u32,
    /// The title, text, button text and picture shown (the variant's, else the offer's).
    #[serde(flatten)]
    pub content: Translation,
    /// Colors and alignment.
    #[serde(default)]
    pub template_data: TemplateData,
}

impl FeedVariant {
    /// `variant` merged over `offer`'s own content, as stored (merge tags as written).
    pub fn merged(variant: &Variant, offer: &OfferSpec) -> Self {
        let own = &variant.content;
        Self {
            weight: variant.weight,
            content: Translation {
                title: own.title.clone().or_else(|| offer.title.clone()),
                text: own.text.clone().or_else(|| offer.text.clone()),
                link_text: own.link_text.clone().or_else(|| offer.link_text.clone()),
                pic: own.pic.clone().or_else(|| offer.pic.clone()),
            },
            template_data: variant
                .template_data
                .clone()
                .unwrap_or_else(|| offer.template_data.clone()),
        }
    }
}

impl FeedOffer {
    /// The weights of the variants, in order (for [`crate::campaign::assign`]).
    pub fn weights(&self) -> Vec<u32> {
        self.variants.iter().map(|v| v.weight).collect()
    }

    /// The offer as shown with variant `index`: its texts, picture and colors replaced by
    /// the variant's (`None`: no such variant, the offer unchanged). The variants stay. It
    /// takes the offer, so nothing but the variant's content is copied (the widget's wasm
    /// carries no whole-offer copy before its first paint).
    pub fn with_variant(mut self, index: Option<usize>) -> Self {
        if let Some(variant) = index.and_then(|i| self.variants.get(i)) {
            let content = variant.content.clone();
            self.template_data = variant.template_data.clone();
            self.title = content.title;
            self.text = content.text;
            self.link_text = content.link_text;
            self.pic = content.pic;
        }
        self
    }
}

impl FeedOffer {
    /// `offer` for the user of `vars` ([`crate::personalize()`]: translation, then merge
    /// tags). `Err`: the offer is not shown to this user.
    pub fn personalized(offer: &Offer, vars: &MergeVars<'_>) -> Result<Self, MissingVariable> {
        let shown = crate::personalize::personalize(&offer.spec, vars)?;
        let variants = offer
            .spec
            .variants
            .iter()
            .map(|variant| {
                let texts = crate::personalize::personalize_variant(variant, &shown, vars)?;
                Ok(FeedVariant {
                    weight: variant.weight,
                    content: Translation {
                        title: texts.title,
                        text: texts.text,
                        link_text: texts.link_text,
                        pic: texts.pic,
                    },
                    template_data: variant
                        .template_data
                        .clone()
                        .unwrap_or_else(|| offer.spec.template_data.clone()),
                })
            })
            .collect::<Result<Vec<_>, MissingVariable>>()?;
        Ok(Self {
            title: shown.title,
            text: shown.text,
            link_text: shown.link_text,
            link: shown.link,
            pic: shown.pic,
            variants,
            ..Self::from(offer)
        })
    }
}

impl From<&Offer> for FeedOffer {
    /// The offer's own fields, as stored. For an offer that is the same for every user
    /// ([`OfferSpec::is_personalized`] is false); a personalized offer's merge tags would be
    /// sent as written, so use [`FeedOffer::personalized`] for those.
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
            test: false,
            trigger: spec.trigger.clone(),
            priority: spec.priority,
            variants: spec
                .variants
                .iter()
                .map(|variant| FeedVariant::merged(variant, spec))
                .collect(),
            holdout_percent: spec.holdout_percent,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Where a click goes (may hold merge tags in its query).
    #[serde(with = "crate::http_url::link")]
    pub link: HttpUrl,
    /// The button text, or `null`.
    pub link_text: Option<ButtonText>,
    /// The template data object as JSON text (as documented), e.g.
    /// `{"alignment":"center","bgColor":"#736969","btnColor":"#1890bf","btnTextColor":"#fff","textColor":"#000","gradient":false}`.
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
    /// Name, tags, segments and translations.
    #[serde(flatten)]
    pub extras: OfferExtras,
    /// Trigger, priority, variants and holdout.
    #[serde(flatten)]
    pub campaign: OfferCampaign,
    /// When it was created.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was last updated.
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// The offer fields of SPEC §9 as partner answers carry them: `trigger` (or `null`: on
/// entry), `priority`, `variants` (as given: weight and the fields that differ) and
/// `holdoutPercent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferCampaign {
    /// Shown after this event (`null`: on entry).
    #[serde(default)]
    pub trigger: Option<Trigger>,
    /// Higher wins when several pop-ups qualify at once (-1000..=1000).
    #[serde(default)]
    pub priority: i16,
    /// The A/B variants (empty: none).
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// The share of users (percent, 0–50) who see nothing of this offer.
    #[serde(default)]
    pub holdout_percent: u8,
}

impl From<&OfferSpec> for OfferCampaign {
    fn from(spec: &OfferSpec) -> Self {
        Self {
            trigger: spec.trigger.clone(),
            priority: spec.priority,
            variants: spec.variants.clone(),
            holdout_percent: spec.holdout_percent,
        }
    }
}

/// The offer fields of SPEC §7 that partner answers carry (never the feed): `name` (or
/// `null`), `tags`, `segmentIds`, `excludeSegmentIds`, `translations`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferExtras {
    /// The internal name (never shown to users), or `null`.
    #[serde(default)]
    pub name: Option<OfferName>,
    /// Tags for finding offers (`GET /external/offer?tag=…`).
    #[serde(default)]
    pub tags: Vec<OfferTag>,
    /// The user must be in at least one of these segments (empty: no constraint).
    #[serde(default)]
    pub segment_ids: Vec<i64>,
    /// The user must be in none of these segments.
    #[serde(default)]
    pub exclude_segment_ids: Vec<i64>,
    /// Texts and picture per language (`{"de": {"title", "text", "linkText", "pic"}}`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Translation>))]
    pub translations: BTreeMap<LanguageTag, Translation>,
}

impl From<&OfferSpec> for OfferExtras {
    fn from(spec: &OfferSpec) -> Self {
        Self {
            name: spec.name.clone(),
            tags: spec.tags.clone(),
            segment_ids: spec.segment_ids.clone(),
            exclude_segment_ids: spec.exclude_segment_ids.clone(),
            translations: spec.translations.clone(),
        }
    }
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
            extras: OfferExtras::from(spec),
            campaign: OfferCampaign::from(spec),
            created_at: offer.created_at,
            updated_at: offer.updated_at,
        }
    }
}

impl From<Offer> for PartnerOffer {
    fn from(offer: Offer) -> Self {
        Self::from(&offer)
    }
}

/// An offer in the shape of the documented PATCH answer's `advertisement` (seed 002), with
/// the offer's `id` and `updatedAt` added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Advertisement {
    /// The title, or `null`.
    pub title: Option<Title>,
    /// The body text, or `null`.
    pub text: Option<BodyText>,
    /// The picture, or `null`.
    pub pic: Option<HttpUrl>,
    /// Where a click goes (may hold merge tags in its query).
    #[serde(with = "crate::http_url::link")]
    pub link: HttpUrl,
    /// The button text, or `null`.
    pub link_text: Option<ButtonText>,
    /// The layout code.
    pub template: Template,
    /// The picture the template shows: `pic` for the image templates (11–14), `null` for
    /// the text template (10).
    pub template_pic: Option<HttpUrl>,
    /// The template data object as JSON text.
    pub template_data: String,
    /// When it starts being shown: the offer's `startTime`.
    #[serde(with = "crate::time::rfc3339")]
    pub send_time: DateTime<Utc>,
    /// When it stops being shown: the offer's `endTime` (`null`: never).
    #[serde(with = "crate::time::rfc3339_opt", default)]
    pub delete_time: Option<DateTime<Utc>>,
    /// `scheduled`, `live` or `ended` when the answer was made.
    pub status: ScheduleStatus,
    /// Warnings about the saved offer, e.g. ids the project has not seen, or an image whose
    /// proportions do not suit the template. Empty when all is well.
    #[serde(default)]
    pub messages: Vec<String>,
    /// When it was created.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Server-assigned id (not in the documented example).
    pub id: i64,
    /// When it was last updated (not in the documented example).
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    /// Name, tags, segments and translations (not in the documented example).
    #[serde(flatten)]
    pub extras: OfferExtras,
    /// Trigger, priority, variants and holdout (not in the documented example).
    #[serde(flatten)]
    pub campaign: OfferCampaign,
}

impl Advertisement {
    /// `offer` as the documented `advertisement`, its status at `now`, with `messages`.
    pub fn new(offer: &Offer, now: DateTime<Utc>, messages: Vec<String>) -> Self {
        let spec = &offer.spec;
        Self {
            title: spec.title.clone(),
            text: spec.text.clone(),
            pic: spec.pic.clone(),
            link: spec.link.clone(),
            link_text: spec.link_text.clone(),
            template: spec.template,
            template_pic: spec.pic.clone().filter(|_| spec.template != Template::Text),
            template_data: serde_json::to_string(&spec.template_data).unwrap_or_default(),
            send_time: spec.start_time,
            delete_time: spec.end_time,
            status: schedule_status(spec.start_time, spec.end_time, now),
            messages,
            created_at: offer.created_at,
            id: offer.id,
            updated_at: offer.updated_at,
            extras: OfferExtras::from(spec),
            campaign: OfferCampaign::from(spec),
        }
    }
}

/// The answer to create (`201`) and update (`200`): the offer twice, as documented for each
/// (`offer` in the create example, `advertisement` in the PATCH example), and which of its
/// ids the project knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveOfferResponse {
    /// The offer as stored.
    pub offer: PartnerOffer,
    /// The same offer in the documented PATCH answer's shape, with its status and warnings.
    pub advertisement: Advertisement,
    /// Room ids the project has seen or registered.
    #[serde(default)]
    pub available_external_room_ids: Vec<String>,
    /// Room ids the project has not seen (still stored).
    #[serde(default)]
    pub unavailable_external_room_ids: Vec<String>,
    /// User ids the project has seen or registered.
    #[serde(default)]
    pub available_external_user_ids: Vec<String>,
    /// User ids the project has not seen (still stored).
    #[serde(default)]
    pub unavailable_external_user_ids: Vec<String>,
}

/// A listed offer (`GET /external/offer`): the documented offer fields plus its all-time
/// figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListedOffer {
    /// The offer.
    #[serde(flatten)]
    pub offer: PartnerOffer,
    /// Its all-time figures.
    pub stats: StatsSummary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Audience, OfferSpec};
    use chrono::TimeZone;
    use serde_json::json;

    fn banner() -> Offer {
        let at = Utc.with_ymd_and_hms(2024, 5, 21, 9, 30, 0).unwrap();
        Offer {
            created_at: at,
            updated_at: at + chrono::Duration::hours(1),
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
    fn feed_offer_campaign_fields() {
        let mut offer = banner();
        offer.spec.priority = -3;
        offer.spec.holdout_percent = 10;
        offer.spec.trigger =
            Some(Trigger::parse(&json!({"event": "deposit_failed", "delayMS": 500})).unwrap());
        offer.spec.variants = vec![
            Variant {
                content: Translation {
                    pic: Some(HttpUrl::parse("https://a.example/b.png").unwrap()),
                    ..Translation::default()
                },
                ..Variant::weighted(60)
            },
            Variant::weighted(40),
        ];
        let feed = FeedOffer::from(&offer);
        let value = serde_json::to_value(&feed).unwrap();
        assert_eq!(
            value["trigger"],
            json!({"event": "deposit_failed", "conditions": [], "delayMS": 500})
        );
        assert_eq!(
            (&value["priority"], &value["holdoutPercent"]),
            (&json!(-3), &json!(10))
        );
        assert_eq!(value["variants"][0]["weight"], 60);
        assert_eq!(value["variants"][0]["pic"], "https://a.example/b.png");
        assert_eq!(value["variants"][1]["pic"], "https://watchers.io/hand.webp");
        assert_eq!(value["variants"][1]["templateData"]["bgColor"], "#ffffff");
        let back: FeedOffer = serde_json::from_value(value).unwrap();
        assert_eq!(back, feed);
        assert_eq!(feed.weights(), [60, 40]);
        let shown = feed.clone().with_variant(Some(0));
        assert_eq!(shown.pic.unwrap().as_str(), "https://a.example/b.png");
        assert_eq!(
            feed.clone().with_variant(Some(7)),
            feed,
            "no such variant: unchanged"
        );
        let partner = serde_json::to_value(PartnerOffer::from(&offer)).unwrap();
        assert_eq!(
            partner["variants"],
            json!([{"weight": 60, "pic": "https://a.example/b.png"}, {"weight": 40}])
        );
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
                "type": "USER", "externalRoomIds": [], "externalUserIds": ["u1"],
                "name": null, "tags": [], "segmentIds": [], "excludeSegmentIds": [],
                "translations": {},
                "trigger": null, "priority": 0, "variants": [], "holdoutPercent": 0,
                "createdAt": "2024-05-21T09:30:00.000Z", "updatedAt": "2024-05-21T10:30:00.000Z"
            })
        );
        let text = serde_json::to_string(&PartnerOffer::from(&banner())).unwrap();
        assert!(
            text.starts_with("{\"id\":7,\"pic\":"),
            "documented field order"
        );
    }

    #[test]
    fn advertisement_is_the_documented_patch_shape() {
        let offer = banner();
        let before = offer.spec.start_time - chrono::Duration::seconds(1);
        let value = serde_json::to_value(Advertisement::new(
            &offer,
            before,
            vec!["user `u1` is not known to the project".into()],
        ))
        .unwrap();
        let documented = [
            "title",
            "text",
            "pic",
            "link",
            "linkText",
            "template",
            "templatePic",
            "templateData",
            "sendTime",
            "deleteTime",
            "status",
            "messages",
            "createdAt",
        ];
        for key in documented {
            assert!(value.get(key).is_some(), "{key} missing");
        }
        assert_eq!(value["sendTime"], "2024-05-22T12:00:01.000Z");
        assert_eq!(value["deleteTime"], serde_json::Value::Null);
        assert_eq!(value["status"], "scheduled");
        assert_eq!(value["templatePic"], "https://watchers.io/hand.webp");
        assert_eq!(
            value["messages"][0],
            "user `u1` is not known to the project"
        );
        assert_eq!(value["createdAt"], "2024-05-21T09:30:00.000Z");
        let text = serde_json::to_string(&Advertisement::new(&offer, before, Vec::new())).unwrap();
        assert!(
            text.starts_with("{\"title\":null,\"text\":null,\"pic\":"),
            "documented order"
        );
        let live = Advertisement::new(&offer, offer.spec.start_time, Vec::new());
        assert_eq!(live.status, ScheduleStatus::Live);
        let mut text_offer = offer;
        text_offer.spec.template = Template::Text;
        assert_eq!(
            Advertisement::new(&text_offer, before, Vec::new()).template_pic,
            None
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
