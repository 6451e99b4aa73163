//! Gradient directions: parsing never panics and is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offers_core::GradientDirection;

fuzz_target!(|input: &str| {
    if let Ok(direction) = GradientDirection::parse(input) {
        assert_eq!(GradientDirection::parse(direction.as_str()), Ok(direction.clone()));
        assert!(!direction.as_str().contains([';', '{', '}', '(', ')', '"', '\\']));
    }
});
