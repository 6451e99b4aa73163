//! The display-history store in a real browser: `localStorage` when it works, memory when it
//! throws (private mode, sandboxed frames).
#![cfg(target_arch = "wasm32")]

use offers_core::DisplayHistory;
use offers_widget::history::{HistoryStore, history_key};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn history(times: u32, entry: u64) -> DisplayHistory {
    DisplayHistory {
        times_shown: times,
        last_shown: chrono::DateTime::from_timestamp_millis(1_763_700_000_000),
        last_entry: Some(entry),
    }
}

fn run_js(code: &str) {
    js_sys::Function::new_no_args(code)
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap();
}

#[wasm_bindgen_test]
fn history_lives_in_local_storage_so_every_tab_sees_it() {
    let key = history_key("pk_storage", Some("user-1"), 7);
    HistoryStore.save(&key, &history(2, 99));
    let raw = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&key)
        .unwrap();
    assert!(raw.is_some(), "written to localStorage");
    assert_eq!(HistoryStore.load(&key), history(2, 99));
}

#[wasm_bindgen_test]
fn unreadable_history_counts_as_none() {
    let key = history_key("pk_storage", Some("user-2"), 7);
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.set_item(&key, "{not our format").unwrap();
    assert_eq!(HistoryStore.load(&key), DisplayHistory::default());
}

#[wasm_bindgen_test]
fn when_storage_throws_history_is_kept_in_memory() {
    // Make every localStorage access throw, as a sandboxed frame or blocked cookies do.
    run_js(
        "window.__offersStorage = Object.getOwnPropertyDescriptor(window, 'localStorage'); \
         Object.defineProperty(window, 'localStorage', { configurable: true, get() { throw new DOMException('blocked', 'SecurityError'); } });",
    );
    assert!(
        web_sys::window().unwrap().local_storage().is_err(),
        "storage really throws now"
    );
    let key = history_key("pk_storage_blocked", None, 3);
    assert_eq!(HistoryStore.load(&key), DisplayHistory::default());
    HistoryStore.save(&key, &history(1, 5));
    assert_eq!(HistoryStore.load(&key), history(1, 5));
    run_js("Object.defineProperty(window, 'localStorage', window.__offersStorage);");
}
