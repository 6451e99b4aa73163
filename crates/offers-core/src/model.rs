//! The offer: enums, [`TemplateData`], [`Audience`], [`OfferSpec`] and [`Offer`].
//!
//! Every field is a validated type, so an `OfferSpec` that exists is a valid offer's
//! content (apart from cross-field rules, which [`crate::validate()`] enforces when one is
//! built from input). The wire shapes [`FeedOffer`] and [`PartnerOffer`] live in
//! [`crate::api`] and are re-exported here.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::api::{FeedOffer, PartnerOffer};
pub use crate::campaign::{Trigger, Variant};
pub use crate::color::{CssColor, GradientDirection};
use crate::error::ParseError;
pub use crate::http_url::HttpUrl;
pub use crate::language::LanguageTag;
pub use crate::profile::OfferTag;
pub use crate::text::{BodyText, ButtonText, ExternalId, OfferName, Title};

/// The reason given for a template code outside 10–14.
pub const TEMPLATE_REASON: &str = "must be an integer between 10 and 14";

/// How far an image's width / height ratio may be from its template's, in percent (±2 %).
pub const PROPORTION_TOLERANCE_PERCENT: u32 = 2;

/// An offer's layout. Serialized as its integer code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Template {
    /// 10: text only (title, text, button).
    #[default]
    Text,
    /// 11: image only — a 600×240 banner; the whole banner is the link (no button).
    Banner,
    /// 12: image (600×400) above the text.
    ImageAbove,
    /// 13: image (600×400) beside the text.
    ImageBeside,
    /// 14: image (600×400) behind the text.
    ImageBehind,
}

/// The largest uploaded image, in bytes: 10 MiB (seed 000: "not more than 10 MB"). The API
/// refuses larger uploads and the Studio warns before sending one.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

impl Template {
    /// Every template, in code order.
    pub const ALL: [Self; 5] = [
        Self::Text,
        Self::Banner,
        Self::ImageAbove,
        Self::ImageBeside,
        Self::ImageBehind,
    ];

    /// The wire code, 10–14.
    pub const fn code(self) -> u8 {
        match self {
            Self::Text => 10,
            Self::Banner => 11,
            Self::ImageAbove => 12,
            Self::ImageBeside => 13,
            Self::ImageBehind => 14,
        }
    }

    /// The template with wire code `code`, if any.
    pub const fn from_code(code: i64) -> Option<Self> {
        match code {
            10 => Some(Self::Text),
            11 => Some(Self::Banner),
            12 => Some(Self::ImageAbove),
            13 => Some(Self::ImageBeside),
            14 => Some(Self::ImageBehind),
            _ => None,
        }
    }

    /// Whether a title and a text are required (10, 12, 13, 14).
    pub const fn needs_text(self) -> bool {
        !matches!(self, Self::Banner)
    }

    /// Whether the offer has a button, so `linkText` is required (10, 12, 13, 14). The
    /// banner (11) has no button: the whole banner is the link.
    pub const fn has_button(self) -> bool {
        !matches!(self, Self::Banner)
    }

    /// Whether a picture is required (11–14).
    pub const fn needs_pic(self) -> bool {
        !matches!(self, Self::Text)
    }

    /// The picture's proportions: 600×240 for the banner, 600×400 for text + picture.
    pub const fn aspect_ratio(self) -> Option<(u32, u32)> {
        match self {
            Self::Text => None,
            Self::Banner => Some((600, 240)),
            Self::ImageAbove | Self::ImageBeside | Self::ImageBehind => Some((600, 400)),
        }
    }

