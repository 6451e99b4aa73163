//! The project's one draft (seed 000: "you can save only one draft at a time"), kept by the
//! API (`GET` / `PUT` / `DELETE /external/draft`) while signed in, and in this browser
//! (`localStorage`) while signed out.
//!
//! Signed in, the draft is restored on sign-in and on reload, saved about a second after the
//! last edit with `If-Match` (the version this tab last saw), and deleted after a successful
//! Send. When someone else saved it in between (412), nothing more is saved until the
//! designer chooses: reload the other draft, or overwrite it with this tab's.
//!
//! The draft is stored as the partner API's body ([`FormState::body`]: UTC times, the same
//! loosely typed fields Send would post, invalid text as typed), plus the offer it edits.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{self, Credentials, DraftSaved, ServerDraft};
use super::clock;
use super::form::FormState;
use super::storage;

/// How long after the last edit the draft is saved.
pub const SAVE_AFTER: Duration = Duration::from_millis(1000);

/// Where the draft stands, as the status line says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncStatus {
    /// Signed out: kept in this browser.
    SignedOut,
    /// Reading the project's draft.
    Loading,
    /// Signed in, nothing saved yet.
    Idle,
    /// Edited; saving shortly.
    Pending,
    Saving,
    /// Saved at a local `HH:MM`.
    Saved(String),
    /// Restored from the server, saved there at a local `HH:MM`.
    Restored(String),
    /// After a successful Send: what became of the draft.
    Sent(String),
    /// Not saved, and why.
    Failed(String),
    /// Someone else saved the draft since this tab last saw it.
    Conflict,
    /// The token may read but not save drafts (viewer): kept in this browser instead.
    ReadOnly,
}

impl SyncStatus {
    /// The status line.
    pub fn text(&self) -> String {
        match self {
            Self::SignedOut => {
                "Signed out: the draft is kept in this browser. Sign in to save it for the project."
                    .to_owned()
            }
            Self::Loading => "Loading the project's draft…".to_owned(),
            Self::Idle => "Edits are saved as the project's draft (one per project).".to_owned(),
            Self::Pending => "Unsaved changes…".to_owned(),
            Self::Saving => "Saving the draft…".to_owned(),
            Self::Saved(at) => format!("Draft saved {at}"),
            Self::Restored(at) => format!("Draft restored (saved {at})"),
            Self::Sent(what) => what.clone(),
            Self::Failed(reason) => format!("Not saved: {reason}"),
            Self::Conflict => "Not saved: the draft was changed elsewhere.".to_owned(),
            Self::ReadOnly => "This token can read but not save drafts (viewer role): the draft \
                               is kept in this browser only."
                .to_owned(),
        }
    }

    /// Whether the line is a problem (shown in red).
    pub fn is_problem(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::Conflict)
    }
}

/// What identifies a form's content as saved: its body and the offer it edits.
fn key(form: &FormState) -> String {
    serde_json::to_string(&(form.body(&clock::local_to_utc), form.editing)).unwrap_or_default()
}

/// `updatedAt` as a local `HH:MM` (now, when it is missing or unreadable).
fn saved_at(updated_at: Option<&str>) -> String {
    let time: DateTime<Utc> = updated_at
        .and_then(|t| offers_core::parse_timestamp(t).ok())
        .unwrap_or_else(clock::now);
    clock::local_hh_mm(&time)
}

/// The draft's synchronisation: created once by the Studio, `Copy` to hand to handlers.
#[derive(Clone, Copy)]
pub struct DraftSync {
    session: Signal<Option<Credentials>>,
    form: RwSignal<FormState>,
    pub status: RwSignal<SyncStatus>,
    /// The server's version of the draft this tab last saw (`None`: none seen).
    etag: StoredValue<Option<String>>,
    /// The [`key`] of what the server has (or what was adopted as such).
    snapshot: StoredValue<Option<String>>,
    /// Whether the restore for the current sign-in is done (nothing is saved before).
    ready: StoredValue<bool>,
    /// Bumped by every edit: a debounced save runs only if no edit came after it.
    timer: StoredValue<u64>,
    /// Bumped on sign-in, sign-out, reload and clear: answers to older requests are dropped.
    epoch: StoredValue<u64>,
    saving: StoredValue<bool>,
}

impl DraftSync {
    /// Starts syncing `form` for `session`.
    pub fn new(session: Signal<Option<Credentials>>, form: RwSignal<FormState>) -> Self {
        let this = Self {
            session,
            form,
            status: RwSignal::new(SyncStatus::SignedOut),
            etag: StoredValue::new(None),
            snapshot: StoredValue::new(None),
            ready: StoredValue::new(false),
            timer: StoredValue::new(0),
            epoch: StoredValue::new(0),
            saving: StoredValue::new(false),
        };
        Effect::new(move |previous: Option<Option<Credentials>>| {
            let current = session.get();
            if previous.as_ref() != Some(&current) {
                this.signed(current.clone());
            }
            current
        });
        Effect::new(move |_| {
            form.track();
            this.edited();
        });
        this
    }

