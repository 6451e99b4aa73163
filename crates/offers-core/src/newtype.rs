//! The shared plumbing of the validated string newtypes.
//!
//! Each newtype defines `fn parse(&str) -> Result<Self, String>`; this macro adds the
//! accessors, `Display`, `FromStr`, `TryFrom`, and serde: it serializes as the plain string
//! and deserializes through `parse`, so deserializing can never produce an invalid value.

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The validated (and normalised) text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The validated text, by value.
            pub fn into_string(self) -> String {
                $crate::newtype::IntoText::into_text(self.0)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl ::std::cmp::PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

        impl ::std::cmp::PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).map_err($crate::error::ParseError::from)
            }
        }

        impl ::std::convert::TryFrom<String> for $name {
            type Error = String;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $name {
            type Error = String;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl ::std::convert::From<$name> for String {
            fn from(value: $name) -> String {
                $crate::newtype::IntoText::into_text(value.0)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use string_newtype;

/// What a newtype's text is held in, given back as a `String`: `String` (moved) or a shared
/// `Arc<str>` (copied; ids the server's index shares between offers).
pub(crate) trait IntoText {
    fn into_text(self) -> String;
}

impl IntoText for String {
    fn into_text(self) -> String {
        self
    }
}

impl IntoText for std::sync::Arc<str> {
    fn into_text(self) -> String {
        String::from(&*self)
    }
}