    /// A sentence when an image of `width`×`height` pixels does not have this template's
    /// proportions (within [`PROPORTION_TOLERANCE_PERCENT`]), e.g. "the image is 800×800; template
    /// 11 expects 600×240 proportions". `None` when it fits, or for the text template.
    pub fn proportion_warning(self, width: u32, height: u32) -> Option<String> {
        let (w, h) = self.aspect_ratio()?;
        // |(width / height) / (w / h) - 1| <= tolerance, in integers (exact at the bounds).
        let actual = u64::from(width) * u64::from(h);
        let expected = u64::from(height) * u64::from(w);
        let fits = height > 0
            && actual.abs_diff(expected) * 100
                <= u64::from(PROPORTION_TOLERANCE_PERCENT) * expected;
        (!fits).then(|| {
            format!(
                "the image is {width}×{height}; template {} expects {w}×{h} proportions",
                self.code()
            )
        })
    }

    /// A short English label, e.g. for the Studio's template picker.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Banner => "Banner (image only)",
            Self::ImageAbove => "Image above text",
            Self::ImageBeside => "Image beside text",
            Self::ImageBehind => "Image behind text",
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl FromStr for Template {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<i64>()
            .ok()
            .and_then(Self::from_code)
            .ok_or_else(|| ParseError::new(TEMPLATE_REASON))
    }
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = i64::deserialize(deserializer)?;
        Self::from_code(code).ok_or_else(|| {
            serde::de::Error::custom(format_args!("template {TEMPLATE_REASON} (got {code})"))
        })
    }
}

/// A string enum with serde wire names, case-insensitive `parse`, `as_str` and `ALL`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $reason:expr,
        { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        // The schema (wire names) is in `crate::schema`: utoipa's derive cannot read a
        // macro's `rename`.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }

            /// Parses the wire name (trimmed, case-insensitive).
            pub fn parse(input: &str) -> Result<Self, String> {
                let trimmed = input.trim();
                $(
                    if trimmed.eq_ignore_ascii_case($wire) {
                        return Ok(Self::$variant);
                    }
                )+
                Err($crate::reason::reason($reason))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).map_err(ParseError::from)
            }
        }
    };
}

wire_enum! {
    /// Horizontal alignment of everything in the offer.
    Alignment, "must be left, center or right", {
        Left => "left",
        #[default]
        Center => "center",
        Right => "right",
    }
}

wire_enum! {
    /// Where the widget shows the offer.
    ViewType, "must be POPUP or IN_FEED", {
        /// Over the chat, one at a time, with a close button (the default).
        #[default]
        Popup => "POPUP",
        /// Inline among the chat messages.
        InFeed => "IN_FEED",
    }
}

wire_enum! {
    /// How often an offer shown several times (`showMultipleTimes`) may reappear.
    ShowFrequency, "must be ON_ENTRY or DAILY", {
        /// At most once each time the user enters a chat (the default).
        #[default]
        OnEntry => "ON_ENTRY",
        /// At most once per local calendar day.
        Daily => "DAILY",
    }
}

wire_enum! {
    /// Who an offer is for.
    AudienceType, "must be GLOBAL, ROOM or USER", {
        /// All users in all rooms (the default).
        #[default]
        Global => "GLOBAL",
        /// All users in the listed rooms.
        Room => "ROOM",
        /// Only the listed users, in any room.
        User => "USER",
    }
}

/// The offer's colors and alignment (`templateData` on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateData {
    /// Alignment of all text and elements.
    pub alignment: Alignment,
    /// Background color.
    pub bg_color: CssColor,
    /// Button background color.
    pub btn_color: CssColor,
    /// Button text color.
    pub btn_text_color: CssColor,
    /// Text color.
    pub text_color: CssColor,
    /// Whether the background is a linear gradient (then the three gradient fields are set).
    pub gradient: bool,
    /// Gradient start color.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_from: Option<CssColor>,
    /// Gradient end color.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_to: Option<CssColor>,
    /// Gradient direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_direction: Option<GradientDirection>,
}

