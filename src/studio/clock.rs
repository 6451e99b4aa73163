//! Time for the Studio: the current instant and the user's local time, which
//! `<input type=datetime-local>` speaks, converted to and from the wire's UTC.
//!
//! In the browser the local time zone is JavaScript's (`Date`); elsewhere (native unit tests)
//! local time is UTC.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};

/// The forms a `datetime-local` input produces.
const LOCAL_FORMATS: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
];

/// Parses a `datetime-local` value (`2026-11-21T10:30`, seconds optional).
pub fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    LOCAL_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Formats a local time as a `datetime-local` value (seconds only when not zero).
pub fn format_local(time: NaiveDateTime) -> String {
    if time.second() == 0 && time.nanosecond() == 0 {
        time.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        time.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

/// The current instant.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now_millis()).unwrap_or_default()
}

#[cfg(target_arch = "wasm32")]
fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

#[cfg(not(target_arch = "wasm32"))]
fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A local `datetime-local` value as the wire's UTC timestamp, or `None` if it is not one.
pub fn local_to_utc(text: &str) -> Option<String> {
    let local = parse_local(text)?;
    local_naive_to_utc(local).map(|t| offers_core::format_timestamp(&t))
}

/// A UTC instant as a local `datetime-local` value.
pub fn utc_to_local(time: &DateTime<Utc>) -> String {
    format_local(utc_to_local_naive(time))
}

/// A UTC instant in local time for reading, e.g. `2026-11-21 10:30`.
pub fn display(time: &DateTime<Utc>) -> String {
    utc_to_local_naive(time)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Now, in local time to the minute: a new form's start.
pub fn now_local_input() -> String {
    let local = utc_to_local_naive(&now());
    format_local(
        local
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(local),
    )
}

/// Today's date in local time.
pub fn today_local() -> chrono::NaiveDate {
    utc_to_local_naive(&now()).date()
}

/// The local time zone's offset from UTC now, in minutes east of UTC (UTC+2 is 120).
pub fn utc_offset_minutes() -> i32 {
    let now = now();
    let local = utc_to_local_naive(&now);
    ((local - now.naive_utc()).num_seconds() as f64 / 60.0).round() as i32
}

/// A UTC timestamp as local `HH:MM`, e.g. for "Draft saved 10:42".
pub fn local_hh_mm(time: &DateTime<Utc>) -> String {
    utc_to_local_naive(time).format("%H:%M").to_string()
}

#[cfg(target_arch = "wasm32")]
fn local_naive_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    let date = js_sys::Date::new_with_year_month_day_hr_min_sec_milli(
        u32::try_from(local.year()).ok()?,
        local.month0() as i32,
        local.day() as i32,
        local.hour() as i32,
        local.minute() as i32,
        local.second() as i32,
        (local.nanosecond() / 1_000_000) as i32,
    );
    let millis = date.get_time();
    if millis.is_nan() {
        return None;
    }
    DateTime::from_timestamp_millis(millis as i64)
}

#[cfg(not(target_arch = "wasm32"))]
fn local_naive_to_utc(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    Some(local.and_utc())
}

#[cfg(target_arch = "wasm32")]
fn utc_to_local_naive(time: &DateTime<Utc>) -> NaiveDateTime {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        time.timestamp_millis() as f64
    ));
    let local = chrono::NaiveDate::from_ymd_opt(
        date.get_full_year() as i32,
        date.get_month() + 1,
        date.get_date(),
    )
    .and_then(|day| {
        day.and_hms_milli_opt(
            date.get_hours(),
            date.get_minutes(),
            date.get_seconds(),
            date.get_milliseconds(),
        )
    });
    local.unwrap_or_else(|| time.naive_utc())
}

#[cfg(not(target_arch = "wasm32"))]
fn utc_to_local_naive(time: &DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_round_trip() {
        assert_eq!(
            local_to_utc("2026-11-21T10:30").as_deref(),
            Some("2026-11-21T10:30:00.000Z")
        );
        assert_eq!(
            local_to_utc("2026-11-21T10:30:15").as_deref(),
            Some("2026-11-21T10:30:15.000Z")
        );
        assert_eq!(local_to_utc("tomorrow"), None);
        assert_eq!(local_to_utc(""), None);
        let t = offers_core::parse_timestamp("2026-11-21T10:30:00.000Z").unwrap();
        assert_eq!(utc_to_local(&t), "2026-11-21T10:30");
        assert_eq!(display(&t), "2026-11-21 10:30");
        assert!(parse_local(&now_local_input()).is_some());
        assert_eq!(utc_offset_minutes(), 0);
        assert_eq!(local_hh_mm(&t), "10:30");
        assert_eq!(today_local(), now().date_naive());
    }
}
