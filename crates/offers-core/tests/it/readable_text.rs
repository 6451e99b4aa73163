//! Property tests of the "text that misleads the reader" rules (issue 12, defect 6): bidi
//! controls and invisible-only text are refused by every text field and id parser, and what is
//! accepted always has something visible. Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]

use offers_core::text::{
    BIDI_CONTROL_REASON, INVISIBLE_ONLY_REASON, is_bidi_control, is_invisible,
};
use offers_core::{BodyText, ButtonText, ExternalId, OfferDraft, Title, validate};
use proptest::prelude::*;
use serde_json::json;

/// Every text parser, as `Result<String, String>`.
fn parse_all(s: &str) -> [Result<String, String>; 4] {
    [
        Title::parse(s).map(|v| v.into_string()),
        BodyText::parse(s).map(|v| v.into_string()),
        ButtonText::parse(s).map(|v| v.into_string()),
        ExternalId::parse(s).map(|v| v.into_string()),
    ]
}

fn bidi_control() -> impl Strategy<Value = char> {
    prop_oneof![
        (0x202Au32..=0x202E).prop_map(|c| char::from_u32(c).unwrap()),
        (0x2066u32..=0x2069).prop_map(|c| char::from_u32(c).unwrap()),
    ]
}

fn invisible() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        ' ',
        '\u{00A0}',
        '\u{00AD}',
        '\u{034F}',
        '\u{061C}',
        '\u{115F}',
        '\u{1160}',
        '\u{180E}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{200E}',
        '\u{200F}',
        '\u{2060}',
        '\u{2063}',
        '\u{2800}',
        '\u{3000}',
        '\u{3164}',
        '\u{FE0F}',
        '\u{FEFF}',
        '\u{FFA0}',
        '\u{E0020}',
    ])
}

proptest! {
    #[test]
    fn a_bidi_control_anywhere_is_refused(
        before in "[a-z]{0,8}", control in bidi_control(), after in "[a-z.]{1,8}"
    ) {
        let text = format!("{before}{control}{after}");
        for result in parse_all(&text) {
            prop_assert_eq!(result, Err(BIDI_CONTROL_REASON.to_owned()));
        }
    }

    #[test]
    fn invisible_only_text_is_refused(chars in prop::collection::vec(invisible(), 1..12)) {
        let text: String = chars.into_iter().collect();
        for result in parse_all(&text) {
            let reason = result.unwrap_err();
            prop_assert!(reason == INVISIBLE_ONLY_REASON || reason == "must not be empty", "{reason}");
        }
    }

    #[test]
    fn accepted_text_has_something_visible_and_no_bidi_control(s in "\\PC{0,40}") {
        for accepted in parse_all(&s).into_iter().flatten() {
            prop_assert!(!accepted.chars().any(is_bidi_control));
            prop_assert!(!accepted.chars().all(is_invisible));
        }
    }

    #[test]
    fn validate_names_the_misleading_field(control in bidi_control()) {
        let draft: OfferDraft = serde_json::from_value(json!({
            "template": 10,
            "title": format!("abc{control}gnp.exe"),
            "text": "\u{200B}\u{200B}",
            "linkText": "\u{2066}Go",
            "link": "https://example.com/",
            "templateData": {"alignment": "center", "bgColor": "#ffffff", "btnColor": "#000000",
                             "btnTextColor": "#ffffff", "textColor": "#000000", "gradient": false},
            "viewType": "POPUP",
            "startTime": "2026-01-01T00:00:00.000Z",
            "showMultipleTimes": true,
            "showFrerquency": "ON_ENTRY",
            "showDelayMS": 0,
            "type": "USER",
            "externalUserIds": ["ok", "\u{FEFF}"],
        })).unwrap();
        let errors = validate(&draft).unwrap_err();
        prop_assert_eq!(errors.get("title"), Some(BIDI_CONTROL_REASON));
        prop_assert_eq!(errors.get("text"), Some(INVISIBLE_ONLY_REASON));
        prop_assert_eq!(errors.get("linkText"), Some(BIDI_CONTROL_REASON));
        prop_assert!(errors.contains("externalUserIds"), "{errors}");
    }
}
