//! Every validated field type in one place: the text newtypes ([`crate::text`]), the URL
//! ([`crate::http_url`]), the colors ([`crate::color`]), the enums ([`crate::model`]) and the
//! audience's names ([`crate::language`], [`crate::profile`], [`crate::segment`]).

pub use crate::color::{CssColor, GradientDirection, Rgba};
pub use crate::http_url::HttpUrl;
pub use crate::language::LanguageTag;
pub use crate::model::{Alignment, AudienceType, ShowFrequency, Template, ViewType};
pub use crate::profile::{AttrKey, OfferTag, ProfileTag};
pub use crate::segment::SegmentName;
pub use crate::text::{BodyText, ButtonText, ExternalId, OfferName, Title};
