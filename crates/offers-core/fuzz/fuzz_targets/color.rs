//! CSS colors: parsing never panics; a parsed color re-parses to itself and survives RGBA.
#![no_main]

use libfuzzer_sys::fuzz_target;
use offers_core::CssColor;

fuzz_target!(|input: &str| {
    if let Ok(color) = CssColor::parse(input) {
        assert_eq!(CssColor::parse(color.as_str()), Ok(color.clone()));
        let rgba = color.to_rgba();
        assert_eq!(CssColor::from_rgba(rgba).to_rgba(), rgba);
        // Nothing but the color grammar reaches a style: no way out of a declaration.
        assert!(!color.as_str().contains([';', '{', '}', '<', '>', '"', '\'', '\\']));
    }
});
