//! Who may do what (SPEC §8, issue 14): the areas of a project, the levels of access to each,
//! a role's grants, the built-in roles, and the one check [`allows`]. Pure: the API's route
//! table asks [`allows`] on every call and the Studio asks it to hide or disable controls.
//!
//! Levels are ordered `none < view < update < full`: `view` reads, `update` also changes
//! existing things, `full` also creates and deletes.

use serde::{Deserialize, Serialize};

use crate::newtype::string_newtype;

/// A part of a project that access is granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Area {
    /// Offers, the draft, media uploads, explain, test sends.
    Offers,
    /// Profiles, segments, bulk imports, opt-outs, the id registry.
    Audiences,
    /// Figures (stats).
    Figures,
    /// Project settings.
    Settings,
    /// People, invitations, roles, tokens and the audit log.
    People,
}

impl Area {
    /// Every area, in wire order.
    pub const ALL: [Area; 5] = [
        Area::Offers,
        Area::Audiences,
        Area::Figures,
        Area::Settings,
        Area::People,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offers => "offers",
            Self::Audiences => "audiences",
            Self::Figures => "figures",
            Self::Settings => "settings",
            Self::People => "people",
        }
    }

    /// The area of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of an area a role may use; ordered `none < view < update < full`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Level {
    /// Nothing.
    #[default]
    None,
    /// Read.
    View,
    /// Read and change existing things.
    Update,
    /// Also create and delete.
    Full,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [Level::None, Level::View, Level::Update, Level::Full];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::View => "view",
            Self::Update => "update",
            Self::Full => "full",
        }
    }

    /// The level of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role's grants: a level per area (`{"offers": "full", "people": "none", …}`). A missing
/// area means `none`; answers always list all five.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grants {
    /// Offers, the draft, media, explain, test sends.
    pub offers: Level,
    /// Profiles, segments, bulk imports, opt-outs, the id registry.
    pub audiences: Level,
    /// Figures.
    pub figures: Level,
    /// Project settings.
    pub settings: Level,
    /// People, invitations, roles, tokens, audit.
    pub people: Level,
}

impl Grants {
    /// Nothing anywhere.
    pub const NONE: Grants = Grants::uniform(Level::None);

    /// The same level in every area.
    pub const fn uniform(level: Level) -> Self {
        Self {
            offers: level,
            audiences: level,
            figures: level,
            settings: level,
            people: level,
        }
    }

    /// The level granted in `area`.
    pub fn get(&self, area: Area) -> Level {
        match area {
            Area::Offers => self.offers,
            Area::Audiences => self.audiences,
            Area::Figures => self.figures,
            Area::Settings => self.settings,
            Area::People => self.people,
        }
    }

    /// Sets the level of `area`.
    pub fn set(&mut self, area: Area, level: Level) {
        let slot = match area {
            Area::Offers => &mut self.offers,
            Area::Audiences => &mut self.audiences,
            Area::Figures => &mut self.figures,
            Area::Settings => &mut self.settings,
            Area::People => &mut self.people,
        };
        *slot = level;
    }

    /// These grants with `area` at `level`.
    pub fn with(mut self, area: Area, level: Level) -> Self {
        self.set(area, level);
        self
    }

    /// Whether every area of `self` is at least as high as in `other`.
    pub fn covers(&self, other: &Grants) -> bool {
        Area::ALL.into_iter().all(|a| self.get(a) >= other.get(a))
    }
}

/// Whether `grants` allow `needed` on `area` (`none` is always allowed).
pub fn allows(grants: &Grants, area: Area, needed: Level) -> bool {
    grants.get(area) >= needed
}

/// The refusal's text (the API's 403 message): it names the level, the area, the role and
/// what the role has there.
pub fn refusal(role: &str, grants: &Grants, area: Area, needed: Level) -> String {
    format!(
        "this call needs {needed} on {area}; your role `{role}` has {}",
        grants.get(area)
    )
}

/// The built-in roles: they cannot be edited or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltInRole {
    /// Every area `full`; held by the project's account owner.
    Owner,
    /// Offers and audiences `full`, figures and settings `view`, people `none`.
    Editor,
    /// Offers, audiences, figures and settings `view`, people `none`.
    Viewer,
}

