//! The Offers domain, shared by the API server, the embeddable widget and the Studio.
//!
//! Offers are marketing pop-ups (or in-feed cards) shown in web chats. This crate holds
//! everything about an offer that does not need I/O, so the server (native) and the
//! browser bundle (`wasm32-unknown-unknown`) run exactly the same rules:
//!
//! - [`model`]: the offer ([`OfferSpec`], [`Offer`]) built only from validated values;
//! - [`access`]: areas, levels, grants, the built-in roles and the one check [`access::allows`]
//!   (SPEC §8);
//! - [`mod@api`]: every request, response and error body of the HTTP API, once, for the API,
//!   the Studio and the widget ([`FeedOffer`] for the widget, [`PartnerOffer`] for the
//!   partner API, …), with `utoipa` schemas behind the `openapi` feature;
//! - [`text`], [`http_url`], [`color`]: "parse, don't validate" newtypes ([`Title`],
//!   [`HttpUrl`], [`CssColor`], …) that cannot hold an invalid value, not even when
//!   deserialized;
//! - [`draft`] and [`mod@validate`]: loosely typed input (JSON, multipart form fields, a Studio
//!   form, a PATCH body) and the one function turning it into an [`OfferSpec`] or into
//!   every field error at once ([`FieldErrors`]);
//! - [`targeting`]: who may see an offer and when it is live;
//! - [`campaign`]: triggers on the host's events, A/B variants and the holdout, caps across
//!   offers and priority (SPEC §9);
//! - [`frequency`]: whether to show an offer now, given what the user has already seen;
//! - [`mod@explain`]: every rule's verdict on one offer for one visitor ("why (not) shown"),
//!   segments and personalization included ([`explain_with`]), and the scheduled / live /
//!   ended status;
//! - [`csv_audience`]: user ids imported from a CSV file;
//! - [`profile`]: user profiles (language, tags, typed attributes), one at a time or in bulk
//!   (JSON or CSV, with per-row rejections);
//! - [`segment`]: segments (rules over profiles, or lists of user ids), their evaluation
//!   ([`rules_match`], [`in_segment`]) and the offer's segment rule ([`segments_allow`]);
//! - [`merge`]: merge tags (`{{firstName|there}}`) parsed, measured and rendered;
//! - [`language`]: language tags and the choice of an offer's translation
//!   ([`best_translation`]);
//! - [`mod@personalize`]: an offer as one user sees it (translation, then merge tags);
//! - [`stats`]: Wilson intervals, the two-proportion test and the A/B verdict ([`stats::compare`]);
//! - [`limits`]: the documented size limits of ids and requests;
//! - [`strict_json`]: JSON read with repeated keys and out-of-range numbers named by field.
//!
//! Nothing here reads the clock, touches the network or storage, or panics on bad input:
//! the current time is always a parameter.

pub mod access;
pub mod api;
pub mod campaign;
pub mod color;
pub mod csv_audience;
pub mod draft;
pub mod error;
pub mod explain;
pub mod fields;
pub mod frequency;
pub mod http_url;
pub mod language;
pub mod limits;
pub mod merge;
pub mod model;
pub mod personalize;
pub mod profile;
pub mod reason;
pub mod segment;
pub mod stats;
pub mod strict_json;
pub mod targeting;
pub mod text;
pub mod time;
pub mod validate;

mod coerce;
mod named_colors;
mod newtype;
#[cfg(feature = "openapi")]
pub mod schema;

pub use api::{FeedOffer, PartnerOffer};
pub use campaign::{Assignment, EventName, PropCondition, PropKey, Trigger, Variant, assign};
pub use color::{CssColor, GradientDirection, Rgba};
pub use csv_audience::{CsvAudience, CsvRowError, parse_user_ids};
pub use draft::OfferDraft;
pub use error::{FieldErrors, ParseError};
pub use explain::{CapsView, explain_across, explain_campaign};
pub use explain::{
    Check, ExplainVisitor, Explanation, Rule, ScheduleStatus, explain, explain_with,
    schedule_status,
};
pub use frequency::{
    Decision, DisplayHistory, Schedule, SkipReason, decide, decide_feed, popup_order,
    record_display,
};
pub use http_url::HttpUrl;
pub use language::{LanguageTag, best_translation};
pub use merge::{MergeText, MergeVars, MissingVariable, has_merge_tags, render_link_query};
pub use model::{
    Alignment, Audience, AudienceType, Offer, OfferSpec, ShowFrequency, Template, TemplateData,
    Translation, ViewType,
};
pub use personalize::{Personalized, personalize};
pub use profile::{
    AttrKey, AttrValue, BulkProfiles, OfferTag, Profile, ProfileRow, ProfileTag, RowRejection,
    parse_profiles_csv, parse_profiles_json, parse_profiles_json_elements,
};
pub use segment::{
    Condition, Field, Match, Op, Operand, SegmentDef, SegmentName, SegmentRules, SegmentSpec,
    SegmentVerdict, in_segment, rules_match, segments_allow,
};
pub use targeting::{
    AudienceKey, audience_keys, in_audience, in_audience_by, is_live, visitor_keys,
};
pub use text::{
    BodyText, ButtonText, ExternalId, OfferName, Title, decimal, decimal_u64, parse_decimal,
    parse_digits,
};
pub use time::{format_timestamp, parse_timestamp};
pub use validate::{validate, validate_field};
