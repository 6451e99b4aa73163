//! Every validated field type in one place: the text newtypes ([`crate::text`]), the URL
//! ([`crate::http_url`]), the colors ([`crate::color`]) and the enums ([`crate::model`]).

pub use crate::color::{CssColor, GradientDirection, Rgba};
pub use crate::http_url::HttpUrl;
pub use crate::model::{Alignment, AudienceType, ShowFrequency, Template, ViewType};
pub use crate::text::{BodyText, ButtonText, ExternalId, Title};
