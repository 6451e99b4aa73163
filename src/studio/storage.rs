//! What the Studio keeps in the browser: the sign-in for this tab (`sessionStorage`, gone when
//! the tab closes) and the form's draft, per project (`localStorage`, so a reload restores it).
//!
//! Drafts go through [`load_draft`] and [`save_draft`] only: when the API gains a draft
//! endpoint, those two functions are what changes.

use super::api::Credentials;
use super::form::FormState;

const SESSION_KEY: &str = "offers.studio.session";
const DRAFT_PREFIX: &str = "offers.studio.draft.";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The sign-in of this tab, if any.
pub fn load_session() -> Option<Credentials> {
    let text = session_storage()?.get_item(SESSION_KEY).ok()??;
    serde_json::from_str(&text).ok()
}

/// Remembers the sign-in for this tab.
pub fn save_session(credentials: &Credentials) {
    if let (Some(storage), Ok(text)) = (session_storage(), serde_json::to_string(credentials)) {
        let _ = storage.set_item(SESSION_KEY, &text);
    }
}

/// Forgets the sign-in.
pub fn clear_session() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(SESSION_KEY);
    }
}

/// The name a project's draft is kept under: derived from the API key (never the key
/// itself), `anonymous` when signed out.
pub fn project_slot(credentials: Option<&Credentials>) -> String {
    match credentials {
        None => "anonymous".to_owned(),
        Some(c) => format!("p{:016x}", fnv1a(c.api_key.trim().as_bytes())),
    }
}

/// 64-bit FNV-1a: a stable, short name for a key (not a secret-keeping hash; the key is in
/// the same browser anyway).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The draft saved for `slot`, if any.
pub fn load_draft(slot: &str) -> Option<FormState> {
    let text = local_storage()?
        .get_item(&format!("{DRAFT_PREFIX}{slot}"))
        .ok()??;
    serde_json::from_str(&text).ok()
}

/// Saves the draft for `slot` (replacing the previous one: one draft per project).
pub fn save_draft(slot: &str, form: &FormState) {
    if let (Some(storage), Ok(text)) = (local_storage(), serde_json::to_string(form)) {
        let _ = storage.set_item(&format!("{DRAFT_PREFIX}{slot}"), &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_name_projects_without_their_key() {
        let a = Credentials {
            api_key: "ok_secret".into(),
            token: "t1".into(),
        };
        let b = Credentials {
            token: "t2".into(),
            ..a.clone()
        };
        assert_eq!(project_slot(None), "anonymous");
        assert_eq!(project_slot(Some(&a)), project_slot(Some(&b)));
        assert!(!project_slot(Some(&a)).contains("secret"));
        assert_eq!(project_slot(Some(&a)).len(), 17);
    }
}
