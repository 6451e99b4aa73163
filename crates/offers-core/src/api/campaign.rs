//! Campaign bodies (SPEC §9): conversions (`POST /external/conversion`), the host's tracked
//! events in the widget's batch, per-variant figures and their comparison, the project's caps
//! and attribution window (`/external/project`, the feed), and the rows of the CSV exports.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest cap of pop-ups per session, day or week.
pub const MAX_CAP: u32 = 1_000;
/// Largest minimum gap between two pop-ups: 7 days, in milliseconds.
pub const MAX_MIN_GAP_MS: u64 = 7 * 86_400_000;
/// The attribution window when a project sets none, in hours.
pub const DEFAULT_ATTRIBUTION_WINDOW_HOURS: u32 = 24;
/// Longest attribution window: 30 days, in hours.
pub const MAX_ATTRIBUTION_WINDOW_HOURS: u32 = 720;
/// Most pop-up impressions a feed lists in `recentPopups`.
pub const MAX_RECENT_POPUPS: usize = 200;

/// A project's caps on pop-ups across offers, per user (the engine's type, one for the wire
/// and the decisions).
pub use crate::campaign::Caps;

impl Caps {
    /// These caps with a 0 turned into "no cap".
    #[must_use]
    pub fn normalized(self) -> Self {
        Self {
            per_session: self.per_session.filter(|n| *n > 0),
            per_day: self.per_day.filter(|n| *n > 0),
            per_week: self.per_week.filter(|n| *n > 0),
            min_gap_ms: self.min_gap_ms.filter(|n| *n > 0),
        }
    }

    /// `self` with the members `patch` gives replacing its own (0 clears).
    #[must_use]
    pub fn patched(self, patch: &Caps) -> Self {
        Self {
            per_session: patch.per_session.map_or(self.per_session, Some),
            per_day: patch.per_day.map_or(self.per_day, Some),
            per_week: patch.per_week.map_or(self.per_week, Some),
            min_gap_ms: patch.min_gap_ms.map_or(self.min_gap_ms, Some),
        }
        .normalized()
    }

    /// Every member out of range, keyed `caps.perSession` …; empty when all are fine.
    pub fn errors(&self) -> Vec<(&'static str, String)> {
        let mut errors = Vec::new();
        for (name, value) in [
            ("caps.perSession", self.per_session),
            ("caps.perDay", self.per_day),
            ("caps.perWeek", self.per_week),
        ] {
            if value.is_some_and(|n| n > MAX_CAP) {
                errors.push((name, format!("must be 0 (no cap) to {MAX_CAP} pop-ups")));
            }
        }
        if self.min_gap_ms.is_some_and(|n| n > MAX_MIN_GAP_MS) {
            errors.push((
                "caps.minGapMs",
                format!("must be 0 (no gap) to {MAX_MIN_GAP_MS} milliseconds (7 days)"),
            ));
        }
        errors
    }
}

/// Why an attribution window is refused (`None`: fine): 1 to 720 hours.
pub fn attribution_window_error(hours: u32) -> Option<String> {
    (!(1..=MAX_ATTRIBUTION_WINDOW_HOURS).contains(&hours))
        .then(|| format!("must be 1 to {MAX_ATTRIBUTION_WINDOW_HOURS} hours (30 days)"))
}

/// A pop-up impression of the user, for caps across devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecentPopup {
    /// The impression's event id (the widget merges its own log with these by id).
    pub id: String,
    /// When it was shown.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

/// An event the host page reported (`Offers.track(name, props)`), in the widget's batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrackedEvent {
    /// A client-chosen id (1–64 characters), unique per project: an id stored before is
    /// ignored (counted as a duplicate).
    pub id: String,
    /// The event's name: 1–64 of `A-Z a-z 0-9 _ . : -`.
    pub name: String,
    /// Its properties (a JSON object), as the host gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub props: Option<serde_json::Map<String, serde_json::Value>>,
    /// When (RFC 3339), like a widget event's `at`.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// true: the event is also a conversion (counted only for an identified user; its id is
    /// the conversion's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<bool>,
    /// The conversion's value (e.g. an amount).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// A conversion a partner reports (`POST /external/conversion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionRequest {
    /// The partner's id of the conversion (1–64 characters): a repeated id stores nothing
    /// and answers the first one's attribution with `duplicate: true`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub id: String,
    /// The user who converted (the host chat's user id).
    #[cfg_attr(feature = "openapi", schema(value_type = crate::text::ExternalId))]
    pub user_id: String,
    /// What they did, e.g. `deposit`: 1–64 of `A-Z a-z 0-9 _ . : -`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]{1,64}$")
    )]
    pub name: String,
    /// Its value (e.g. an amount); summed as `conversionValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// When it happened (RFC 3339; default: now). Not more than 5 minutes ahead.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::rfc3339_opt"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at: Option<DateTime<Utc>>,
}

