//! Timestamps on the wire: RFC 3339 in UTC with milliseconds and `Z`
//! (`2024-05-22T12:00:01.000Z`).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// The reason given for a timestamp that cannot be parsed.
pub const TIMESTAMP_REASON: &str =
    "must be an ISO-8601 date-time with a time zone, e.g. 2024-05-22T12:00:01.000Z";

/// Formats `time` as `2024-05-22T12:00:01.000Z`.
pub fn format_timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 / ISO-8601 date-time with `Z` or an offset (fraction optional),
/// converts it to UTC and truncates it to milliseconds (the wire precision).
pub fn parse_timestamp(input: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(input.trim())
        .map(|time| time.with_timezone(&Utc).trunc_subsecs(3))
        .map_err(|_| TIMESTAMP_REASON.to_owned())
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