impl Default for TemplateData {
    /// Centered, black text on white, a `#1890bf` button with white text, no gradient.
    fn default() -> Self {
        let color = CssColor::from_trusted;
        Self {
            alignment: Alignment::Center,
            bg_color: color("#ffffff"),
            btn_color: color("#1890bf"),
            btn_text_color: color("#ffffff"),
            text_color: color("#000000"),
            gradient: false,
            gradient_from: None,
            gradient_to: None,
            gradient_direction: None,
        }
    }
}

impl TemplateData {
    /// The CSS `background` value: `linear-gradient(dir, from, to)` when the gradient is
    /// on and complete, otherwise the background color. Safe to put in a style
    /// attribute: every part is a validated value.
    pub fn background_css(&self) -> String {
        match (
            self.gradient,
            &self.gradient_direction,
            &self.gradient_from,
            &self.gradient_to,
        ) {
            (true, Some(direction), Some(from), Some(to)) => {
                format!("linear-gradient({direction}, {from}, {to})")
            }
            _ => self.bg_color.as_str().to_owned(),
        }
    }
}

/// Who sees an offer: everyone, the users in some rooms, or some users anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// `GLOBAL`, `ROOM` or `USER` (`type` on the wire).
    #[serde(rename = "type", default)]
    pub kind: AudienceType,
    /// The rooms of a `ROOM` offer (`externalRoomIds`); empty otherwise.
    #[serde(rename = "externalRoomIds", default)]
    pub rooms: Vec<ExternalId>,
    /// The users of a `USER` offer (`externalUserIds`); empty otherwise.
    #[serde(rename = "externalUserIds", default)]
    pub users: Vec<ExternalId>,
}

impl Audience {
    /// All users in all rooms.
    pub fn global() -> Self {
        Self::default()
    }

    /// All users in `rooms`.
    pub fn rooms(rooms: Vec<ExternalId>) -> Self {
        Self {
            kind: AudienceType::Room,
            rooms,
            users: Vec::new(),
        }
    }

    /// Only `users`, in any room.
    pub fn users(users: Vec<ExternalId>) -> Self {
        Self {
            kind: AudienceType::User,
            rooms: Vec::new(),
            users,
        }
    }
}

/// A fully valid offer's content, without its id. Build one from input with
/// [`crate::validate()`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferSpec {
    /// The layout.
    pub template: Template,
    /// The title (required for every template but the banner).
    pub title: Option<Title>,
    /// The body text (required for every template but the banner).
    pub text: Option<BodyText>,
    /// The button text (required where the template has a button).
    pub link_text: Option<ButtonText>,
    /// Where a click goes (merge tags allowed in its query, see [`HttpUrl::parse_link`]).
    #[serde(with = "crate::http_url::link")]
    pub link: HttpUrl,
    /// The picture (required for templates 11–14).
    pub pic: Option<HttpUrl>,
    /// Colors and alignment.
    pub template_data: TemplateData,
    /// Pop-up or in-feed.
    pub view_type: ViewType,
    /// Shown from this instant …
    #[serde(with = "crate::time::rfc3339")]
    pub start_time: DateTime<Utc>,
    /// … until this instant (exclusive), or forever.
    #[serde(with = "crate::time::rfc3339_opt", default)]
    pub end_time: Option<DateTime<Utc>>,
    /// `false`: at most once per user, ever.
    pub show_multiple_times: bool,
    /// When shown several times: once per entry or once per local day.
    #[serde(rename = "showFrerquency", alias = "showFrequency")]
    pub show_frequency: ShowFrequency,
    /// Wait this long after entry before showing.
    #[serde(rename = "showDelayMS")]
    pub show_delay_ms: u64,
    /// Who sees it.
    pub audience: Audience,
    /// The internal name (never shown to users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<OfferName>,
    /// Tags for finding offers (sorted, without duplicates, at most [`MAX_OFFER_TAGS`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<OfferTag>,
    /// The user must be in at least one of these segments (none: no constraint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segment_ids: Vec<i64>,
    /// The user must be in none of these segments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_segment_ids: Vec<i64>,
    /// Per-language texts and picture; what a translation leaves out falls back to the
    /// offer's own ([`crate::personalize()`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<LanguageTag, Translation>,
    /// Shown after this event (SPEC §9); `None`: on entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// Of the pop-ups that qualify at the same moment the highest priority wins
    /// (-1000..=1000, default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i16,
    /// The A/B variants: none, or 2–5 ([`crate::campaign::variant`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// The share of users (0–50 %) who see nothing of this offer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub holdout_percent: u8,
}

