//! The offer draft, as the API reads a JSON body: strict JSON → draft → validate never panics,
//! and a valid offer turned back into a draft validates to itself. The same draft read as form
//! fields (every value a string) never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offers_core::{OfferDraft, strict_json, validate};
use serde_json::Value;

fuzz_target!(|bytes: &[u8]| {
    let Ok(value) = strict_json::parse(bytes) else {
        return;
    };
    if let Value::Object(map) = &value {
        let fields: Vec<(String, String)> = map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        if let Ok(draft) = OfferDraft::from_form_fields(fields) {
            let _ = validate(&draft);
        }
    }
    let Ok(draft) = serde_json::from_value::<OfferDraft>(value) else {
        return;
    };
    if let Ok(spec) = validate(&draft) {
        assert_eq!(validate(&OfferDraft::from(&spec)), Ok(spec));
    }
});
