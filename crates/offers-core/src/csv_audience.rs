//! User ids imported from a CSV file (the rules of seed 001, "Broadcast to selected
//! users"): UTF-8, one column, a header of any kind on the first line, ids with or
//! without quotes.
//!
//! Parsing is line by line and forgiving: a bad line is reported with its 1-based line
//! number and the rest of the file is still read. A UTF-8 byte order mark is ignored;
//! LF and CRLF line ends both work; blank lines are skipped; duplicate ids are dropped
//! (and counted). A quoted field may contain commas and doubled quotes (`""`), but not a
//! line break (an id never does).

use std::collections::BTreeSet;

use crate::text::ExternalId;

/// The result of reading a CSV of user ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvAudience {
    /// The header (the first non-blank line), unquoted when it is one quoted field.
    pub header: Option<String>,
    /// The ids, in file order, without duplicates.
    pub ids: Vec<ExternalId>,
    /// The lines that could not be read.
    pub errors: Vec<CsvRowError>,
    /// How many duplicate ids were dropped.
    pub duplicates: usize,
}

/// A line of the CSV that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRowError {
    /// 1-based line number.
    pub line: usize,
    /// Why, e.g. "more than one column".
    pub reason: String,
}

/// The UTF-8 byte order mark, ignored at the start of a CSV file.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads user ids from the bytes of a CSV file. Never fails as a whole: see the module
/// docs for what is reported per line.
pub fn parse_user_ids(bytes: &[u8]) -> CsvAudience {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut result = CsvAudience::default();
    let mut seen = BTreeSet::new();
    for (index, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_number = index + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let Ok(line) = std::str::from_utf8(raw_line) else {
            if result.header.is_none() {
                result.header = Some(String::from_utf8_lossy(raw_line).trim().to_owned());
            } else {
                result.errors.push(CsvRowError {
                    line: line_number,
                    reason: "not valid UTF-8".to_owned(),
                });
            }
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        if result.header.is_none() {
            result.header = Some(header_text(line));
            continue;
        }
        match read_id(line) {
            Ok(None) => {}
            Ok(Some(id)) => {
                if seen.insert(id.as_str().to_owned()) {
                    result.ids.push(id);
                } else {
                    result.duplicates += 1;
                }
            }
            Err(reason) => result.errors.push(CsvRowError {
                line: line_number,
                reason,
            }),
        }
    }
    result
}

/// The header line: its single field's text if it parses as one field, else the line.
fn header_text(line: &str) -> String {
    match split_fields(line) {
        Ok(fields) if fields.len() == 1 => fields.concat().trim().to_owned(),
        _ => line.trim().to_owned(),
    }
}

/// The id on a data line; `Ok(None)` when every field is blank (e.g. `,,`).
fn read_id(line: &str) -> Result<Option<ExternalId>, String> {
    let fields = split_fields(line)?;
    let mut non_empty = fields.iter().filter(|field| !field.trim().is_empty());
    let Some(first) = non_empty.next() else {
        return Ok(None);
    };
    if non_empty.next().is_some() {
        return Err("more than one column".to_owned());
    }
    ExternalId::parse(first)
        .map(Some)
        .map_err(|reason| format!("invalid id: {reason}"))
}

/// Splits one CSV line into its fields (RFC 4180 quoting, within the line). Also reads the
/// rows of profile files ([`crate::profile::parse_profiles_csv`]).
pub(crate) fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Optional spaces before a quoted field are tolerated.
        let mut field = String::new();
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            field.extend(chars.next());
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            field.clear();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("unterminated quote".to_owned()),
                }
            }
            // Only spaces may follow the closing quote before the separator.
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err("unexpected text after a closing quote".to_owned()),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    Some('"') => return Err("unexpected quote inside an unquoted field".to_owned()),
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(audience: &CsvAudience) -> Vec<&str> {
        audience.ids.iter().map(ExternalId::as_str).collect()
    }

    #[test]
    fn header_then_ids() {
        let csv = parse_user_ids(b"user_id\nu1\nu2\n");
        assert_eq!(csv.header.as_deref(), Some("user_id"));
        assert_eq!(ids(&csv), ["u1", "u2"]);
        assert!(csv.errors.is_empty());
        assert_eq!(csv.duplicates, 0);
    }

    #[test]
    fn bom_crlf_and_quotes() {
        let csv = parse_user_ids(
            b"\xEF\xBB\xBF\"User ID\"\r\n\"u1\"\r\nu2\r\n\"a,b\"\r\n\"say \"\"hi\"\"\"\r\n",
        );
        assert_eq!(csv.header.as_deref(), Some("User ID"));
        assert_eq!(ids(&csv), ["u1", "u2", "a,b", "say \"hi\""]);
        assert!(csv.errors.is_empty());
    }

    #[test]
    fn blank_lines_duplicates_and_trailing_commas() {
        let csv = parse_user_ids(b"\n\nid\n\nu1\n  \nu1\n u2 ,\n,,\n\"u2\"\n");
        assert_eq!(csv.header.as_deref(), Some("id"));
        assert_eq!(ids(&csv), ["u1", "u2"]);
        assert_eq!(csv.duplicates, 2);
        assert!(csv.errors.is_empty());
    }

    #[test]
    fn bad_lines_are_reported_with_line_numbers() {
        let mut bytes = b"id\nu1\nu2,u3\n\"open\nu4\n".to_vec();
        bytes.extend_from_slice(b"bad\xFFutf8\n");
        bytes.extend_from_slice(format!("{}\n", "x".repeat(129)).as_bytes());
        bytes.extend_from_slice(b"ctl\x07id\n\"q\"x\nun\"quoted\nu5");
        let csv = parse_user_ids(&bytes);
        assert_eq!(ids(&csv), ["u1", "u4", "u5"]);
        let errors: Vec<(usize, &str)> = csv
            .errors
            .iter()
            .map(|e| (e.line, e.reason.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (3, "more than one column"),
                (4, "unterminated quote"),
                (6, "not valid UTF-8"),
                (7, "invalid id: at most 128 characters (got 129)"),
                (8, "invalid id: must not contain control characters"),
                (9, "unexpected text after a closing quote"),
                (10, "unexpected quote inside an unquoted field"),
            ]
        );
    }

    #[test]
    fn header_only_and_empty() {
        let csv = parse_user_ids(b"userId\r\n");
        assert_eq!(csv.header.as_deref(), Some("userId"));
        assert!(csv.ids.is_empty() && csv.errors.is_empty());
        let empty = parse_user_ids(b"");
        assert_eq!(empty, CsvAudience::default());
        let bom_only = parse_user_ids(UTF8_BOM);
        assert_eq!(bom_only.header, None);
    }

    #[test]
    fn header_may_be_anything() {
        let csv = parse_user_ids(b"Users, exported 2024-05-01\nu1\n");
        assert_eq!(csv.header.as_deref(), Some("Users, exported 2024-05-01"));
        assert_eq!(ids(&csv), ["u1"]);
    }
}
