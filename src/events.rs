//! Impressions, clicks and closes, handed to the loader's `config.report(offerId, kind)`.
//!
//! The outbox itself (batching per entry, client-generated ids so a retried batch is never
//! counted twice, `sendBeacon` when the page goes away) is in the extras module
//! (`src/extras.js`), which the loader fetches after the first offer is painted; until then the
//! loader keeps the reports, with their times. Keeping it out of the wasm keeps it off every
//! host page's critical path.

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};

/// What happened to an offer (the API's type: one name per kind).
pub use offers_core::api::EventKind;

thread_local! {
    static REPORT: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Takes the loader's `report` function from its config object (none in tests: nothing is sent).
pub fn set_reporter(config: &JsValue) {
    let report = js_sys::Reflect::get(config, &JsValue::from_str("report"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    REPORT.with(|r| *r.borrow_mut() = report);
}

/// Reports one event of the current entry: `config.report(offerId, kind, id, variant)`, with
/// the event's id (a pop-up's impression id is also its line in the caps log, so the server's
/// `recentPopups` and the local log name the same display) and the variant shown (`undefined`
/// for an offer without variants).
pub fn report(offer_id: i64, kind: EventKind, id: &str, variant: Option<usize>) {
    REPORT.with(|r| {
        if let Some(report) = &*r.borrow() {
            let variant = variant.map_or(JsValue::UNDEFINED, |v| JsValue::from_f64(v as f64));
            let _ = report.call4(
                &JsValue::UNDEFINED,
                &JsValue::from_f64(offer_id as f64),
                &JsValue::from_str(kind.as_str()),
                &JsValue::from_str(id),
                &variant,
            );
        }
    });
}