/// Whether a number is zero (its default, left out of stored specs).
pub(crate) fn is_zero<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// The lowest priority.
pub const MIN_PRIORITY: i16 = -1000;
/// The highest priority.
pub const MAX_PRIORITY: i16 = 1000;

/// The most tags an offer may have.
pub const MAX_OFFER_TAGS: usize = 20;
/// The most segments an offer may name in `segmentIds`, and again in `excludeSegmentIds`.
pub const MAX_OFFER_SEGMENTS: usize = 20;
/// The most languages an offer may be translated into.
pub const MAX_TRANSLATIONS: usize = 30;

/// An offer's texts and picture in one language (`translations.<lang>` on the wire); every
/// field is optional and falls back to the offer's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Translation {
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Title>,
    /// The body text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<BodyText>,
    /// The button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_text: Option<ButtonText>,
    /// The picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic: Option<HttpUrl>,
}

impl Translation {
    /// Whether no field is translated.
    pub fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.text.is_none()
            && self.link_text.is_none()
            && self.pic.is_none()
    }
}

impl OfferSpec {
    /// Whether the offer differs per user: merge tags in its title, text, button text or
    /// link (its own or a translation's), or translations. Such an offer is rendered per user
    /// with [`crate::personalize()`]; any other is the same for everyone
    /// ([`FeedOffer::from`]).
    pub fn is_personalized(&self) -> bool {
        !self.translations.is_empty() || self.has_merge_tags()
    }

    /// Whether a text of the offer, of a translation or of a variant (title, text, button
    /// text) or its link holds merge tags.
    pub fn has_merge_tags(&self) -> bool {
        let own = [
            self.title.as_ref().map(Title::as_str),
            self.text.as_ref().map(BodyText::as_str),
            self.link_text.as_ref().map(ButtonText::as_str),
            Some(self.link.as_str()),
        ];
        let translated = self.translations.values();
        let varied = self.variants.iter().map(|v| &v.content);
        own.into_iter()
            .chain(translated.chain(varied).flat_map(|t| {
                [
                    t.title.as_ref().map(Title::as_str),
                    t.text.as_ref().map(BodyText::as_str),
                    t.link_text.as_ref().map(ButtonText::as_str),
                ]
            }))
            .flatten()
            .any(crate::merge::has_merge_tags)
    }

    /// Whether the offer names segments (`segmentIds` or `excludeSegmentIds`), so who sees it
    /// depends on [`crate::segment::segments_allow`].
    pub fn uses_segments(&self) -> bool {
        !self.segment_ids.is_empty() || !self.exclude_segment_ids.is_empty()
    }
    /// A valid example (the fixture of tests and docs): a banner pop-up for everyone, linking
    /// to `https://a.example/` with the picture `https://a.example/p.png`, default colors,
    /// shown on every entry from 2024-01-01T00:00:00Z without end. Change the fields that
    /// matter with struct update syntax: `OfferSpec { end_time, ..OfferSpec::example() }`.
    pub fn example() -> Self {
        Self {
            template: Template::Banner,
            title: None,
            text: None,
            link_text: None,
            link: crate::HttpUrl::parse("https://a.example/").expect("a valid link"),
            pic: Some(crate::HttpUrl::parse("https://a.example/p.png").expect("a valid picture")),
            template_data: TemplateData::default(),
            view_type: ViewType::Popup,
            start_time: DateTime::from_timestamp(1_704_067_200, 0).expect("2024-01-01 is in range"),
            end_time: None,
            show_multiple_times: true,
            show_frequency: ShowFrequency::OnEntry,
            show_delay_ms: 0,
            audience: Audience::global(),
            name: None,
            tags: Vec::new(),
            segment_ids: Vec::new(),
            exclude_segment_ids: Vec::new(),
            translations: BTreeMap::new(),
            trigger: None,
            priority: 0,
            variants: Vec::new(),
            holdout_percent: 0,
        }
    }
}

