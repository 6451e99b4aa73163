//! The user's display history per offer, kept in `localStorage` (so every tab of the host page
//! sees the same answer), with an in-memory fallback where storage is blocked (private mode,
//! sandboxed frames, storage quota).

use std::cell::RefCell;

use offers_core::{DisplayHistory, decimal, decimal_u64};

thread_local! {
    /// Key and text pairs: a few offers per page, so a vector (no hash map code in the bundle).
    static MEMORY: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// The storage key of one offer's history: per project, user and offer (SPEC §4).
pub fn history_key(project: &str, user: Option<&str>, offer_id: i64) -> String {
    let user = user.map(escape).unwrap_or_else(|| "~anonymous".into());
    [
        "offers:v1:",
        &escape(project),
        ":",
        &user,
        ":",
        &decimal(offer_id),
    ]
    .concat()
}

/// Keeps `:` inside ids from colliding with the key's separators.
fn escape(part: &str) -> String {
    part.replace('%', "%25")
        .replace(':', "%3A")
        .replace('~', "%7E")
}

/// Reads and writes display histories.
#[derive(Debug, Clone, Default)]
pub struct HistoryStore;

impl HistoryStore {
    /// The stored history, or an empty one when none (or an unreadable one) is stored.
    pub fn load(&self, key: &str) -> DisplayHistory {
        self.read(key)
            .and_then(|text| decode(&text))
            .unwrap_or_default()
    }

    /// Stores `history`; falls back to memory when `localStorage` throws.
    pub fn save(&self, key: &str, history: &DisplayHistory) {
        let text = encode(history);
        let stored = local_storage()
            .map(|storage| storage.set_item(key, &text).is_ok())
            .unwrap_or(false);
        if !stored {
            MEMORY.with(|memory| {
                let mut memory = memory.borrow_mut();
                match memory.iter_mut().find(|(k, _)| k == key) {
                    Some((_, slot)) => *slot = text,
                    None => memory.push((key.to_owned(), text)),
                }
            });
        }
    }

    fn read(&self, key: &str) -> Option<String> {
        let from_storage = local_storage().and_then(|storage| storage.get_item(key).ok().flatten());
        from_storage.or_else(|| {
            MEMORY.with(|memory| {
                let memory = memory.borrow();
                memory
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
        })
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    // `window.localStorage` itself throws in sandboxed frames and with blocked cookies.
    web_sys::window()?.local_storage().ok().flatten()
}

/// Compact text form: `times|last_shown_ms|last_entry` (empty for none). No serde_json in the widget.
pub fn encode(history: &DisplayHistory) -> String {
    let last = history
        .last_shown
        .map(|at| decimal(at.timestamp_millis()))
        .unwrap_or_default();
    let entry = history.last_entry.map(decimal_u64).unwrap_or_default();
    let times = decimal(history.times_shown.into());
    [&times, "|", &last, "|", &entry].concat()
}

/// Parses [`encode`]'s form; `None` for anything else (treated as no history).
pub fn decode(text: &str) -> Option<DisplayHistory> {
    let mut parts = text.split('|');
    let times_shown = parts.next()?.parse().ok()?;
    let last_shown = match parts.next()? {
        "" => None,
        ms => Some(chrono::DateTime::from_timestamp_millis(ms.parse().ok()?)?),
    };
    let last_entry = match parts.next()? {
        "" => None,
        entry => Some(entry.parse().ok()?),
    };
    if parts.next().is_some() {
        return None;
    }
    Some(DisplayHistory {
        times_shown,
        last_shown,
        last_entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_text_round_trips() {
        let history = DisplayHistory {
            times_shown: 3,
            last_shown: chrono::DateTime::from_timestamp_millis(1_716_379_201_000),
            last_entry: Some(42),
        };
        assert_eq!(decode(&encode(&history)), Some(history));
        assert_eq!(
            decode(&encode(&DisplayHistory::default())),
            Some(DisplayHistory::default())
        );
    }

    #[test]
    fn garbage_history_is_none() {
        for text in ["", "x|1|2", "1|abc|", "1|||", "-1||", "1|2"] {
            assert_eq!(decode(text), None, "{text:?}");
        }
    }

    #[test]
    fn keys_separate_project_user_and_offer() {
        assert_eq!(history_key("pk", Some("u:1"), 7), "offers:v1:pk:u%3A1:7");
        assert_ne!(
            history_key("pk", None, 7),
            history_key("pk", Some("~anonymous"), 7)
        );
    }
}
