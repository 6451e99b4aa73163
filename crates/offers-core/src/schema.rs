//! OpenAPI schemas (`utoipa`) of the validated value types, behind the `openapi` feature.
//!
//! The wire types of [`crate::api`] derive `ToSchema` themselves; the values they are built
//! from ("parse, don't validate" newtypes, the template code) serialize as plain strings or
//! an integer, so their schemas are written here, once, with the rule each one enforces.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::color::{CssColor, GradientDirection};
use crate::http_url::HttpUrl;
use crate::model::Template;
use crate::text::{
    BODY_MAX_CHARS, BUTTON_MAX_CHARS, BodyText, ButtonText, EXTERNAL_ID_MAX_CHARS, ExternalId,
    TITLE_MAX_CHARS, Title,
};

/// A string schema: its description, its longest length in characters, its format.
fn string(description: &str, max_length: Option<usize>, format: Option<&str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .max_length(max_length)
        .format(format.map(|f| SchemaFormat::Custom(f.to_owned())))
        .into()
}

/// `impl ToSchema` for a string newtype: `name => (description, max length, format)`.
macro_rules! string_schemas {
    ($($name:ident => ($description:expr, $max:expr, $format:expr)),+ $(,)?) => {
        $(
            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    string($description, $max, $format)
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
    Title => ("An offer's title: trimmed, not empty, no control characters.", Some(TITLE_MAX_CHARS), None),
    BodyText => ("An offer's text: trimmed, not empty; line breaks allowed.", Some(BODY_MAX_CHARS), None),
    ButtonText => ("A button's text: trimmed, not empty, no control characters.", Some(BUTTON_MAX_CHARS), None),
    ExternalId => ("A room or user id of the host chat: trimmed, not empty, no control characters.", Some(EXTERNAL_ID_MAX_CHARS), None),
    HttpUrl => ("An absolute http or https URL.", None, Some("uri")),
    CssColor => ("A CSS color: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()` or a named color.", None, None),
    GradientDirection => ("A linear gradient's direction: an angle such as `135deg`, or `to right` style keywords.", None, None),
}

impl PartialSchema for Template {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some(
                "The layout: 10 text; 11 image only (600×240); 12 image above text; \
                 13 image beside text; 14 image behind text (600×400).",
            ))
            .minimum(Some(10))
            .maximum(Some(14))
            .into()
    }
}

impl ToSchema for Template {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Template")
    }
}