impl BuiltInRole {
    /// Every built-in role, highest first.
    pub const ALL: [BuiltInRole; 3] =
        [BuiltInRole::Owner, BuiltInRole::Editor, BuiltInRole::Viewer];

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    /// The built-in role of that name, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// What the role grants.
    pub const fn grants(self) -> Grants {
        match self {
            Self::Owner => Grants::uniform(Level::Full),
            Self::Editor => Grants {
                offers: Level::Full,
                audiences: Level::Full,
                figures: Level::View,
                settings: Level::View,
                people: Level::None,
            },
            Self::Viewer => Grants {
                offers: Level::View,
                audiences: Level::View,
                figures: Level::View,
                settings: Level::View,
                people: Level::None,
            },
        }
    }
}

impl std::fmt::Display for BuiltInRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most characters a role name may have.
pub const ROLE_NAME_MAX_CHARS: usize = 40;

/// The reason given for a bad role name.
pub const ROLE_NAME_REASON: &str =
    "must be 1–40 characters of lowercase letters a–z, digits, `_` or `-`";

/// Whether `name` has a role name's shape: 1–40 characters of `[a-z0-9_-]` (built-in names
/// included; a custom role's name is a [`RoleName`]).
pub fn is_role_name(name: &str) -> bool {
    (1..=ROLE_NAME_MAX_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A custom role's name: 1–40 characters of `[a-z0-9_-]`, and not a built-in role's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    /// Parses a custom role's name (exactly as given: no trimming, no case folding).
    pub fn parse(input: &str) -> Result<Self, String> {
        if !is_role_name(input) {
            return Err(ROLE_NAME_REASON.to_owned());
        }
        if BuiltInRole::parse(input).is_some() {
            return Err(format!("`{input}` is a built-in role; choose another name"));
        }
        Ok(Self(input.to_owned()))
    }
}

string_newtype!(RoleName);

/// The fewest characters a password may have.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// The most characters a password may have.
pub const PASSWORD_MAX_CHARS: usize = 200;

/// Checks a new password's length: 10–200 characters.
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "must be {PASSWORD_MIN_CHARS}–{PASSWORD_MAX_CHARS} characters (got {n})"
        ))
    }
}

/// The most characters an e-mail address may have.
pub const EMAIL_MAX_CHARS: usize = 254;

