//! `GET /external/offer/{offerId}/stats`: an offer's figures, aggregated from the widget's
//! events, in total and per day — the caller's local days with `utcOffset` (minutes east of
//! UTC), UTC days without. `from` and `to` are such local days.
//!
//! `uniqueUsers` counts distinct user ids among impressions; anonymous impressions (no user,
//! or an unverified one under `requireUserSignature`) count as impressions but not as users.
//! `ctr` is clicks / impressions rounded to 4 decimals (0 without impressions).
//!
//! Campaign figures (SPEC §9): `conversions` (attributed to the offer), `conversionValue`,
//! `conversionRate` (conversions / impressions), per variant with the CTR's 95 % Wilson
//! interval, the `comparison` of the variants (`VariantComparison::of` in the core: by CTR, by
//! conversion rate once any variant has conversions) and `triggered` (tracked events named as
//! the offer's trigger). The same figures per local day, offer and variant as CSV:
//! `GET /external/offer/{offerId}/stats.csv` and `GET /external/stats.csv?from&to`.

use std::collections::BTreeMap;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use offers_core::api::campaign::FIGURES_CSV_HEADER;
use offers_core::api::figures::ctr;
use offers_core::api::{
    DayStats, ErrorBody, FiguresCsvRow, OfferStats, VariantComparison, VariantStats,
};
use offers_core::stats::wilson_interval;

use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{bad_params, parse_utc_offset, query_param};
use crate::http::offers::offer_id;
use crate::state::AppState;
use crate::store::campaign::FigureRow;
use crate::store::{DayTotals, Totals};

/// The most days listed in `days` (longer spans list only days with events).
pub(crate) const MAX_FILLED_DAYS: i64 = 400;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/external/offer/{offerId}/stats", get(offer_stats))
        .route("/external/offer/{offerId}/stats.csv", get(offer_stats_csv))
        .route("/external/stats.csv", get(project_stats_csv))
}

fn date_of(day: i64) -> NaiveDate {
    DateTime::from_timestamp(day * 86_400, 0)
        .unwrap_or_default()
        .date_naive()
}

fn day_of(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp().div_euclid(86_400))
        .unwrap_or_default()
}

fn parse_date(name: &str, raw: &str) -> Result<NaiveDate, (String, String)> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| (name.to_owned(), "must be a date YYYY-MM-DD".to_owned()))
}

/// The per-day list: every day from `from` (default: the first day with events) to `to`
/// (default: the last day with events), days without events as zeros; spans over
/// [`MAX_FILLED_DAYS`] list only days with events.
pub(crate) fn fill_days(rows: &[DayTotals], from: Option<i64>, to: Option<i64>) -> Vec<DayStats> {
    let first = from.or(rows.first().map(|d| d.day));
    let last = to.or(rows.last().map(|d| d.day));
    let stats = |day: i64, t: Totals| DayStats {
        date: date_of(day).format("%Y-%m-%d").to_string(),
        impressions: t.impressions,
        unique_users: t.unique_users,
        clicks: t.clicks,
        closes: t.closes,
        conversions: 0,
    };
    match (first, last) {
        (Some(first), Some(last)) if last >= first && last - first < MAX_FILLED_DAYS => {
            let mut rows = rows.iter().peekable();
            (first..=last)
                .map(|day| {
                    while rows.next_if(|r| r.day < day).is_some() {}
                    let totals = rows.next_if(|r| r.day == day).map(|r| r.totals);
                    stats(day, totals.unwrap_or_default())
                })
                .collect()
        }
        _ => rows.iter().map(|r| stats(r.day, r.totals)).collect(),
    }
}

