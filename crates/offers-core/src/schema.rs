//! OpenAPI schemas (`utoipa`) of the validated value types, behind the `openapi` feature.
//!
//! The wire types of [`crate::api`] derive `ToSchema` themselves; the values they are built
//! from ("parse, don't validate" newtypes, the template code, the wire enums) serialize as
//! plain strings or an integer, so their schemas are written here, once, from the same
//! constants and tables the parsers use: the length limits of [`crate::text`] and
//! [`crate::http_url`], the template codes of [`Template::ALL`], the wire names of each enum's
//! `ALL`, the color names of [`crate::color::named_color_names`].
//!
//! Where a parser also trims or ignores case, the schema describes the canonical form (what
//! every answer carries); the parser accepts a little more.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::access::{ROLE_NAME_MAX_CHARS, RoleName};
use crate::color::{CssColor, GradientDirection, named_color_names};
use crate::http_url::{HttpUrl, MAX_URL_CHARS};
use crate::language::{LANGUAGE_TAG_MAX_CHARS, LanguageTag};
use crate::model::{Alignment, AudienceType, ShowFrequency, Template, ViewType};
use crate::profile::{
    ATTR_KEY_MAX_CHARS, ATTR_TEXT_MAX_CHARS, AttrKey, AttrValue, ProfileTag, TAG_MAX_CHARS,
};
use crate::segment::{Condition, MAX_OPERAND_VALUES, SEGMENT_NAME_MAX_CHARS, SegmentName};
use crate::text::{
    BODY_MAX_CHARS, BUTTON_MAX_CHARS, BodyText, ButtonText, EXTERNAL_ID_MAX_CHARS, ExternalId,
    OFFER_NAME_MAX_CHARS, OfferName, TITLE_MAX_CHARS, Title,
};

/// Text that is not blank: it holds at least one character that is not white space.
pub const NOT_BLANK_PATTERN: &str = r"\S";

/// An absolute http or https URL (scheme in any case).
pub const HTTP_URL_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$";

/// A language tag in canonical case (`de`, `de-AT`, `zh-Hant-TW`).
pub const LANGUAGE_TAG_PATTERN: &str = r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$";

/// An attribute name.
pub const ATTR_KEY_PATTERN: &str = r"^[A-Za-z][A-Za-z0-9_]{0,63}$";

/// A role's (or a named token's) name.
pub const ROLE_NAME_PATTERN: &str = r"^[a-z0-9_-]{1,40}$";

/// A tag: not blank, no `|`.
pub const TAG_PATTERN: &str = r"^[^|]*\S[^|]*$";

/// The sides a gradient direction names.
const SIDES: &str = "left|right|top|bottom";

/// A string schema: its description, its length bounds in characters, format and pattern.
fn string(
    description: &str,
    (min_length, max_length): (Option<usize>, Option<usize>),
    format: Option<&str>,
    pattern: Option<String>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(min_length)
        .max_length(max_length)
        .format(format.map(|f| SchemaFormat::Custom(f.to_owned())))
        .pattern(pattern)
        .into()
}

/// The pattern of an accepted color as the API answers it (lowercase): `#rgb`, `#rrggbb`,
/// `#rrggbbaa`, `rgb(…)` / `rgba(…)`, `transparent` or one of the CSS color names.
pub fn css_color_pattern() -> String {
    let names: Vec<&str> = named_color_names().collect();
    format!(
        r"^(#([0-9a-f]{{3}}|[0-9a-f]{{6}}|[0-9a-f]{{8}})|rgba?\([0-9., %/+-]+\)|transparent|{})$",
        names.join("|")
    )
}

/// The pattern of a gradient direction as the API answers it: `135deg`, `to right`,
/// `to top left`.
pub fn gradient_direction_pattern() -> String {
    format!(r"^([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)deg|to ({SIDES})( ({SIDES}))?)$")
}