/// The answer to a conversion: whom it was attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionResponse {
    /// The conversion's id, as sent.
    pub id: String,
    /// The offer the user last clicked within the project's attribution window before the
    /// conversion; null: none.
    pub attributed_offer_id: Option<i64>,
    /// The variant of that click (0-based); null: none, or an offer without variants.
    pub variant: Option<u32>,
    /// true: this id was reported before; nothing was stored now.
    pub duplicate: bool,
}

/// One variant's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantStats {
    /// The variant's index in the offer's `variants` (0-based).
    pub variant: u32,
    /// Times shown.
    pub impressions: i64,
    /// Links followed.
    pub clicks: i64,
    /// Times closed.
    pub closes: i64,
    /// clicks / impressions, 4 decimals.
    pub ctr: f64,
    /// The 95 % Wilson interval of the CTR: lower end, 4 decimals.
    pub ctr_low: f64,
    /// The 95 % Wilson interval of the CTR: upper end, 4 decimals.
    pub ctr_high: f64,
    /// Conversions attributed to this variant.
    pub conversions: i64,
    /// The sum of their values.
    pub conversion_value: f64,
    /// conversions / impressions, 4 decimals.
    pub conversion_rate: f64,
}

/// What the variants are compared by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ComparisonMetric {
    /// Clicks per impression (no variant has a conversion yet).
    Ctr,
    /// Conversions per impression (once any variant has one).
    ConversionRate,
}

impl ComparisonMetric {
    /// The metric's rate of `v`.
    pub fn rate(self, v: &VariantStats) -> f64 {
        match self {
            Self::Ctr => v.ctr,
            Self::ConversionRate => v.conversion_rate,
        }
    }
}

/// Which variant leads: by CTR, or by conversion rate once conversions exist.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VariantComparison {
    /// The leading variant's index.
    pub leader: u32,
    /// The next one's.
    pub runner_up: u32,
    /// What they were compared by.
    pub metric: ComparisonMetric,
    /// The two-proportion z-test of the two (null: not defined yet).
    pub p_value: Option<f64>,
    /// pValue < 0.05.
    pub significant: bool,
}

impl VariantComparison {
    /// The comparison of an offer's variants (the one rule: the API's figures and the Studio
    /// both read it): by conversions once any variant has one, else by clicks, each over
    /// impressions; `None` for fewer than two variants.
    pub fn of(variants: &[VariantStats]) -> Option<Self> {
        let metric = if variants.iter().any(|v| v.conversions > 0) {
            ComparisonMetric::ConversionRate
        } else {
            ComparisonMetric::Ctr
        };
        let arms: Vec<crate::stats::Arm> = variants
            .iter()
            .map(|v| crate::stats::Arm {
                successes: match metric {
                    ComparisonMetric::Ctr => v.clicks,
                    ComparisonMetric::ConversionRate => v.conversions,
                },
                trials: v.impressions,
            })
            .collect();
        let c = crate::stats::compare(&arms)?;
        Some(Self {
            leader: variants[c.leader].variant,
            runner_up: variants[c.runner_up].variant,
            metric,
            p_value: c.p_value,
            significant: c.significant,
        })
    }
}

/// The header of the figures CSV exports.
pub const FIGURES_CSV_HEADER: &str =
    "date,offerId,variant,impressions,clicks,closes,conversions,conversionValue";

