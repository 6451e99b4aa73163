//! CSV audience files: any bytes parse without panicking into valid, distinct ids.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use offers_core::{ExternalId, parse_user_ids};

fuzz_target!(|bytes: &[u8]| {
    let audience = parse_user_ids(bytes);
    let mut seen = HashSet::new();
    for id in &audience.ids {
        assert_eq!(ExternalId::parse(id.as_str()).as_ref(), Ok(id));
        assert!(seen.insert(id.as_str().to_owned()), "duplicate {id:?}");
    }
});