/// `impl ToSchema` for a string newtype: `name => (description, (min, max), format, pattern)`.
macro_rules! string_schemas {
    ($($name:ident => ($description:expr, $bounds:expr, $format:expr, $pattern:expr)),+ $(,)?) => {
        $(
            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    string($description, $bounds, $format, $pattern)
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+
    };
}

string_schemas! {
    Title => (
        "An offer's title: trimmed, not blank, one line, no control, bidi-override or only invisible characters.",
        (Some(1), Some(TITLE_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    BodyText => (
        "An offer's text: trimmed, not blank; line breaks allowed; no other control, bidi-override or only invisible characters.",
        (Some(1), Some(BODY_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    ButtonText => (
        "A button's text: trimmed, not blank, one line, no control, bidi-override or only invisible characters.",
        (Some(1), Some(BUTTON_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    OfferName => (
        "An offer's internal name (never shown to users): trimmed, not blank, one line.",
        (Some(1), Some(OFFER_NAME_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    SegmentName => (
        "A segment's name: trimmed, not blank, one line.",
        (Some(1), Some(SEGMENT_NAME_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    RoleName => (
        "A custom role's name: lowercase letters, digits, `_` and `-`; not `owner`, `editor` or `viewer`.",
        (Some(1), Some(ROLE_NAME_MAX_CHARS)), None, Some(ROLE_NAME_PATTERN.to_owned())
    ),
    ProfileTag => (
        "A tag of a user or an offer: trimmed, not blank, one line, no `|`; case-sensitive.",
        (Some(1), Some(TAG_MAX_CHARS)), None, Some(TAG_PATTERN.to_owned())
    ),
    AttrKey => (
        "A profile attribute's name.",
        (Some(1), Some(ATTR_KEY_MAX_CHARS)), None, Some(ATTR_KEY_PATTERN.to_owned())
    ),
    LanguageTag => (
        "A BCP 47 language tag such as `de`, `de-AT` or `zh-Hant-TW` (answers in canonical case; input in any case).",
        (Some(2), Some(LANGUAGE_TAG_MAX_CHARS)), None, Some(LANGUAGE_TAG_PATTERN.to_owned())
    ),
    ExternalId => (
        "A room or user id of the host chat: trimmed, not blank, no control, bidi-override or only invisible characters.",
        (Some(1), Some(EXTERNAL_ID_MAX_CHARS)), None, Some(NOT_BLANK_PATTERN.to_owned())
    ),
    HttpUrl => (
        "An absolute http or https URL with a host; international host names and paths as typed (an IRI, RFC 3987).",
        (Some(1), Some(MAX_URL_CHARS)), Some("iri"), Some(HTTP_URL_PATTERN.to_owned())
    ),
    CssColor => (
        "A CSS color: `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()`, `transparent` or a CSS color name (answers are lowercase; input may be in any case).",
        (None, None), None, Some(css_color_pattern())
    ),
    GradientDirection => (
        "A linear gradient's direction: an angle such as `135deg`, or `to right`, `to top left`.",
        (None, None), None, Some(gradient_direction_pattern())
    ),
}

/// A string, number or boolean schema (an attribute's value).
fn scalar_schema(description: &str) -> RefOr<Schema> {
    utoipa::openapi::schema::OneOfBuilder::new()
        .description(Some(description))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(ATTR_TEXT_MAX_CHARS)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Number))
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .into()
}

impl PartialSchema for AttrValue {
    fn schema() -> RefOr<Schema> {
        scalar_schema(
            "A profile attribute's value: a text (at most 256 characters), a number or a boolean.",
        )
    }
}

impl ToSchema for AttrValue {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AttrValue")
    }
}

/// A condition object: `field` (matching `field_pattern`), `op` (one of the segment
/// operators) and `value` (one value or a non-empty array).
fn condition_schema(description: &str, field_pattern: &str) -> ObjectBuilder {
    let ops = crate::segment::Op::ALL.iter().map(|op| op.as_str());
    ObjectBuilder::new()
        .description(Some(description))
        .property(
            "field",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(field_pattern)),
        )
        .required("field")
        .property(
            "op",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(ops)),
        )
        .required("op")
        .property(
            "value",
            utoipa::openapi::schema::OneOfBuilder::new()
                .item(scalar_schema("One value"))
                .item(
                    utoipa::openapi::schema::ArrayBuilder::new()
                        .items(scalar_schema("A value"))
                        .min_items(Some(1))
                        .max_items(Some(MAX_OPERAND_VALUES)),
                ),
        )
}

impl PartialSchema for Condition {
    fn schema() -> RefOr<Schema> {
        condition_schema(
            "A segment condition. `field`: `language`, `tag` or `attributes.<key>`; `op`: \
             `eq`, `neq`, `in`, `nin` (a non-empty array), `gt`, `gte`, `lt`, `lte` (a \
             number; attributes only), `exists`, `missing` (no value).",
            r"^(language|tag|attributes\.[A-Za-z][A-Za-z0-9_]{0,63})$",
        )
        .into()
    }
}

impl ToSchema for Condition {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Condition")
    }
}

impl PartialSchema for crate::campaign::Trigger {
    fn schema() -> RefOr<Schema> {
        use crate::campaign::trigger::{
            EVENT_NAME_MAX_CHARS, MAX_TRIGGER_CONDITIONS, MAX_TRIGGER_DELAY_MS,
        };
        let condition = condition_schema(
            "A condition on the event's properties, like a segment condition: `op` `eq`, \
             `neq`, `in`, `nin` (a non-empty array), `gt`, `gte`, `lt`, `lte` (a number), \
             `exists`, `missing` (no value).",
            r"^props\.[A-Za-z0-9_.-]{1,64}$",
        );
        ObjectBuilder::new()
            .description(Some(
                "When the offer shows: after the host reports this event (`Offers.track`) \
                 with properties meeting every condition, `delayMS` later. Absent or null: \
                 on entry.",
            ))
            .property(
                "event",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(EVENT_NAME_MAX_CHARS))
                    .pattern(Some(r"^[A-Za-z0-9_.:-]+$")),
            )
            .required("event")
            .property(
                "conditions",
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(condition)
                    .max_items(Some(MAX_TRIGGER_CONDITIONS)),
            )
            .property(
                "delayMS",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0))
                    .maximum(Some(MAX_TRIGGER_DELAY_MS as f64)),
            )
            .into()
    }
}

impl ToSchema for crate::campaign::Trigger {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Trigger")
    }
}

impl PartialSchema for Template {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some(
                "The layout: 10 text; 11 image only (600×240); 12 image above text; \
                 13 image beside text; 14 image behind text (600×400).",
            ))
            .enum_values(Some(Template::ALL.iter().map(|t| t.code())))
            .into()
    }
}

impl ToSchema for Template {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Template")
    }
}

/// `impl ToSchema` for a wire enum: its wire names (from its `ALL` and `as_str`).
macro_rules! enum_schemas {
    ($($name:ident => $description:expr),+ $(,)?) => {
        $(
            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some($description))
                        .enum_values(Some($name::ALL.iter().map(|v| v.as_str())))
                        .into()
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )+
    };
}

enum_schemas! {
    Alignment => "Horizontal alignment of everything in the offer.",
    ViewType => "Where the widget shows the offer: `POPUP` over the chat (the default), `IN_FEED` among the messages.",
    ShowFrequency => "How often an offer shown several times may reappear: `ON_ENTRY` (each entry, the default) or `DAILY` (once per local day).",
    AudienceType => "Who an offer is for: `GLOBAL` (everyone, the default), `ROOM` (the listed rooms), `USER` (the listed users).",
}

/// The fields every new offer needs, whatever its template (`validate` answers `required`
/// without them).
pub const ALWAYS_REQUIRED: [&str; 3] = ["template", "link", "startTime"];

/// The fields a new offer of `template` needs, from [`Template::needs_text`],
/// [`Template::has_button`] and [`Template::needs_pic`] (the rules `validate` applies).
pub fn required_fields(template: Template) -> Vec<&'static str> {
    let mut fields = ALWAYS_REQUIRED.to_vec();
    if template.needs_text() {
        fields.extend(["title", "text"]);
    }
    if template.has_button() {
        fields.push("linkText");
    }
    if template.needs_pic() {
        fields.push("pic");
    }
    fields
}

/// What a required field must hold when present (not `null`, which counts as absent).
fn present_schema(field: &str) -> Option<RefOr<Schema>> {
    fn reference<T: ToSchema>() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
    Some(match field {
        "link" | "pic" => reference::<HttpUrl>(),
        "title" => reference::<Title>(),
        "text" => reference::<BodyText>(),
        "linkText" => reference::<ButtonText>(),
        "startTime" => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .into(),
        _ => return None,
    })
}

/// The body of a new offer (`POST /external/offer`): an `OfferInput` (`input` is its
/// reference) with the fields its template requires: one alternative per template.
pub fn new_offer_schema(input: RefOr<Schema>) -> RefOr<Schema> {
    let mut per_template = utoipa::openapi::schema::OneOfBuilder::new();
    for template in Template::ALL {
        let mut alternative = ObjectBuilder::new().property(
            "template",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some([template.code()])),
        );
        for field in required_fields(template) {
            alternative = alternative.required(field);
            if let Some(schema) = present_schema(field) {
                alternative = alternative.property(field, schema);
            }
        }
        per_template = per_template.item(alternative);
    }
    utoipa::openapi::schema::AllOfBuilder::new()
        .description(Some(
            "A new offer: the fields of `OfferInput`, with those its template requires.",
        ))
        .item(input)
        .item(per_template)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn schema_of<T: ToSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    #[test]
    fn audience_schemas() {
        let profile = schema_of::<crate::profile::Profile>();
        let properties = profile["properties"].as_object().unwrap();
        for key in ["language", "tags", "attributes"] {
            assert!(properties.contains_key(key), "{profile}");
        }
        assert_eq!(properties["tags"]["maxItems"], json!(100));
        let condition = schema_of::<Condition>();
        assert_eq!(condition["properties"]["op"]["enum"][9], json!("missing"));
        let language = schema_of::<LanguageTag>();
        let pattern = language["pattern"].as_str().unwrap();
        assert_eq!(pattern, LANGUAGE_TAG_PATTERN);
        assert_eq!(
            schema_of::<AttrValue>()["oneOf"].as_array().unwrap().len(),
            3
        );
        let extras = schema_of::<crate::api::OfferExtras>();
        assert!(extras["properties"].get("segmentIds").is_some(), "{extras}");
    }
}