/// One row of the figures CSV (`GET /external/offer/{id}/stats.csv`, `/external/stats.csv`):
/// an offer's (and variant's) figures of one local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiguresCsvRow {
    /// `YYYY-MM-DD`, a local day of the caller's zone.
    pub date: String,
    /// The offer.
    pub offer_id: i64,
    /// The variant (empty in the CSV for an offer without variants).
    pub variant: Option<u32>,
    /// Times shown.
    pub impressions: i64,
    /// Links followed.
    pub clicks: i64,
    /// Times closed.
    pub closes: i64,
    /// Conversions attributed.
    pub conversions: i64,
    /// Their values' sum.
    pub conversion_value: f64,
}

/// A CSV field as RFC 4180 writes it: quoted (with `"` doubled) when it holds a comma, a
/// quote or a line break.
pub fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}

impl FiguresCsvRow {
    /// The row as one CSV line, ending in CRLF (RFC 4180).
    pub fn csv_line(&self) -> String {
        let variant = self.variant.map(|v| v.to_string()).unwrap_or_default();
        let fields = [
            csv_field(&self.date).into_owned(),
            self.offer_id.to_string(),
            variant,
            self.impressions.to_string(),
            self.clicks.to_string(),
            self.closes.to_string(),
            self.conversions.to_string(),
            self.conversion_value.to_string(),
        ];
        let mut line = fields.join(",");
        line.push_str("\r\n");
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caps_patch_member_by_member_and_zero_clears() {
        let caps = Caps {
            per_session: Some(1),
            per_day: Some(3),
            ..Caps::default()
        };
        let patch: Caps = serde_json::from_value(json!({"perDay": 0, "minGapMs": 5000})).unwrap();
        let patched = caps.patched(&patch);
        assert_eq!(
            serde_json::to_value(patched).unwrap(),
            json!({"perSession": 1, "minGapMs": 5000})
        );
        assert!(Caps::default().is_empty());
        let bad = Caps {
            per_week: Some(1001),
            min_gap_ms: Some(MAX_MIN_GAP_MS + 1),
            ..Caps::default()
        };
        let keys: Vec<_> = bad.errors().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["caps.perWeek", "caps.minGapMs"]);
        assert!(serde_json::from_value::<Caps>(json!({"perHour": 1})).is_err());
        assert!(attribution_window_error(0).is_some());
        assert!(attribution_window_error(24).is_none());
        assert!(attribution_window_error(721).is_some());
    }

    #[test]
    fn csv_lines_quote_as_rfc_4180_says() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        let row = FiguresCsvRow {
            date: "2026-12-01".into(),
            offer_id: 7,
            variant: None,
            impressions: 3,
            clicks: 1,
            closes: 0,
            conversions: 1,
            conversion_value: 12.5,
        };
        assert_eq!(row.csv_line(), "2026-12-01,7,,3,1,0,1,12.5\r\n");
        let row = FiguresCsvRow {
            variant: Some(1),
            conversion_value: 0.0,
            ..row
        };
        assert_eq!(row.csv_line(), "2026-12-01,7,1,3,1,0,1,0\r\n");
        assert_eq!(FIGURES_CSV_HEADER.split(',').count(), 8);
    }

    #[test]
    fn names_and_bodies_read_as_documented() {
        use crate::campaign::EventName;
        assert!(EventName::parse("deposit_failed").is_ok());
        assert!(EventName::parse("a:b.c-d").is_ok());
        assert!(EventName::parse("").is_err());
        assert!(EventName::parse("no spaces").is_err());
        assert!(EventName::parse(&"x".repeat(65)).is_err());
        let c: ConversionRequest = serde_json::from_value(
            json!({"id": "c1", "userId": "u", "name": "deposit", "value": 20}),
        )
        .unwrap();
        assert_eq!((c.value, c.at), (Some(20.0), None));
        assert!(
            serde_json::from_value::<ConversionRequest>(
                json!({"id": "c", "userId": "u", "name": "n", "x": 1})
            )
            .is_err()
        );
        let t: TrackedEvent = serde_json::from_value(json!({"id": "t", "name": "n", "at": "2026-12-01T10:00:00Z", "props": {"amount": 20}, "conversion": true})).unwrap();
        assert_eq!(
            (t.conversion, t.props.map(|p| p.len())),
            (Some(true), Some(1))
        );
    }
}
