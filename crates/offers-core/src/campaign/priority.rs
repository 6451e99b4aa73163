//! Priority across offers (SPEC §9): of the pop-ups that qualify at the same moment, the
//! highest `priority` goes first; equal priorities keep the existing
//! [`crate::frequency::popup_order`]. The others wait: each is shown later if the caps still
//! admit it then.

use std::cmp::Ordering;
use std::fmt;

use crate::api::FeedOffer;
use crate::frequency::popup_order;

/// The order of pop-ups that qualify together: higher priority first, then
/// [`popup_order`] (a total order, so sorting is deterministic).
pub fn priority_order(a: &FeedOffer, b: &FeedOffer) -> Ordering {
    b.priority.cmp(&a.priority).then_with(|| popup_order(a, b))
}

/// The index of the pop-up to show first among `qualifying` (`None` when it is empty).
pub fn winner(qualifying: &[&FeedOffer]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (index, offer) in qualifying.iter().enumerate() {
        best = match best {
            Some(b) if priority_order(qualifying[b], offer) != Ordering::Greater => Some(b),
            _ => Some(index),
        };
    }
    best
}

/// Why a pop-up that qualifies waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Offer `winner` has a higher priority.
    LowerPriority {
        /// The offer shown first.
        winner: i64,
    },
    /// Offer `winner` has the same priority and comes first in the pop-up order (smaller
    /// delay, newer start, higher id).
    Queued {
        /// The offer shown first.
        winner: i64,
    },
}

impl Wait {
    /// The reason's code: `lower_priority` or `queued`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::LowerPriority { .. } => "lower_priority",
            Self::Queued { .. } => "queued",
        }
    }

    /// The offer shown first.
    pub const fn winner(self) -> i64 {
        match self {
            Self::LowerPriority { winner } | Self::Queued { winner } => winner,
        }
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LowerPriority { winner } => write!(f, "offer {winner} has a higher priority"),
            Self::Queued { winner } => write!(
                f,
                "offer {winner} has the same priority and goes first in the pop-up order"
            ),
        }
    }
}

/// The verdict on each of `qualifying` (pop-ups that may show at the same moment), in their
/// order: `Ok(())` for the one shown now ([`winner`]), `Err(Wait)` for each other.
pub fn arbitrate(qualifying: &[&FeedOffer]) -> Vec<Result<(), Wait>> {
    let Some(first) = winner(qualifying) else {
        return Vec::new();
    };
    let top = qualifying[first];
    qualifying
        .iter()
        .enumerate()
        .map(|(index, offer)| {
            if index == first {
                Ok(())
            } else if offer.priority < top.priority {
                Err(Wait::LowerPriority { winner: top.id })
            } else {
                Err(Wait::Queued { winner: top.id })
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Offer, OfferSpec};

    fn offer(id: i64, priority: i16, delay: u64) -> FeedOffer {
        let spec = OfferSpec {
            priority,
            show_delay_ms: delay,
            ..OfferSpec::example()
        };
        FeedOffer::from(&Offer::created(id, spec, spec_time()))
    }

    fn spec_time() -> chrono::DateTime<chrono::Utc> {
        OfferSpec::example().start_time
    }

    #[test]
    fn highest_priority_wins_then_the_popup_order() {
        let (a, b, c) = (offer(1, 0, 0), offer(2, 5, 3000), offer(3, 5, 1000));
        let all = [&a, &b, &c];
        assert_eq!(winner(&all), Some(2), "priority 5, then the smaller delay");
        assert_eq!(
            arbitrate(&all),
            vec![
                Err(Wait::LowerPriority { winner: 3 }),
                Err(Wait::Queued { winner: 3 }),
                Ok(())
            ]
        );
        assert_eq!(winner(&[]), None);
        assert!(arbitrate(&[]).is_empty());
        let (x, y) = (offer(10, 0, 0), offer(11, 0, 0));
        assert_eq!(winner(&[&x, &y]), Some(1), "same everything: the higher id");
        assert_eq!(
            Wait::LowerPriority { winner: 12 }.to_string(),
            "offer 12 has a higher priority"
        );
        assert_eq!(Wait::Queued { winner: 1 }.code(), "queued");
        assert_eq!(Wait::LowerPriority { winner: 1 }.code(), "lower_priority");
        let mut sorted = [a.clone(), b.clone(), c.clone()];
        sorted.sort_by(priority_order);
        let ids: Vec<i64> = sorted.iter().map(|o| o.id).collect();
        assert_eq!(ids, [3, 2, 1]);
    }
}
