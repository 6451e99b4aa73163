//! The user's display history per offer, kept in `localStorage` (so every tab of the host page
//! sees the same answer), with an in-memory fallback where storage is blocked (private mode,
//! sandboxed frames, storage quota).

use std::cell::RefCell;

use offers_core::campaign::{PopupShown, SessionMark};
use offers_core::{DisplayHistory, decimal, decimal_u64, parse_decimal, parse_digits};

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

/// The storage key of the pop-up log the caps read (SPEC §9): per project and user, shared by
/// every tab.
pub fn popup_log_key(project: &str, user: Option<&str>) -> String {
    let user = user.map(escape).unwrap_or_else(|| "~anonymous".into());
    ["offers:v1:", &escape(project), ":", &user, ":~popups"].concat()
}

/// The storage key of the session mark, shared by every tab of the project's host pages.
pub fn session_key(project: &str) -> String {
    ["offers:v1:", &escape(project), ":~session"].concat()
}

/// The storage key of the anonymous visitor's id (the variants' user key when no user is given).
pub fn anonymous_key(project: &str) -> String {
    ["offers:v1:", &escape(project), ":~visitor"].concat()
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
        self.write(key, encode(history));
    }

    /// The stored pop-up log (empty when none or unreadable).
    pub fn load_log(&self, key: &str) -> Vec<PopupShown> {
        self.read(key)
            .map(|text| decode_log(&text))
            .unwrap_or_default()
    }

    /// Stores the pop-up log.
    pub fn save_log(&self, key: &str, log: &[PopupShown]) {
        self.write(key, encode_log(log));
    }

    /// The stored session mark, if any.
    pub fn load_mark(&self, key: &str) -> Option<SessionMark> {
        let text = self.read(key)?;
        let (id, last) = text.split_once('|')?;
        Some(SessionMark {
            id: parse_digits(id)?,
            last_active_ms: parse_decimal(last)?,
        })
    }

    /// Stores the session mark.
    pub fn save_mark(&self, key: &str, mark: SessionMark) {
        self.write(
            key,
            [&decimal_u64(mark.id), "|", &decimal(mark.last_active_ms)].concat(),
        );
    }

    /// The anonymous visitor's id under `key`, created (random) when none is stored yet.
    pub fn anonymous_id(&self, key: &str) -> String {
        if let Some(id) = self.read(key).filter(|id| !id.is_empty()) {
            return id;
        }
        let id = random_id();
        self.write(key, id.clone());
        id
    }

    fn write(&self, key: &str, text: String) {
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

/// A random id for practical purposes: the time in ms and 53 random bits, in decimal.
pub fn random_id() -> String {
    let random = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
    [
        &decimal(js_sys::Date::now() as i64),
        "-",
        &decimal_u64(random),
    ]
    .concat()
}

/// The pop-up log's text form: one `at_ms session id` line per display (the id last, as sent).
pub fn encode_log(log: &[PopupShown]) -> String {
    let mut text = String::new();
    for shown in log.iter().filter(|p| !p.id.contains('\n')) {
        for part in [
            &decimal(shown.at.timestamp_millis()),
            " ",
            &decimal_u64(shown.session),
            " ",
            &shown.id,
            "\n",
        ] {
            text.push_str(part);
        }
    }
    text
}

/// Parses [`encode_log`]'s form; lines it cannot read are left out.
pub fn decode_log(text: &str) -> Vec<PopupShown> {
    text.lines()
        .filter_map(|line| {
            let (at, rest) = line.split_once(' ')?;
            let (session, id) = rest.split_once(' ')?;
            Some(PopupShown {
                id: id.to_owned(),
                at: chrono::DateTime::from_timestamp_millis(parse_decimal(at)?)?,
                session: parse_digits(session)?,
            })
        })
        .filter(|p| !p.id.is_empty())
        .collect()
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
    let times_shown = u32::try_from(parse_digits(parts.next()?)?).ok()?;
    let last_shown = match parts.next()? {
        "" => None,
        ms => Some(chrono::DateTime::from_timestamp_millis(parse_decimal(ms)?)?),
    };
    let last_entry = match parts.next()? {
        "" => None,
        entry => Some(parse_digits(entry)?),
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
    fn the_popup_log_round_trips_and_skips_garbage() {
        let at = chrono::DateTime::from_timestamp_millis(1_716_379_201_000).unwrap();
        let log = vec![
            PopupShown {
                id: "1716379201000-42".into(),
                at,
                session: 7,
            },
            PopupShown {
                id: "server id with spaces".into(),
                at,
                session: 0,
            },
        ];
        assert_eq!(decode_log(&encode_log(&log)), log);
        let garbage = "x 1 a\n1 y b\n1 2\n1 2 \n\n".to_owned() + &encode_log(&log[..1]);
        assert_eq!(decode_log(&garbage), log[..1]);
    }

    #[test]
    fn campaign_keys_do_not_collide_with_offer_histories() {
        let keys = [
            popup_log_key("pk", Some("u")),
            popup_log_key("pk", None),
            session_key("pk"),
            anonymous_key("pk"),
            history_key("pk", Some("u"), 1),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(keys[i + 1..].iter().all(|b| a != b), "{a}");
        }
        assert_eq!(session_key("p:k"), "offers:v1:p%3Ak:~session");
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