/// A stored offer: its server-assigned id, its content, and when it was created and last
/// changed (server clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// Server-assigned id.
    pub id: i64,
    /// The content.
    #[serde(flatten)]
    pub spec: OfferSpec,
    /// When it was created.
    #[serde(rename = "createdAt", with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was last updated (its creation, until then).
    #[serde(rename = "updatedAt", with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl Offer {
    /// A new offer `id` with `spec`, created (and so last updated) at `at`.
    pub fn created(id: i64, spec: OfferSpec, at: DateTime<Utc>) -> Self {
        Self {
            id,
            spec,
            created_at: at,
            updated_at: at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_codes_and_capabilities() {
        for (template, code) in Template::ALL.iter().zip(10u8..) {
            assert_eq!(template.code(), code);
            assert_eq!(Template::from_code(i64::from(code)), Some(*template));
        }
        assert_eq!(Template::from_code(9), None);
        assert_eq!(Template::from_code(15), None);
        assert_eq!(Template::from_code(-10), None);

        assert!(Template::Text.needs_text() && Template::Text.has_button());
        assert!(!Template::Text.needs_pic());
        assert!(!Template::Banner.needs_text() && !Template::Banner.has_button());
        assert!(Template::Banner.needs_pic());
        for t in [
            Template::ImageAbove,
            Template::ImageBeside,
            Template::ImageBehind,
        ] {
            assert!(t.needs_text() && t.has_button() && t.needs_pic());
            assert_eq!(t.aspect_ratio(), Some((600, 400)));
        }
        assert_eq!(Template::Banner.aspect_ratio(), Some((600, 240)));
        assert_eq!(Template::Text.aspect_ratio(), None);
    }

    #[test]
    fn image_proportions() {
        assert_eq!(Template::Banner.proportion_warning(600, 240), None);
        assert_eq!(Template::Banner.proportion_warning(1200, 480), None);
        // 2.5 ± 2 %: 2.45 and 2.55 fit, 2.44 and 2.56 do not.
        assert_eq!(Template::Banner.proportion_warning(245, 100), None);
        assert_eq!(Template::Banner.proportion_warning(255, 100), None);
        assert!(Template::Banner.proportion_warning(244, 100).is_some());
        assert!(Template::Banner.proportion_warning(256, 100).is_some());
        assert_eq!(
            Template::Banner.proportion_warning(800, 800).as_deref(),
            Some("the image is 800×800; template 11 expects 600×240 proportions")
        );
        for t in [
            Template::ImageAbove,
            Template::ImageBeside,
            Template::ImageBehind,
        ] {
            assert_eq!(t.proportion_warning(900, 600), None);
            assert!(t.proportion_warning(600, 240).is_some());
        }
        assert_eq!(
            Template::ImageBehind.proportion_warning(600, 0).as_deref(),
            Some("the image is 600×0; template 14 expects 600×400 proportions")
        );
        assert_eq!(Template::Text.proportion_warning(1, 1000), None);
    }

    #[test]
    fn template_serde_is_an_integer() {
        assert_eq!(serde_json::to_string(&Template::ImageBeside).unwrap(), "13");
        assert_eq!(
            serde_json::from_str::<Template>("11").unwrap(),
            Template::Banner
        );
        assert!(serde_json::from_str::<Template>("15").is_err());
        assert!(serde_json::from_str::<Template>("\"10\"").is_err());
        assert_eq!("12".parse::<Template>().unwrap(), Template::ImageAbove);
        assert_eq!(
            "99".parse::<Template>().unwrap_err().reason(),
            TEMPLATE_REASON
        );
    }

    #[test]
    fn string_enums() {
        assert_eq!(
            serde_json::to_string(&ViewType::InFeed).unwrap(),
            "\"IN_FEED\""
        );
        assert_eq!(ViewType::default(), ViewType::Popup);
        assert_eq!(ViewType::parse("in_feed"), Ok(ViewType::InFeed));
        assert_eq!(
            ViewType::parse("feed"),
            Err("must be POPUP or IN_FEED".to_owned())
        );
        assert_eq!(
            serde_json::to_string(&ShowFrequency::OnEntry).unwrap(),
            "\"ON_ENTRY\""
        );
        assert_eq!(ShowFrequency::default(), ShowFrequency::OnEntry);
        assert_eq!(ShowFrequency::parse(" daily "), Ok(ShowFrequency::Daily));
        assert_eq!(
            ShowFrequency::parse("GLOBAL"),
            Err("must be ON_ENTRY or DAILY".to_owned())
        );
        assert_eq!(AudienceType::default(), AudienceType::Global);
        assert_eq!(AudienceType::parse("user"), Ok(AudienceType::User));
        assert_eq!(
            AudienceType::parse("ALL"),
            Err("must be GLOBAL, ROOM or USER".to_owned())
        );
        assert_eq!(serde_json::to_string(&Alignment::Left).unwrap(), "\"left\"");
        assert_eq!(Alignment::default(), Alignment::Center);
        assert_eq!(
            Alignment::parse("middle"),
            Err("must be left, center or right".to_owned())
        );
        assert_eq!("RIGHT".parse::<Alignment>().unwrap(), Alignment::Right);
        assert_eq!(AudienceType::ALL.len(), 3);
        assert_eq!(AudienceType::Room.to_string(), "ROOM");
    }

    #[test]
    fn template_data_defaults_and_wire_names() {
        let data = TemplateData::default();
        assert_eq!(
            serde_json::to_value(&data).unwrap(),
            serde_json::json!({
                "alignment": "center", "bgColor": "#ffffff", "btnColor": "#1890bf",
                "btnTextColor": "#ffffff", "textColor": "#000000", "gradient": false
            })
        );
        let partial: TemplateData = serde_json::from_str(r##"{"bgColor": "#000"}"##).unwrap();
        assert_eq!(partial.bg_color.as_str(), "#000");
        assert_eq!(partial.btn_color.as_str(), "#1890bf");
        assert!(serde_json::from_str::<TemplateData>(r#"{"bgColor": "url(x)"}"#).is_err());
        assert_eq!(data.background_css(), "#ffffff");
        let gradient = TemplateData {
            gradient: true,
            gradient_from: Some(CssColor::parse("#60e753").unwrap()),
            gradient_to: Some(CssColor::parse("#e4efe7").unwrap()),
            gradient_direction: Some(GradientDirection::parse("135deg").unwrap()),
            ..TemplateData::default()
        };
        assert_eq!(
            gradient.background_css(),
            "linear-gradient(135deg, #60e753, #e4efe7)"
        );
    }

    #[test]
    fn audience_constructors() {
        let id = ExternalId::parse("r1").unwrap();
        assert_eq!(Audience::global().kind, AudienceType::Global);
        let rooms = Audience::rooms(vec![id.clone()]);
        assert_eq!((rooms.kind, rooms.rooms.len()), (AudienceType::Room, 1));
        let users = Audience::users(vec![id]);
        assert_eq!((users.kind, users.users.len()), (AudienceType::User, 1));
        assert_eq!(
            serde_json::to_value(Audience::global()).unwrap(),
            serde_json::json!({"type": "GLOBAL", "externalRoomIds": [], "externalUserIds": []})
        );
    }
}