    /// A sign-in (restore the project's draft) or a sign-out.
    fn signed(self, credentials: Option<Credentials>) {
        self.epoch.update_value(|e| *e += 1);
        self.timer.update_value(|t| *t += 1);
        self.ready.set_value(false);
        self.etag.set_value(None);
        let Some(credentials) = credentials else {
            self.status.set(SyncStatus::SignedOut);
            return;
        };
        self.status.set(SyncStatus::Loading);
        let epoch = self.epoch.get_value();
        spawn_local(async move {
            let result = api::get_draft(&credentials).await;
            if self.epoch.get_value() != epoch {
                return;
            }
            match result {
                Ok(Some(draft)) => self.adopt(draft),
                Ok(None) => {
                    self.snapshot.set_value(Some(self.form.with_untracked(key)));
                    self.status.set(SyncStatus::Idle);
                }
                Err(failure) => {
                    self.snapshot.set_value(Some(self.form.with_untracked(key)));
                    self.status.set(SyncStatus::Failed(format!(
                        "the project's draft could not be read. {}",
                        failure.describe()
                    )));
                }
            }
            self.ready.set_value(true);
        });
    }

    /// Puts the server's draft into the form (without saving it back).
    fn adopt(self, draft: ServerDraft) {
        let form = FormState::from_body(&draft.draft, draft.editing, &clock::utc_to_local);
        self.snapshot.set_value(Some(key(&form)));
        self.etag.set_value(draft.etag);
        self.form.set(form);
        self.status
            .set(SyncStatus::Restored(saved_at(draft.updated_at.as_deref())));
    }

    /// The form changed.
    fn edited(self) {
        if self.session.with_untracked(Option::is_none)
            || self.status.with_untracked(|s| *s == SyncStatus::ReadOnly)
        {
            self.form.with_untracked(storage::save_local_draft);
            return;
        }
        if !self.ready.get_value() || self.status.with_untracked(|s| *s == SyncStatus::Conflict) {
            return;
        }
        let current = self.form.with_untracked(key);
        if self.snapshot.with_value(|s| s.as_ref() == Some(&current)) {
            return;
        }
        self.status.set(SyncStatus::Pending);
        self.timer.update_value(|t| *t += 1);
        let mine = self.timer.get_value();
        set_timeout(
            move || {
                if self.timer.get_value() == mine {
                    self.save();
                }
            },
            SAVE_AFTER,
        );
    }

    /// Saves the form now, replacing the version this tab last saw.
    fn save(self) {
        if self.saving.get_value() {
            // One save at a time: try again once this one is done.
            set_timeout(move || self.edited(), SAVE_AFTER);
            return;
        }
        let Some(credentials) = self.session.get_untracked() else {
            return;
        };
        let epoch = self.epoch.get_value();
        let current = self.form.get_untracked();
        let saving = key(&current);
        let body = current.body(&clock::local_to_utc);
        let etag = self.etag.get_value();
        self.saving.set_value(true);
        self.status.set(SyncStatus::Saving);
        spawn_local(async move {
            let result =
                api::put_draft(&credentials, &body, current.editing, etag.as_deref()).await;
            self.saving.set_value(false);
            if self.epoch.get_value() != epoch {
                // Sent meanwhile: this late save must not bring the draft back.
                if let Ok(DraftSaved {
                    etag: Some(etag), ..
                }) = &result
                    && self
                        .status
                        .with_untracked(|s| matches!(s, SyncStatus::Sent(_)))
                {
                    self.delete(&credentials, etag, self.epoch.get_value())
                        .await;
                }
                return;
            }
            match result {
                Ok(saved) => {
                    self.etag.set_value(saved.etag);
                    self.snapshot.set_value(Some(saving));
                    self.status
                        .set(SyncStatus::Saved(saved_at(saved.updated_at.as_deref())));
                    // Edited while saving: save that too.
                    self.edited();
                }
                Err(failure) if failure.status == 412 => self.status.set(SyncStatus::Conflict),
                // A viewer's token: retrying on every edit would only fail again.
                Err(failure) if failure.status == 403 => {
                    self.status.set(SyncStatus::ReadOnly);
                    self.form.with_untracked(storage::save_local_draft);
                }
                Err(failure) => self.status.set(SyncStatus::Failed(failure.describe())),
            }
        });
    }

    /// After a 412: replaces the form with the draft saved elsewhere.
    pub fn reload_other(self) {
        let Some(credentials) = self.session.get_untracked() else {
            return;
        };
        self.epoch.update_value(|e| *e += 1);
        self.timer.update_value(|t| *t += 1);
        let epoch = self.epoch.get_value();
        self.status.set(SyncStatus::Loading);
        spawn_local(async move {
            let result = api::get_draft(&credentials).await;
            if self.epoch.get_value() != epoch {
                return;
            }
            match result {
                Ok(Some(draft)) => self.adopt(draft),
                Ok(None) => {
                    // Deleted elsewhere (sent): nothing to reload; this tab's form is new.
                    self.etag.set_value(None);
                    self.snapshot.set_value(None);
                    self.status.set(SyncStatus::Idle);
                    self.edited();
                }
                Err(failure) => self.status.set(SyncStatus::Failed(failure.describe())),
            }
        });
    }