/// An e-mail address as accounts store it: trimmed, lowercased, `local@domain` with a dot-free
/// or dotted domain, no spaces or control characters, at most 254 characters.
pub fn normalize_email(input: &str) -> Result<String, String> {
    const REASON: &str = "must be an e-mail address such as ana@example.com";
    let email = input.trim().to_lowercase();
    if email.is_empty() || email.chars().count() > EMAIL_MAX_CHARS {
        return Err(REASON.to_owned());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(REASON.to_owned());
    };
    let clean = |s: &str| {
        !s.is_empty() && !s.contains('@') && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if !clean(local) || !clean(domain) || domain.starts_with('.') || domain.ends_with('.') {
        return Err(REASON.to_owned());
    }
    Ok(email)
}

/// The most characters a person's name may have.
pub const PERSON_NAME_MAX_CHARS: usize = 80;

/// A person's display name: trimmed, 1–80 characters, one line, no control characters.
pub fn normalize_person_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    let n = name.chars().count();
    if n == 0 || n > PERSON_NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(format!(
            "must be 1–{PERSON_NAME_MAX_CHARS} characters on one line"
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_and_named() {
        assert!(Level::None < Level::View && Level::View < Level::Update);
        assert!(Level::Update < Level::Full);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(l));
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
        for a in Area::ALL {
            assert_eq!(Area::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(Level::parse("admin"), None);
        assert_eq!(Area::parse("Offers"), None);
    }

    #[test]
    fn built_in_roles_grant_what_the_contract_says() {
        let owner = BuiltInRole::Owner.grants();
        assert!(Area::ALL.iter().all(|&a| owner.get(a) == Level::Full));
        let editor = BuiltInRole::Editor.grants();
        assert_eq!(
            serde_json::to_value(editor).unwrap(),
            serde_json::json!({"offers": "full", "audiences": "full", "figures": "view",
                "settings": "view", "people": "none"})
        );
        let viewer = BuiltInRole::Viewer.grants();
        assert_eq!(
            serde_json::to_value(viewer).unwrap(),
            serde_json::json!({"offers": "view", "audiences": "view", "figures": "view",
                "settings": "view", "people": "none"})
        );
        assert!(owner.covers(&editor) && editor.covers(&viewer) && !viewer.covers(&editor));
        assert_eq!(BuiltInRole::parse("editor"), Some(BuiltInRole::Editor));
        assert_eq!(BuiltInRole::parse("Editor"), None);
    }

    #[test]
    fn allows_compares_levels_in_one_area() {
        let g = Grants::NONE
            .with(Area::Offers, Level::Update)
            .with(Area::Figures, Level::View);
        assert!(allows(&g, Area::Offers, Level::View));
        assert!(allows(&g, Area::Offers, Level::Update));
        assert!(!allows(&g, Area::Offers, Level::Full));
        assert!(allows(&g, Area::Figures, Level::View));
        assert!(!allows(&g, Area::Figures, Level::Update));
        assert!(!allows(&g, Area::People, Level::View));
        assert!(allows(&g, Area::People, Level::None));
        let viewer = BuiltInRole::Viewer.grants();
        assert_eq!(
            refusal("viewer", &viewer, Area::Offers, Level::Full),
            "this call needs full on offers; your role `viewer` has view"
        );
    }

    #[test]
    fn grants_read_missing_areas_as_none_and_refuse_unknown_ones() {
        let g: Grants = serde_json::from_str(r#"{"offers": "full"}"#).unwrap();
        assert_eq!(g, Grants::NONE.with(Area::Offers, Level::Full));
        assert!(serde_json::from_str::<Grants>(r#"{"billing": "full"}"#).is_err());
        assert!(serde_json::from_str::<Grants>(r#"{"offers": "admin"}"#).is_err());
        assert_eq!(serde_json::from_str::<Grants>("{}").unwrap(), Grants::NONE);
    }

    #[test]
    fn role_names() {
        for ok in ["analyst", "a", "support-2", "ops_team", &"x".repeat(40)] {
            assert_eq!(RoleName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "Analyst",
            "with space",
            "ümlaut",
            "a.b",
            &"x".repeat(41),
        ] {
            assert_eq!(
                RoleName::parse(bad),
                Err(ROLE_NAME_REASON.to_owned()),
                "{bad}"
            );
        }
        for builtin in ["owner", "editor", "viewer"] {
            assert!(is_role_name(builtin));
            assert!(RoleName::parse(builtin).unwrap_err().contains("built-in"));
        }
        assert!(serde_json::from_str::<RoleName>(r#""owner""#).is_err());
    }

    #[test]
    fn passwords_emails_and_names() {
        assert!(check_password("0123456789").is_ok());
        assert!(check_password("012345678").is_err());
        assert!(check_password(&"é".repeat(200)).is_ok());
        assert!(check_password(&"é".repeat(201)).is_err());
        assert_eq!(
            normalize_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@c.d",
            "a@b@c",
            "ana@.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_person_name(" Ana Lima ").unwrap(), "Ana Lima");
        assert!(normalize_person_name("  ").is_err());
        assert!(normalize_person_name("a\nb").is_err());
    }

    // proptest is a native-only dev-dependency (no random source on wasm32).
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn allows_is_monotonic(
            have in proptest::sample::select(Level::ALL.to_vec()),
            need in proptest::sample::select(Level::ALL.to_vec()),
            area in proptest::sample::select(Area::ALL.to_vec()),
        ) {
            let g = Grants::NONE.with(area, have);
            proptest::prop_assert_eq!(allows(&g, area, need), have >= need);
            // Other areas are untouched.
            for other in Area::ALL.into_iter().filter(|a| *a != area) {
                proptest::prop_assert_eq!(allows(&g, other, need), need == Level::None);
            }
        }

        #[test]
        fn role_names_parse_exactly_their_pattern(s in "[a-zA-Z0-9_ .-]{0,45}") {
            let shaped = !s.is_empty() && s.len() <= 40
                && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
            let builtin = BuiltInRole::parse(&s).is_some();
            proptest::prop_assert_eq!(RoleName::parse(&s).is_ok(), shaped && !builtin);
        }
    }
}
