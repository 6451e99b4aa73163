//! What the signed-in role may do, for the Studio's controls: a control the role cannot use is
//! disabled with a title saying why, or hidden. The rule is the core's
//! ([`offers_core::access::allows`] on the membership's grants); the server still refuses.
//! Signed in with a token, the Studio does not know the role: everything is offered and the
//! server's 403 says what is not allowed.

use leptos::prelude::*;
use offers_core::access::{Area, Level, allows, refusal as refusal_text};

use super::api::Credentials;

/// `None` when `credentials` may do what needs `needed` on `area` (or when the role is not
/// known), else why not, in the API's own words ([`refusal_text`]): "this call needs full on
/// offers; your role `viewer` has view".
pub fn refusal(credentials: Option<&Credentials>, area: Area, needed: Level) -> Option<String> {
    let member = credentials?.member.as_ref()?;
    (!allows(&member.grants, area, needed))
        .then(|| refusal_text(&member.role, &member.grants, area, needed))
}

/// Whether `credentials` may (as far as the Studio knows) do what needs `needed` on `area`.
pub fn may(credentials: Option<&Credentials>, area: Area, needed: Level) -> bool {
    refusal(credentials, area, needed).is_none()
}

/// [`refusal`] as a signal of the session, for a control's `title` (and `disabled`).
pub fn refusal_of(
    session: Signal<Option<Credentials>>,
    area: Area,
    needed: Level,
) -> Signal<Option<String>> {
    Signal::derive(move || session.with(|s| refusal(s.as_ref(), area, needed)))
}

/// The Studio's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Offers,
    People,
    Roles,
    Tokens,
    Webhooks,
    Campaign,
    Audit,
}

impl Page {
    pub const ALL: [Self; 7] = [
        Self::Offers,
        Self::People,
        Self::Roles,
        Self::Tokens,
        Self::Webhooks,
        Self::Campaign,
        Self::Audit,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Self::Offers => "Offers",
            Self::People => "People",
            Self::Roles => "Roles",
            Self::Tokens => "Tokens",
            Self::Webhooks => "Webhooks",
            Self::Campaign => "Campaign settings",
            Self::Audit => "Audit",
        }
    }

    pub const fn slug(self) -> &'static str {
        match self {
            Self::Offers => "offers",
            Self::People => "people",
            Self::Roles => "roles",
            Self::Tokens => "tokens",
            Self::Webhooks => "webhooks",
            Self::Campaign => "campaign",
            Self::Audit => "audit",
        }
    }

    /// Whether the page is in the navigation for `credentials`: the people pages need a
    /// sign-in and `view` on people; the Webhooks and Campaign settings pages a sign-in and
    /// `view` on settings.
    pub fn listed(self, credentials: Option<&Credentials>) -> bool {
        match self {
            Self::Offers => true,
            Self::Webhooks | Self::Campaign => {
                credentials.is_some() && may(credentials, Area::Settings, Level::View)
            }
            _ => credentials.is_some() && may(credentials, Area::People, Level::View),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studio::api::{Auth, Member};
    use offers_core::access::Grants;

    fn member(role: &str, grants: &[(Area, Level)]) -> Credentials {
        Credentials {
            api_key: "k".into(),
            auth: Auth::Session { csrf: "c".into() },
            member: Some(Member {
                email: "a@b.test".into(),
                project_id: 1,
                project_name: "P".into(),
                role: role.into(),
                owner: false,
                grants: grants
                    .iter()
                    .fold(Grants::NONE, |g, (area, level)| g.with(*area, *level)),
            }),
        }
    }

    #[test]
    fn a_viewer_may_look_but_not_change() {
        let viewer = member(
            "viewer",
            &[(Area::Offers, Level::View), (Area::Figures, Level::View)],
        );
        assert!(may(Some(&viewer), Area::Offers, Level::View));
        assert_eq!(
            refusal(Some(&viewer), Area::Offers, Level::Full).as_deref(),
            Some("this call needs full on offers; your role `viewer` has view")
        );
        assert_eq!(
            refusal(Some(&viewer), Area::People, Level::View).as_deref(),
            Some("this call needs view on people; your role `viewer` has none")
        );
        assert!(Page::Offers.listed(Some(&viewer)));
        assert!(!Page::Audit.listed(Some(&viewer)));
    }

    #[test]
    fn tokens_and_owners_see_everything_signed_out_only_offers() {
        let token = Credentials::token("k", "t");
        assert!(may(Some(&token), Area::People, Level::Full));
        assert!(Page::ALL.iter().all(|p| p.listed(Some(&token))));
        let owner = member("owner", &[(Area::People, Level::Full)]);
        assert!(Page::People.listed(Some(&owner)));
        assert!(may(Some(&owner), Area::People, Level::Update));
        assert_eq!(
            Page::ALL
                .iter()
                .filter(|p| p.listed(None))
                .collect::<Vec<_>>(),
            [&Page::Offers]
        );
    }
}
