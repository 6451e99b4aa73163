//! Links: parsing never panics; what parses is an absolute http(s) URL that re-parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offers_core::HttpUrl;

fuzz_target!(|input: &str| {
    if let Ok(url) = HttpUrl::parse(input) {
        assert_eq!(HttpUrl::parse(url.as_str()), Ok(url.clone()));
        let lower = url.as_str().to_ascii_lowercase();
        assert!(lower.starts_with("http://") || lower.starts_with("https://"), "{url}");
        assert!(!url.as_str().chars().any(|c| c.is_control() || c.is_whitespace()));
    }
});
