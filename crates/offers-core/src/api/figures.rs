//! An offer's figures (`GET /external/offer/{offerId}/stats`, the list's `stats`) and "why
//! (not) shown" (`GET /external/explain`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::campaign::{VariantComparison, VariantStats};
use crate::explain::{Check, ScheduleStatus};
use crate::model::Template;
use crate::text::Title;

/// Clicks per impression, rounded to 4 decimals; 0 without impressions.
pub fn ctr(clicks: i64, impressions: i64) -> f64 {
    if impressions <= 0 {
        return 0.0;
    }
    (clicks as f64 / impressions as f64 * 10_000.0).round() / 10_000.0
}

/// An offer's all-time figures, in the list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsSummary {
    /// Times shown.
    pub impressions: i64,
    /// Links followed.
    pub clicks: i64,
    /// Times closed.
    pub closes: i64,
    /// Distinct user ids among impressions (anonymous impressions are not counted).
    pub unique_users: i64,
    /// clicks / impressions, 4 decimals; 0 without impressions.
    pub ctr: f64,
    /// Conversions attributed to the offer.
    #[serde(default)]
    pub conversions: i64,
    /// The sum of their values.
    #[serde(default)]
    pub conversion_value: f64,
    /// conversions / impressions, 4 decimals; 0 without impressions.
    #[serde(default)]
    pub conversion_rate: f64,
}

impl StatsSummary {
    /// The summary of these counts, with their [`ctr`] (no conversions).
    pub fn new(impressions: i64, clicks: i64, closes: i64, unique_users: i64) -> Self {
        Self {
            impressions,
            clicks,
            closes,
            unique_users,
            ctr: ctr(clicks, impressions),
            conversions: 0,
            conversion_value: 0.0,
            conversion_rate: 0.0,
        }
    }

    /// This summary with `conversions` worth `value` in all.
    #[must_use]
    pub fn with_conversions(self, conversions: i64, value: f64) -> Self {
        Self {
            conversions,
            conversion_value: value,
            conversion_rate: ctr(conversions, self.impressions),
            ..self
        }
    }
}

/// One day's figures: a day of the caller's zone (`utcOffset`; UTC without it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayStats {
    /// `YYYY-MM-DD`, a local day of the caller's zone (`utcOffset`, minutes east of UTC;
    /// UTC by default).
    pub date: String,
    /// Times shown that day.
    pub impressions: i64,
    /// Distinct user ids among that day's impressions.
    pub unique_users: i64,
    /// Links followed that day.
    pub clicks: i64,
    /// Times closed that day.
    pub closes: i64,
    /// Conversions attributed that day.
    #[serde(default)]
    pub conversions: i64,
}

/// An offer's figures over a range of the caller's local days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferStats {
    /// The offer.
    pub offer_id: i64,
    /// Times shown over the range.
    pub impressions: i64,
    /// Distinct user ids among impressions over the whole range (not a sum of days).
    pub unique_users: i64,
    /// Links followed over the range.
    pub clicks: i64,
    /// Times closed over the range.
    pub closes: i64,
    /// clicks / impressions, 4 decimals; 0 without impressions.
    pub ctr: f64,
    /// Conversions attributed to the offer over the range.
    #[serde(default)]
    pub conversions: i64,
    /// The sum of their values.
    #[serde(default)]
    pub conversion_value: f64,
    /// conversions / impressions, 4 decimals; 0 without impressions.
    #[serde(default)]
    pub conversion_rate: f64,
    /// Tracked events named as the offer's trigger event over the range (its reach); 0 for an
    /// offer shown on entry.
    #[serde(default)]
    pub triggered: i64,
    /// Per variant, by index (empty for an offer without variants or without variant events).
    #[serde(default)]
    pub variants: Vec<VariantStats>,
    /// Which variant leads (null: fewer than two variants with figures).
    #[serde(default)]
    pub comparison: Option<VariantComparison>,
    /// Every day from `from` (default: the first day with events) to `to` (default: the
    /// last day with events), zeros included; spans over 400 days list only days with events.
    pub days: Vec<DayStats>,
}

/// One offer's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedOffer {
    /// The offer.
    pub offer_id: i64,
    /// Its title, if it has one.
    pub title: Option<Title>,
    /// Its layout.
    pub template: Template,
    /// Scheduled, live or ended at `at`.
    pub status: ScheduleStatus,
    /// Every check is ok.
    pub shown: bool,
    /// Always four: schedule, audience, optOut, frequency.
    pub checks: Vec<Check>,
}

/// Why each offer is (not) shown to a visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainResponse {
    /// The room asked about.
    pub room: String,
    /// The user asked about (null: anonymous).
    pub user: Option<String>,
    /// The instant judged, e.g. `2026-11-21T12:00:00.000Z`.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// Whether the user opted out of all offers.
    pub opted_out: bool,
    /// Newest first, at most 200.
    pub offers: Vec<ExplainedOffer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctr_rounds_to_four_decimals() {
        assert_eq!(ctr(0, 0), 0.0);
        assert_eq!(ctr(1, 3), 0.3333);
        assert_eq!(ctr(2, 3), 0.6667);
        assert_eq!(ctr(5, 5), 1.0);
        assert_eq!(StatsSummary::new(3, 1, 0, 2).ctr, 0.3333);
    }
}
