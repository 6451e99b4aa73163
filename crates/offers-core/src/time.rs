//! Timestamps on the wire: RFC 3339 in UTC with milliseconds and `Z`
//! (`2024-05-22T12:00:01.000Z`).

use crate::reason::reason;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, SecondsFormat, Utc};

/// The reason given for a timestamp that cannot be parsed.
pub const TIMESTAMP_REASON: &str =
    "must be an ISO-8601 date-time with a time zone, e.g. 2024-05-22T12:00:01.000Z";

/// Formats `time` as `2024-05-22T12:00:01.000Z`.
pub fn format_timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 / ISO-8601 date-time with `Z` or an offset (fraction optional),
/// converts it to UTC and truncates it to milliseconds (the wire precision).
///
/// It accepts exactly what chrono's `DateTime::parse_from_rfc3339` accepts (the property tests
/// in `tests/it/properties.rs` compare the two), but is hand-written: chrono's generic parser is
/// several kilobytes of the widget's wasm, which reads every feed offer's times through this.
pub fn parse_timestamp(input: &str) -> Result<DateTime<Utc>, String> {
    parse_rfc3339(input.trim()).ok_or_else(|| reason(TIMESTAMP_REASON))
}

/// `YYYY-MM-DD(T|t| )hh:mm:ss[.f+](Z|z|(+|-|U+2212)hh:mm)`, with a leap second `:60` kept as
/// chrono keeps it (second 59 plus a second of nanoseconds) and offsets below ±24:00.
fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let separators = b.len() >= 19
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !separators {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 7)?, number(8, 10)?)?;
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let (second, leap) = if second == 60 {
        (59, 1_000_000_000)
    } else {
        (second, 0)
    };
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let [b'.', fraction @ ..] = rest {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        // Milliseconds: the first three digits, padded (what truncating to ms leaves).
        for i in 0..3 {
            let digit = fraction[..digits].get(i).map_or(0, |c| u32::from(c - b'0'));
            nanos = nanos * 10 + digit;
        }
        nanos *= 1_000_000;
        rest = &fraction[digits..];
    }
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, leap + nanos)?;
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        // `+`, `-` or U+2212 MINUS SIGN (which chrono accepts too), then `hh:mm`.
        [b'+', h1, h2, b':', m1 @ b'0'..=b'5', m2] => hours_minutes([*h1, *h2, *m1, *m2])?,
        [b'-', h1, h2, b':', m1 @ b'0'..=b'5', m2]
        | [0xE2, 0x88, 0x92, h1, h2, b':', m1 @ b'0'..=b'5', m2] => {
            -hours_minutes([*h1, *h2, *m1, *m2])?
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_seconds)?;
    Some(date.and_time(time).checked_sub_offset(offset)?.and_utc())
}

/// `hhmm` digits as seconds.
fn hours_minutes(digits: [u8; 4]) -> Option<i32> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let [h1, h2, m1, m2] = digits.map(|c| i32::from(c - b'0'));
    Some((h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60)
}

/// `#[serde(with = "crate::time::rfc3339")]` for a `DateTime<Utc>`.
pub(crate) mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(
        time: &DateTime<Utc>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_timestamp(time))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(deserializer)?;
        super::parse_timestamp(&raw).map_err(D::Error::custom)
    }
}

/// `#[serde(with = "crate::time::rfc3339_opt")]` for an `Option<DateTime<Utc>>`.
pub(crate) mod rfc3339_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(crate) fn serialize<S: Serializer>(
        time: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serializer.serialize_some(&super::format_timestamp(time)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(raw) => super::parse_timestamp(&raw)
                .map(Some)
                .map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_with_millis_and_z() {
        let t = Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap();
        assert_eq!(format_timestamp(&t), "2024-05-22T12:00:01.000Z");
    }

    #[test]
    fn parses_z_offsets_and_no_fraction() {
        let t = Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap();
        assert_eq!(parse_timestamp("2024-05-22T12:00:01.000Z"), Ok(t));
        assert_eq!(parse_timestamp("2024-05-22T12:00:01Z"), Ok(t));
        assert_eq!(parse_timestamp(" 2024-05-22T14:00:01+02:00 "), Ok(t));
        assert_eq!(parse_timestamp("2024-05-22T09:30:01-02:30"), Ok(t));
        let precise = parse_timestamp("2024-05-22T12:00:01.123456789Z").unwrap();
        assert_eq!(format_timestamp(&precise), "2024-05-22T12:00:01.123Z");
    }

    #[test]
    fn rejects_naive_and_garbage() {
        for bad in [
            "2024-05-22T12:00:01",
            "2024-05-22",
            "12:00:01Z",
            "yesterday",
            "",
            "2024-13-01T00:00:00Z",
            "2024-05-22T25:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad).unwrap_err(), TIMESTAMP_REASON, "{bad}");
        }
    }
}
