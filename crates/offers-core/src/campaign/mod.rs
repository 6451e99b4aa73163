//! Campaigns (SPEC §9): when an offer shows ([`trigger`]), which content a user sees
//! ([`variant`]), how many pop-ups a user may see across offers ([`caps`]), and which of the
//! pop-ups that qualify at the same moment goes first ([`priority`]).
//!
//! Everything here is pure and small (no formatting on the paths the widget calls; the
//! reasons' sentences are their `Display`): the widget and the server make the same
//! decisions with the same code.

pub mod caps;
pub mod priority;
pub mod trigger;
pub mod variant;

pub use caps::{
    CapReason, Caps, PopupShown, SESSION_TIMEOUT_MS, SessionMark, admit, merge, prune, session_at,
};
pub use priority::{Wait, arbitrate, priority_order, winner};
pub use trigger::{EventName, PropCondition, PropKey, Trigger};
pub use variant::{Assignment, Variant, assign};
