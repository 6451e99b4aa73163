//! What the Studio keeps in the browser: the sign-in for this tab (`sessionStorage`, gone when
//! the tab closes: a key and token as typed, or for a person's session only the project
//! chosen, since the session itself is an HttpOnly cookie the API restores) and, while signed
//! out, the form's draft (`localStorage`, so a reload
//! restores it). Signed in, the draft is the project's, kept by the API
//! ([`super::server_draft`]).

use super::api::{Auth, Credentials};
use super::form::FormState;

const SESSION_KEY: &str = "offers.studio.session";
const PROJECT_KEY: &str = "offers.studio.project";
const LOCAL_DRAFT_KEY: &str = "offers.studio.draft.anonymous";

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The token sign-in of this tab, if any.
pub fn load_session() -> Option<Credentials> {
    let text = session_storage()?.get_item(SESSION_KEY).ok()??;
    serde_json::from_str::<Credentials>(&text)
        .ok()
        .filter(|c| matches!(c.auth, Auth::Bearer(_)))
}

/// Remembers the sign-in for this tab: a token's credentials, a session's project.
pub fn save_session(credentials: &Credentials) {
    let Some(storage) = session_storage() else {
        return;
    };
    match (&credentials.auth, &credentials.member) {
        (Auth::Bearer(_), _) => {
            if let Ok(text) = serde_json::to_string(credentials) {
                let _ = storage.set_item(SESSION_KEY, &text);
            }
        }
        (Auth::Session { .. }, Some(member)) => {
            let _ = storage.set_item(PROJECT_KEY, &member.project_id.to_string());
        }
        (Auth::Session { .. }, None) => {}
    }
}

/// The project this tab's person chose last, if any.
pub fn load_project() -> Option<i64> {
    session_storage()?.get_item(PROJECT_KEY).ok()??.parse().ok()
}

/// Forgets the sign-in.
pub fn clear_session() {
    if let Some(storage) = session_storage() {
        let _ = storage.remove_item(SESSION_KEY);
        let _ = storage.remove_item(PROJECT_KEY);
    }
}

/// The draft kept in this browser while signed out, if any.
pub fn load_local_draft() -> Option<FormState> {
    let text = local_storage()?.get_item(LOCAL_DRAFT_KEY).ok()??;
    serde_json::from_str(&text).ok()
}

/// Keeps the signed-out draft in this browser (replacing the previous one).
pub fn save_local_draft(form: &FormState) {
    if let (Some(storage), Ok(text)) = (local_storage(), serde_json::to_string(form)) {
        let _ = storage.set_item(LOCAL_DRAFT_KEY, &text);
    }
}