/// An offer's figures.
#[utoipa::path(
    get,
    path = "/external/offer/{offerId}/stats",
    tag = "offers",
    params(
        ("offerId" = i64, Path, description = "The offer id"),
        ("from" = Option<String>, Query, description = "First day (YYYY-MM-DD, in the `utcOffset` zone), inclusive"),
        ("to" = Option<String>, Query, description = "Last day (YYYY-MM-DD, in the `utcOffset` zone), inclusive"),
        ("utcOffset" = Option<i32>, Query, description = "The caller's zone in minutes east of UTC \
            (-1080..1080, default 0: UTC days), e.g. 180 for UTC+3"),
    ),
    responses(
        (status = 200, description = "Totals over the range and one entry per day of the caller's zone (zeros included)", body = OfferStats),
        (status = 400, description = "`from` or `to` not a date, `from` after `to`, or `utcOffset` out of range", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn offer_stats(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<OfferStats>, ApiError> {
    let id = offer_id(path)?;
    let range = Range::parse(query.as_deref(), false)?;
    let offer = state
        .store()
        .get_offer(caller.project_id(), id)
        .await?
        .ok_or_else(ApiError::offer_not_found)?;
    let (project, (start, end)) = (caller.project_id(), range.instants());
    let store = state.store();
    let figures = store
        .offer_figures(project, id, start, end, range.utc_offset)
        .await?;
    let rows = store
        .figure_rows(project, Some(id), start, end, range.utc_offset)
        .await?;
    let triggered = match trigger_event(&offer) {
        Some(name) => store
            .tracked_counts(project, std::slice::from_ref(&name), start, end)
            .await?
            .get(&name)
            .copied()
            .unwrap_or(0),
        None => 0,
    };
    let t = figures.totals;
    let conversions: i64 = rows.iter().map(|r| r.conversions).sum();
    let conversion_value: f64 = rows.iter().map(|r| r.conversion_value).sum();
    let mut days = fill_days(&figures.days, range.from.map(day_of), range.to.map(day_of));
    let mut per_day: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        *per_day
            .entry(date_of(row.day).format("%Y-%m-%d").to_string())
            .or_default() += row.conversions;
    }
    for day in &mut days {
        day.conversions = per_day.remove(&day.date).unwrap_or(0);
    }
    let variants = variant_stats(&rows);
    Ok(Json(OfferStats {
        offer_id: id,
        impressions: t.impressions,
        unique_users: t.unique_users,
        clicks: t.clicks,
        closes: t.closes,
        ctr: ctr(t.clicks, t.impressions),
        conversions,
        conversion_value,
        conversion_rate: ctr(conversions, t.impressions),
        triggered,
        comparison: VariantComparison::of(&variants),
        variants,
        days,
    }))
}

/// The event name of the offer's trigger, if it has one (read from its wire form, so this
/// does not depend on how the model holds it).
fn trigger_event(offer: &offers_core::Offer) -> Option<String> {
    let wire = serde_json::to_value(offers_core::PartnerOffer::from(offer)).ok()?;
    wire.get("trigger")?
        .get("event")?
        .as_str()
        .map(str::to_owned)
}

/// A rate's interval end, 4 decimals like the CTR.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Per-variant figures (rows of events without a variant are left out), by variant index.
pub(crate) fn variant_stats(rows: &[FigureRow]) -> Vec<VariantStats> {
    let mut sums: BTreeMap<u32, FigureRow> = BTreeMap::new();
    for row in rows {
        let Some(variant) = row.variant.and_then(|v| u32::try_from(v).ok()) else {
            continue;
        };
        let sum = sums.entry(variant).or_default();
        sum.impressions += row.impressions;
        sum.clicks += row.clicks;
        sum.closes += row.closes;
        sum.conversions += row.conversions;
        sum.conversion_value += row.conversion_value;
    }
    sums.into_iter()
        .map(|(variant, s)| {
            let interval = wilson_interval(s.clicks, s.impressions);
            VariantStats {
                variant,
                impressions: s.impressions,
                clicks: s.clicks,
                closes: s.closes,
                ctr: ctr(s.clicks, s.impressions),
                ctr_low: round4(interval.low),
                ctr_high: round4(interval.high),
                conversions: s.conversions,
                conversion_value: s.conversion_value,
                conversion_rate: ctr(s.conversions, s.impressions),
            }
        })
        .collect()
}

/// The range of a figures query: `from` / `to` local days of the `utcOffset` zone.
#[derive(Debug, Clone, Copy)]
struct Range {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    utc_offset: i32,
}

impl Range {
    /// Reads `from`, `to` (both required with `required`, then at most 400 days apart) and
    /// `utcOffset`; a 400 naming every bad one.
    fn parse(query: Option<&str>, required: bool) -> Result<Self, ApiError> {
        let mut bad = Fields::new();
        let mut date = |name: &str| match query_param(query, name) {
            Some(raw) => parse_date(name, &raw)
                .map_err(|(k, v)| bad.insert(k, v))
                .ok(),
            None => {
                if required {
                    bad.insert(name.to_owned(), "required (YYYY-MM-DD)".to_owned());
                }
                None
            }
        };
        let (from, to) = (date("from"), date("to"));
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                bad.insert("from".into(), "must not be after `to`".into());
            } else if required && (to - from).num_days() >= MAX_FILLED_DAYS {
                bad.insert(
                    "to".into(),
                    format!("at most {MAX_FILLED_DAYS} days after `from`"),
                );
            }
        }
        let utc_offset = match query_param(query, "utcOffset") {
            Some(raw) => parse_utc_offset(&raw)
                .map_err(|reason| bad.insert("utcOffset".into(), reason))
                .unwrap_or(0),
            None => 0,
        };
        bad_params(bad)?;
        Ok(Self {
            from,
            to,
            utc_offset,
        })
    }

    /// The instants `[start, end)` of the range (unbounded ends: the widest instants).
    fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        // Local midnight of a date, as an instant: the zone is `utc_offset` minutes east of UTC.
        let offset = TimeDelta::minutes(i64::from(self.utc_offset));
        let midnight = |d: NaiveDate| {
            let utc = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            utc.checked_sub_signed(offset)
                .unwrap_or(if offset > TimeDelta::zero() {
                    DateTime::<Utc>::MIN_UTC
                } else {
                    DateTime::<Utc>::MAX_UTC
                })
        };
        let start = self.from.map_or(DateTime::<Utc>::MIN_UTC, midnight);
        let end = self
            .to
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map_or(DateTime::<Utc>::MAX_UTC, midnight);
        (start, end)
    }
}

