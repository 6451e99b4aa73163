//! `GET /external/offer/{offerId}/stats`: an offer's figures, aggregated from the widget's
//! events, in total and per day — the caller's local days with `utcOffset` (minutes east of
//! UTC), UTC days without. `from` and `to` are such local days.
//!
//! `uniqueUsers` counts distinct user ids among impressions; anonymous impressions (no user,
//! or an unverified one under `requireUserSignature`) count as impressions but not as users.
//! `ctr` is clicks / impressions rounded to 4 decimals (0 without impressions).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use offers_core::api::figures::ctr;
use offers_core::api::{DayStats, ErrorBody, OfferStats};

use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{bad_params, parse_utc_offset, query_param};
use crate::http::offers::offer_id;
use crate::state::AppState;
use crate::store::{DayTotals, Totals};

/// The most days listed in `days` (longer spans list only days with events).
pub(crate) const MAX_FILLED_DAYS: i64 = 400;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/external/offer/{offerId}/stats", get(offer_stats))
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
    let query = query.as_deref();
    let mut bad = Fields::new();
    let mut date = |name: &str| {
        query_param(query, name).and_then(|raw| {
            parse_date(name, &raw)
                .map_err(|(k, v)| bad.insert(k, v))
                .ok()
        })
    };
    let (from, to) = (date("from"), date("to"));
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        bad.insert("from".into(), "must not be after `to`".into());
    }
    let utc_offset = match query_param(query, "utcOffset") {
        Some(raw) => parse_utc_offset(&raw)
            .map_err(|reason| bad.insert("utcOffset".into(), reason))
            .unwrap_or(0),
        None => 0,
    };
    bad_params(bad)?;
    if state
        .store()
        .offer_ids_among(caller.project_id(), &[id])
        .await?
        .is_empty()
    {
        return Err(ApiError::offer_not_found());
    }
    // Local midnight of a date, as an instant: the zone is `utc_offset` minutes east of UTC.
    let offset = TimeDelta::minutes(i64::from(utc_offset));
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - offset;
    let start = from.map_or(DateTime::<Utc>::MIN_UTC, midnight);
    let end = to
        .and_then(|d| d.checked_add_days(Days::new(1)))
        .map_or(DateTime::<Utc>::MAX_UTC, midnight);
    let figures = state
        .store()
        .offer_figures(caller.project_id(), id, start, end, utc_offset)
        .await?;
    let t = figures.totals;
    Ok(Json(OfferStats {
        offer_id: id,
        impressions: t.impressions,
        unique_users: t.unique_users,
        clicks: t.clicks,
        closes: t.closes,
        ctr: ctr(t.clicks, t.impressions),
        days: fill_days(&figures.days, from.map(day_of), to.map(day_of)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