    /// After a 412: saves this tab's form over the draft saved elsewhere.
    pub fn overwrite(self) {
        let Some(credentials) = self.session.get_untracked() else {
            return;
        };
        self.epoch.update_value(|e| *e += 1);
        self.timer.update_value(|t| *t += 1);
        let epoch = self.epoch.get_value();
        self.status.set(SyncStatus::Saving);
        spawn_local(async move {
            // Learn the current version, then replace exactly that one.
            let result = api::get_draft(&credentials).await;
            if self.epoch.get_value() != epoch {
                return;
            }
            match result {
                Ok(draft) => {
                    self.etag.set_value(draft.and_then(|d| d.etag));
                    self.save();
                }
                Err(failure) => self.status.set(SyncStatus::Failed(failure.describe())),
            }
        });
    }

    /// After a successful Send: deletes the project's draft, if it is still the version this
    /// tab saved or loaded. The form (now editing the sent offer) counts as saved until the
    /// next edit, which starts a new draft.
    pub fn clear(self) {
        let Some(credentials) = self.session.get_untracked() else {
            return;
        };
        self.epoch.update_value(|e| *e += 1);
        self.timer.update_value(|t| *t += 1);
        self.snapshot.set_value(Some(self.form.with_untracked(key)));
        self.ready.set_value(true);
        let Some(etag) = self.etag.get_value() else {
            // This tab never saved nor loaded a draft: any saved draft is someone else's.
            self.status.set(SyncStatus::Sent("Sent.".to_owned()));
            return;
        };
        self.etag.set_value(None);
        self.status.set(SyncStatus::Sent(
            "Sent: the project's draft was cleared.".to_owned(),
        ));
        let epoch = self.epoch.get_value();
        spawn_local(async move { self.delete(&credentials, &etag, epoch).await });
    }

    /// Deletes version `etag` of the draft (after a Send), saying what happened.
    async fn delete(self, credentials: &Credentials, etag: &str, epoch: u64) {
        let result = api::delete_draft(credentials, etag).await;
        if self.epoch.get_value() != epoch {
            return;
        }
        match result {
            Ok(()) => {}
            Err(failure) if failure.status == 412 => self.status.set(SyncStatus::Sent(
                "Sent. The project's draft was changed elsewhere meanwhile: it was kept."
                    .to_owned(),
            )),
            Err(failure) => self.status.set(SyncStatus::Failed(format!(
                "the sent draft could not be cleared. {}",
                failure.describe()
            ))),
        }
    }
}

/// The draft's status line, and the choice after a 412.
#[component]
pub fn DraftStatus(sync: DraftSync) -> impl IntoView {
    let status = sync.status;
    view! {
        <div class="draft-sync">
            <p id="draft-status" role="status"
                class=move || if status.with(SyncStatus::is_problem) { "draft-status error" } else { "draft-status muted" }>
                {move || status.with(SyncStatus::text)}
            </p>
            <Show when=move || status.with(|s| *s == SyncStatus::Conflict)>
                <div class="draft-conflict" role="group" aria-labelledby="draft-conflict-text">
                    <p id="draft-conflict-text">
                        "Someone else (another tab or another person) saved the project's draft since "
                        "this tab loaded it. Your latest edits are not saved yet: keep one of the two."
                    </p>
                    <button type="button" class="btn" id="draft-reload"
                        on:click=move |_| sync.reload_other()>"Reload the other draft"</button>
                    <button type="button" class="btn btn--danger" id="draft-overwrite"
                        on:click=move |_| sync.overwrite()>"Overwrite it with mine"</button>
                </div>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            SyncStatus::Saved("10:42".into()).text(),
            "Draft saved 10:42"
        );
        assert!(
            SyncStatus::Failed("Could not reach the API.".into())
                .text()
                .starts_with("Not saved: ")
        );
        assert!(SyncStatus::Conflict.is_problem());
        assert!(!SyncStatus::Pending.is_problem());
        assert!(SyncStatus::ReadOnly.text().contains("viewer"));
        assert!(!SyncStatus::ReadOnly.is_problem());
        assert_eq!(saved_at(Some("2026-11-21T10:42:13.000Z")), "10:42");
    }

    #[test]
    fn keys_change_with_the_body_and_the_edited_offer() {
        let form = FormState::new("2026-01-02T10:00");
        let mut edited = form.clone();
        assert_eq!(key(&form), key(&edited));
        edited.editing = Some(3);
        assert_ne!(key(&form), key(&edited));
        let mut typed = form.clone();
        typed.set("title", "Other");
        assert_ne!(key(&form), key(&typed));
    }
}