/// The CSV answer of figure rows: the header, then one line per day, offer and variant.
fn csv_response(rows: &[FigureRow], filename: &str) -> Response {
    let mut body = String::with_capacity(64 * (rows.len() + 1));
    body.push_str(FIGURES_CSV_HEADER);
    body.push_str("\r\n");
    for row in rows {
        let line = FiguresCsvRow {
            date: date_of(row.day).format("%Y-%m-%d").to_string(),
            offer_id: row.offer_id,
            variant: row.variant.and_then(|v| u32::try_from(v).ok()),
            impressions: row.impressions,
            clicks: row.clicks,
            closes: row.closes,
            conversions: row.conversions,
            conversion_value: row.conversion_value,
        };
        body.push_str(&line.csv_line());
    }
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// An offer's figures per local day and variant, as CSV.
#[utoipa::path(
    get,
    path = "/external/offer/{offerId}/stats.csv",
    tag = "offers",
    params(
        ("offerId" = i64, Path, description = "The offer id"),
        ("from" = Option<String>, Query, description = "First day (YYYY-MM-DD, in the `utcOffset` zone), inclusive"),
        ("to" = Option<String>, Query, description = "Last day (YYYY-MM-DD, in the `utcOffset` zone), inclusive"),
        ("utcOffset" = Option<i32>, Query, description = "The caller's zone in minutes east of UTC (-1080..1080, default 0: UTC days)"),
    ),
    responses(
        (status = 200, description = "RFC 4180 CSV, header `date,offerId,variant,impressions,clicks,closes,conversions,conversionValue` (variant empty for an offer without variants); one line per day with figures, offer and variant", content_type = "text/csv", body = String),
        (status = 400, description = "`from` or `to` not a date, `from` after `to`, or `utcOffset` out of range", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn offer_stats_csv(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = offer_id(path)?;
    let range = Range::parse(query.as_deref(), false)?;
    if state
        .store()
        .offer_ids_among(caller.project_id(), &[id])
        .await?
        .is_empty()
    {
        return Err(ApiError::offer_not_found());
    }
    let (start, end) = range.instants();
    let rows = state
        .store()
        .figure_rows(caller.project_id(), Some(id), start, end, range.utc_offset)
        .await?;
    Ok(csv_response(&rows, &format!("offer-{id}-stats.csv")))
}

/// Every offer's figures per local day and variant, as CSV.
#[utoipa::path(
    get,
    path = "/external/stats.csv",
    tag = "offers",
    params(
        ("from" = String, Query, description = "First day (YYYY-MM-DD, in the `utcOffset` zone), inclusive"),
        ("to" = String, Query, description = "Last day (YYYY-MM-DD, in the `utcOffset` zone), inclusive; at most 400 days after `from`"),
        ("utcOffset" = Option<i32>, Query, description = "The caller's zone in minutes east of UTC (-1080..1080, default 0: UTC days)"),
    ),
    responses(
        (status = 200, description = "RFC 4180 CSV, header `date,offerId,variant,impressions,clicks,closes,conversions,conversionValue`; one line per day with figures, offer and variant, by day then offer", content_type = "text/csv", body = String),
        (status = 400, description = "`from` or `to` missing or not a date, `from` after `to`, over 400 days, or `utcOffset` out of range", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn project_stats_csv(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let range = Range::parse(query.as_deref(), true)?;
    let (start, end) = range.instants();
    let rows = state
        .store()
        .figure_rows(caller.project_id(), None, start, end, range.utc_offset)
        .await?;
    Ok(csv_response(&rows, "stats.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use offers_core::api::ComparisonMetric;

    #[test]
    fn variants_are_summed_and_compared() {
        let row = |variant, impressions, clicks, conversions| FigureRow {
            day: 1,
            offer_id: 3,
            variant,
            impressions,
            clicks,
            conversions,
            ..FigureRow::default()
        };
        let rows = [
            row(Some(0), 500, 20, 0),
            row(Some(0), 500, 20, 0),
            row(Some(1), 1000, 80, 0),
            row(None, 7, 7, 7),
        ];
        let variants = variant_stats(&rows);
        assert_eq!(variants.len(), 2);
        assert_eq!((variants[0].impressions, variants[0].clicks), (1000, 40));
        assert_eq!(variants[1].ctr, 0.08);
        assert!(variants[1].ctr_low < 0.08 && variants[1].ctr_high > 0.08);
        let c = VariantComparison::of(&variants).unwrap();
        assert_eq!((c.leader, c.runner_up, c.significant), (1, 0, true));
        assert_eq!(c.metric, ComparisonMetric::Ctr);
        // Once conversions exist, they decide.
        let rows = [row(Some(0), 100, 5, 9), row(Some(1), 100, 50, 1)];
        let c = VariantComparison::of(&variant_stats(&rows)).unwrap();
        assert_eq!((c.leader, c.runner_up), (0, 1));
        assert_eq!(c.metric, ComparisonMetric::ConversionRate);
        assert_eq!(
            VariantComparison::of(&variant_stats(&[row(Some(0), 1, 1, 0)])),
            None
        );
    }

    #[test]
    fn days_are_filled_between_bounds() {
        let row = |day, impressions| DayTotals {
            day,
            totals: Totals {
                impressions,
                ..Totals::default()
            },
        };
        let d = day_of(NaiveDate::from_ymd_opt(2024, 5, 22).unwrap());
        let rows = [row(d, 3), row(d + 2, 1)];
        let days = fill_days(&rows, None, None);
        let dates: Vec<_> = days
            .iter()
            .map(|d| (d.date.as_str(), d.impressions))
            .collect();
        assert_eq!(
            dates,
            [("2024-05-22", 3), ("2024-05-23", 0), ("2024-05-24", 1)]
        );
        assert_eq!(fill_days(&rows, Some(d - 1), Some(d)).len(), 2);
        assert!(fill_days(&[], None, None).is_empty());
        assert_eq!(fill_days(&[], Some(d), Some(d + 6)).len(), 7);
        assert_eq!(
            fill_days(&rows, Some(d - 1000), None).len(),
            2,
            "too long: data days only"
        );
    }
}
