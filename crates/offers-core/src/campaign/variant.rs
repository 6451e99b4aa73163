//! A/B variants and the holdout (SPEC §9): an offer's [`Variant`]s with their weights, and
//! the deterministic [`assign`]ment of a user to one of them (or to the holdout, which sees
//! nothing of the offer).
//!
//! The assignment is the same in the browser and on the server: FNV-1a (64 bits) over
//! `"{offer_id}:{user_key}"`, bucket = hash % 10 000. Buckets below `holdout_percent × 100`
//! are the holdout; the rest of the range is split by cumulative weight.

use serde::{Deserialize, Serialize};

use crate::model::{TemplateData, Translation};

/// The fewest variants an offer with variants has.
pub const MIN_VARIANTS: usize = 2;
/// The most variants an offer may have.
pub const MAX_VARIANTS: usize = 5;
/// The largest weight of a variant (the smallest is 1).
pub const MAX_WEIGHT: u32 = 100;
/// The largest holdout share, in percent.
pub const MAX_HOLDOUT_PERCENT: u8 = 50;
/// The number of buckets users are hashed into.
pub const BUCKETS: u64 = 10_000;

/// One variant of an offer's content, as stored and as the partner API answers it: its
/// weight, and the fields that differ from the offer's own (each absent one falls back to
/// the offer's; `templateData`, when given, replaces the offer's whole object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    /// Its share of the users outside the holdout, relative to the other variants' (1–100).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub weight: u32,
    /// The texts and picture that differ from the offer's own (`title`, `text`, `linkText`,
    /// `pic`; each absent one is the offer's).
    #[serde(flatten)]
    pub content: Translation,
    /// Colors and alignment (replacing the offer's whole object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_data: Option<TemplateData>,
}

impl Variant {
    /// A variant of weight `weight` that changes nothing.
    pub fn weighted(weight: u32) -> Self {
        Self {
            weight,
            content: Translation::default(),
            template_data: None,
        }
    }
}

/// What a user is shown of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assignment {
    /// Nothing: the user is in the offer's holdout.
    Holdout,
    /// The offer's own content (an offer without variants).
    Original,
    /// The variant with this index (0-based, into the offer's `variants`).
    Variant(usize),
}

impl Assignment {
    /// The variant index, when a variant is shown.
    pub const fn variant(self) -> Option<usize> {
        match self {
            Self::Variant(index) => Some(index),
            _ => None,
        }
    }

    /// Whether the offer is shown at all (not the holdout).
    pub const fn is_shown(self) -> bool {
        !matches!(self, Self::Holdout)
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a (64 bits) of `bytes`, continuing from `hash`.
const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

/// FNV-1a (64 bits) of `"{offer_id}:{user_key}"` (the id in decimal), without formatting.
pub fn assignment_hash(offer_id: i64, user_key: &str) -> u64 {
    let mut hash = fnv1a(FNV_OFFSET, crate::text::decimal(offer_id).as_bytes());
    hash = fnv1a(hash, b":");
    fnv1a(hash, user_key.as_bytes())
}

/// The user's bucket for an offer, `0..10_000`.
pub fn bucket(offer_id: i64, user_key: &str) -> u64 {
    assignment_hash(offer_id, user_key) % BUCKETS
}

/// Which content of offer `offer_id` the user `user_key` (the user id, or the browser's
/// anonymous id) sees: [`Assignment::Holdout`] when their bucket is below
/// `holdout_percent × 100` (capped at 100 %), else the variant whose share of the rest of the
/// range holds it (shares proportional to `weights`), or [`Assignment::Original`] when there
/// are no weights (or they are all 0). Deterministic: the same arguments, the same answer, in
/// the browser and on the server.
pub fn assign(offer_id: i64, user_key: &str, weights: &[u32], holdout_percent: u8) -> Assignment {
    let bucket = bucket(offer_id, user_key);
    let holdout = u64::from(holdout_percent.min(100)) * 100;
    if bucket < holdout {
        return Assignment::Holdout;
    }
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Assignment::Original;
    }
    // The position in the rest of the range, scaled to the weights: 0..total.
    let target = (bucket - holdout) * total / (BUCKETS - holdout);
    let mut cumulative = 0u64;
    for (index, weight) in weights.iter().enumerate() {
        cumulative += u64::from(*weight);
        if target < cumulative {
            return Assignment::Variant(index);
        }
    }
    // Unreachable: target < total.
    Assignment::Variant(weights.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
        for (id, user) in [
            (0, "u"),
            (12, "user-42"),
            (-7, ""),
            (i64::MIN, "x"),
            (i64::MAX, "é"),
        ] {
            let text = format!("{id}:{user}");
            assert_eq!(
                assignment_hash(id, user),
                fnv1a(FNV_OFFSET, text.as_bytes())
            );
        }
    }

    #[test]
    fn holdout_original_and_variants() {
        assert_eq!(assign(1, "u", &[], 0), Assignment::Original);
        assert_eq!(assign(1, "u", &[0, 0], 0), Assignment::Original);
        let everyone_held = (0..200).all(|i| assign(i, "u", &[50, 50], 100) == Assignment::Holdout);
        assert!(everyone_held);
        let nobody_held = (0..200).all(|i| assign(i, "u", &[1, 1], 0) != Assignment::Holdout);
        assert!(nobody_held);
        assert_eq!(assign(3, "u", &[0, 7], 0), Assignment::Variant(1));
        assert_eq!(Assignment::Variant(2).variant(), Some(2));
        assert!(!Assignment::Holdout.is_shown());
        assert!(Assignment::Original.is_shown());
    }
}
