//! Titles, texts, button texts and ids: parsing never panics, is idempotent, and what is
//! accepted has no bidi control and something visible (issue 12, defect 6).
#![no_main]

use libfuzzer_sys::fuzz_target;
use offers_core::text::{is_bidi_control, is_invisible};
use offers_core::{BodyText, ButtonText, ExternalId, Title};

fuzz_target!(|input: &str| {
    let accepted = [
        Title::parse(input).map(|t| {
            assert_eq!(Title::parse(t.as_str()), Ok(t.clone()));
            t.into_string()
        }),
        BodyText::parse(input).map(|t| {
            assert_eq!(BodyText::parse(t.as_str()), Ok(t.clone()));
            t.into_string()
        }),
        ButtonText::parse(input).map(|t| {
            assert_eq!(ButtonText::parse(t.as_str()), Ok(t.clone()));
            t.into_string()
        }),
        ExternalId::parse(input).map(|t| {
            assert_eq!(ExternalId::parse(t.as_str()), Ok(t.clone()));
            t.into_string()
        }),
    ];
    for result in accepted {
        match result {
            Ok(text) => {
                assert!(!text.chars().any(is_bidi_control), "{text:?}");
                assert!(!text.chars().all(is_invisible), "{text:?}");
            }
            Err(reason) => assert!(!reason.is_empty()),
        }
    }
});
