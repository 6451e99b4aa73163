//! User profiles (SPEC §7): a user's language, tags and typed attributes, as partners upsert
//! them one at a time ([`Profile::parse`]) or in bulk ([`parse_profiles_json`],
//! [`parse_profiles_csv`]).
//!
//! Every type here holds only valid values: [`AttrKey`] (`[A-Za-z][A-Za-z0-9_]{0,63}`),
//! [`AttrValue`] (a text of at most 256 characters, a finite number or a boolean),
//! [`ProfileTag`] and the [`LanguageTag`] of [`crate::language`]. Deserializing a [`Profile`]
//! runs [`Profile::parse`], so a stored profile read back is as valid as one received.
//!
//! Bulk input is read row by row: a bad row is reported ([`RowRejection`], with its line) and
//! never stops the good ones; only input that cannot be read as a whole (not a JSON array, a
//! CSV header that does not name valid columns, too many rows) is an error.

use crate::reason::reason;
use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::FieldErrors;
pub use crate::language::LanguageTag;
use crate::newtype::string_newtype;
use crate::text::{ExternalId, checked_text};

/// The most characters an [`AttrKey`] may have.
pub const ATTR_KEY_MAX_CHARS: usize = 64;
/// The most characters a text [`AttrValue`] may have.
pub const ATTR_TEXT_MAX_CHARS: usize = 256;
/// The most characters a [`ProfileTag`] may have.
pub const TAG_MAX_CHARS: usize = 64;
/// The most tags a profile may have.
pub const MAX_PROFILE_TAGS: usize = 100;
/// The most attributes a profile may have.
pub const MAX_ATTRIBUTES: usize = 100;
/// The most profiles one bulk upsert may carry (JSON elements or CSV data rows).
pub const MAX_BULK_PROFILES: usize = 100_000;

/// The reason given for an attribute key that is not `[A-Za-z][A-Za-z0-9_]{0,63}`.
pub const ATTR_KEY_REASON: &str = "attribute names start with a letter and hold only letters, digits and _ (at most 64 characters)";
/// The reason given for an attribute value of another type.
pub const ATTR_VALUE_REASON: &str = "must be a string, number or boolean";

/// The top-level fields of a profile.
const PROFILE_FIELDS: [&str; 3] = ["language", "tags", "attributes"];

/// An attribute's name: `[A-Za-z][A-Za-z0-9_]{0,63}` (case-sensitive: `points` and `Points`
/// are two attributes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrKey(String);

impl AttrKey {
    /// Parses an attribute name (not trimmed: a name with spaces is not a name).
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut bytes = input.bytes();
        let valid = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && input.len() <= ATTR_KEY_MAX_CHARS;
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(reason(ATTR_KEY_REASON))
        }
    }
}

string_newtype!(AttrKey);

/// A tag on a profile (`vip`, `gold`) or on an offer ([`OfferTag`]): 1–64 characters after
/// trimming, no `|` (the CSV separator), no control or bidi characters, something visible.
/// Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileTag(String);

impl ProfileTag {
    /// Parses a tag: trimmed, 1–64 characters, one line, no `|`.
    pub fn parse(input: &str) -> Result<Self, String> {
        let text = checked_text(input, TAG_MAX_CHARS, false)?;
        if text.contains('|') {
            return Err(reason("must not contain |"));
        }
        Ok(Self(text))
    }
}

string_newtype!(ProfileTag);

/// An offer's tag (for finding offers): the same rules as a [`ProfileTag`].
pub type OfferTag = ProfileTag;

/// An attribute's value: a text (1–256 characters, one line), a finite number or a boolean.
/// On the wire a JSON string, number or boolean.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A text, trimmed, 1–256 characters, without control or bidi characters.
    Text(String),
    /// A finite number.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

impl AttrValue {
    /// A value from JSON: a string (checked as [`AttrValue::text`]), a number or a boolean.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Self::text(s),
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Self::Number)
                .ok_or_else(|| reason(crate::strict_json::OUT_OF_RANGE)),
            Value::Bool(b) => Ok(Self::Bool(*b)),
            _ => Err(reason(ATTR_VALUE_REASON)),
        }
    }

    /// A text value: trimmed, 1–256 characters, one line, no bidi controls, something visible.
    pub fn text(input: &str) -> Result<Self, String> {
        checked_text(input, ATTR_TEXT_MAX_CHARS, false).map(Self::Text)
    }

    /// A CSV cell's value: `true` / `false` (any case) is a boolean, a JSON number (`1200`,
    /// `-3.5`, `1e3`; not `007`, `+1` or `NaN`) a number, anything else a text.
    pub fn from_cell(cell: &str) -> Result<Self, String> {
        let cell = cell.trim();
        if cell.eq_ignore_ascii_case("true") {
            return Ok(Self::Bool(true));
        }
        if cell.eq_ignore_ascii_case("false") {
            return Ok(Self::Bool(false));
        }
        if is_json_number(cell)
            && let Ok(number) = cell.parse::<f64>()
            && number.is_finite()
        {
            return Ok(Self::Number(number));
        }
        Self::text(cell)
    }

    /// The value as merge-tag text: the text itself, `true` / `false`, or the number as
    /// written without a trailing `.0` (`1200`, `2.5`).
    pub fn to_text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Bool(b) => b.to_string(),
            Self::Number(n) if *n == 0.0 => "0".to_owned(),
            Self::Number(n) => n.to_string(),
        }
    }

    /// The value as JSON (an integral number within ±2^53 as an integer).
    pub fn to_json(&self) -> Value {
        match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => number_json(*n),
        }
    }

    /// `text`, `number` or `boolean`.
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Number(_) => "number",
            Self::Bool(_) => "boolean",
        }
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// `n` as JSON: an integer when it is one (and exactly representable), else a float.
fn number_json(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// The JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = usize::from(bytes.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let int_digits = digits(&mut i);
    if int_digits == 0 || (int_digits > 1 && bytes[int_start] == b'0') {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == bytes.len()
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

/// What a project knows of one user: language, tags and attributes (SPEC §7). Every part is
/// optional; missing fields are empty.
///
/// On the wire `{"language": "de", "tags": ["vip"], "attributes": {"firstName": "Ana",
/// "points": 1200, "verified": true}}` (`language` is `null` when unknown). Tags are sorted
/// and without duplicates. Deserializing runs [`Profile::parse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Value")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// The user's language, if known.
    pub language: Option<LanguageTag>,
    /// The user's tags, sorted, without duplicates (at most [`MAX_PROFILE_TAGS`]).
    #[cfg_attr(feature = "openapi", schema(max_items = 100))]
    pub tags: Vec<ProfileTag>,
    /// The user's attributes (at most [`MAX_ATTRIBUTES`]).
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, AttrValue>))]
    pub attributes: BTreeMap<AttrKey, AttrValue>,
}

impl TryFrom<Value> for Profile {
    type Error = FieldErrors;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl Profile {
    /// Reads a profile body (`PUT /external/user/{id}`), reporting every invalid field at
    /// once: `language`, `tags[2]`, `tags` (too many), `attributes.points`, `attributes` (too
    /// many or not an object), `<name>: unknown field`; a body that is not an object is
    /// reported as `body`. `null` or a missing field means empty.
    pub fn parse(value: &Value) -> Result<Profile, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Value::Object(map) = value else {
            errors.insert("body", "must be a JSON object");
            return Err(errors);
        };
        for key in map.keys().filter(|k| !PROFILE_FIELDS.contains(&k.as_str())) {
            errors.insert(field_name(key), "unknown field");
        }
        let profile = profile_fields(&mut errors, map);
        if errors.is_empty() {
            Ok(profile)
        } else {
            Err(errors)
        }
    }

    /// Whether the user has `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.binary_search_by(|t| t.as_str().cmp(tag)).is_ok()
    }

    /// The attribute `key`, if the user has it.
    pub fn attribute(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }
}

/// A field name for an error (a very long unknown key is cut).
fn field_name(key: &str) -> String {
    const SHOWN: usize = 80;
    if key.chars().count() > SHOWN {
        format!("{}…", key.chars().take(SHOWN).collect::<String>())
    } else {
        key.to_owned()
    }
}

/// `language`, `tags` and `attributes` of `map` (other keys are the caller's business).
fn profile_fields(e: &mut FieldErrors, map: &Map<String, Value>) -> Profile {
    let language = match map.get("language") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => LanguageTag::parse(s)
            .map_err(|reason| e.insert("language", reason))
            .ok(),
        Some(_) => {
            e.insert("language", crate::language::LANGUAGE_REASON);
            None
        }
    };
    Profile {
        language,
        tags: tags(e, map.get("tags")),
        attributes: attributes(e, map.get("attributes")),
    }
}

fn tags(e: &mut FieldErrors, value: Option<&Value>) -> Vec<ProfileTag> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            e.insert("tags", "must be an array of tags");
            return Vec::new();
        }
    };
    let mut tags = Vec::with_capacity(items.len().min(MAX_PROFILE_TAGS));
    for (index, item) in items.iter().enumerate() {
        let parsed = match item {
            Value::String(s) => ProfileTag::parse(s),
            _ => Err(reason("must be a string")),
        };
        match parsed {
            Ok(tag) => tags.push(tag),
            Err(reason) => e.insert(format!("tags[{index}]"), reason),
        }
    }
    sorted_tags(e, tags, MAX_PROFILE_TAGS)
}

/// `tags` sorted and deduplicated; more than `max` is an error under `tags` (also for an
/// offer's tags).
pub(crate) fn sorted_tags(
    e: &mut FieldErrors,
    mut tags: Vec<ProfileTag>,
    max: usize,
) -> Vec<ProfileTag> {
    tags.sort();
    tags.dedup();
    if tags.len() > max {
        e.insert("tags", format!("at most {max} tags (got {})", tags.len()));
    }
    tags
}

fn attributes(e: &mut FieldErrors, value: Option<&Value>) -> BTreeMap<AttrKey, AttrValue> {
    let map = match value {
        None | Some(Value::Null) => return BTreeMap::new(),
        Some(Value::Object(map)) => map,
        Some(_) => {
            e.insert("attributes", "must be a JSON object");
            return BTreeMap::new();
        }
    };
    if map.len() > MAX_ATTRIBUTES {
        e.insert(
            "attributes",
            format!("at most {MAX_ATTRIBUTES} attributes (got {})", map.len()),
        );
    }
    let mut attributes = BTreeMap::new();
    for (key, value) in map {
        let parsed = AttrKey::parse(key).and_then(|k| Ok((k, AttrValue::from_json(value)?)));
        match parsed {
            Ok((key, value)) => {
                attributes.insert(key, value);
            }
            Err(reason) => e.insert(format!("attributes.{}", field_name(key)), reason),
        }
    }
    attributes
}

/// One profile of a bulk upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// The user.
    pub id: ExternalId,
    /// The user's whole profile (it replaces what was stored).
    pub profile: Profile,
}

/// A row of a bulk upsert that was not read; nothing of it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowRejection {
    /// The JSON array's element (1-based) or the CSV file's physical line (the header is 1).
    pub line: usize,
    /// Why, naming the field, e.g. `attributes.points: must be a string, number or boolean`.
    pub reason: String,
}

/// A bulk upsert read: the profiles to store and the rows rejected.
///
/// `rows` holds each user id once: when an id repeats, the later row wins and replaces the
/// earlier one (which is not reported as rejected), as if the rows were upserted in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkProfiles {
    /// The profiles to upsert, one per user id, in order of first appearance.
    pub rows: Vec<ProfileRow>,
    /// The rows not read, in input order.
    pub rejected: Vec<RowRejection>,
}

impl BulkProfiles {
    /// Takes one read row at `line`: the row, or its rejection.
    fn read(
        &mut self,
        index: &mut BTreeMap<String, usize>,
        line: usize,
        row: Result<ProfileRow, String>,
    ) {
        match row {
            Ok(row) => self.push(index, row),
            Err(reason) => self.rejected.push(RowRejection { line, reason }),
        }
    }

    /// Adds a row (replacing an earlier row of the same user).
    fn push(&mut self, index: &mut BTreeMap<String, usize>, row: ProfileRow) {
        match index.get(row.id.as_str()) {
            Some(&at) => self.rows[at] = row,
            None => {
                index.insert(row.id.as_str().to_owned(), self.rows.len());
                self.rows.push(row);
            }
        }
    }
}

/// The one-line reason of a row's field errors: `field: reason; field: reason`.
fn row_reason(errors: &FieldErrors) -> String {
    errors.to_string()
}

/// Too many rows in a bulk upsert.
fn too_many(count: usize) -> FieldErrors {
    let mut errors = FieldErrors::new();
    errors.insert(
        "body",
        format!("at most {MAX_BULK_PROFILES} profiles per upsert (got {count})"),
    );
    errors
}

/// The reason for a bulk upsert body that is not an array of profile objects.
const NOT_AN_ARRAY: &str =
    "must be a JSON array of {\"id\", \"language\", \"tags\", \"attributes\"} objects";

/// Reads a bulk upsert sent as JSON: an array of `{"id", "language", "tags", "attributes"}`.
/// A bad element is rejected with its 1-based position as `line` and its field errors as the
/// reason; the others are read. `Err` (field `body`) when `value` is not an array or holds
/// more than [`MAX_BULK_PROFILES`] elements.
pub fn parse_profiles_json(value: &Value) -> Result<BulkProfiles, FieldErrors> {
    let Value::Array(items) = value else {
        let mut errors = FieldErrors::new();
        errors.insert("body", NOT_AN_ARRAY);
        return Err(errors);
    };
    if items.len() > MAX_BULK_PROFILES {
        return Err(too_many(items.len()));
    }
    let mut bulk = BulkProfiles::default();
    let mut index = BTreeMap::new();
    for (position, item) in items.iter().enumerate() {
        bulk.read(&mut index, position + 1, profile_row(item));
    }
    Ok(bulk)
}

/// Reads a bulk upsert from the JSON texts of its array's elements, one at a time, so only
/// one element is ever held as a [`Value`] (a 100,000-row body as one `Value` tree is many
/// times the body's size). Each element is read strictly ([`crate::strict_json`]): a key
/// repeated in it or a number out of range rejects that row alone, naming the field. Otherwise
/// the same as [`parse_profiles_json`].
pub fn parse_profiles_json_elements(
    items: &[&serde_json::value::RawValue],
) -> Result<BulkProfiles, FieldErrors> {
    if items.len() > MAX_BULK_PROFILES {
        return Err(too_many(items.len()));
    }
    let mut bulk = BulkProfiles::default();
    let mut index = BTreeMap::new();
    for (position, item) in items.iter().enumerate() {
        let row = match crate::strict_json::parse(item.get().as_bytes()) {
            Ok(value) => profile_row(&value),
            Err(e) => Err(strict_reason(&e)),
        };
        bulk.read(&mut index, position + 1, row);
    }
    Ok(bulk)
}

/// A strict reader's finding about one element, as a row's reason.
fn strict_reason(error: &crate::strict_json::StrictJsonError) -> String {
    use crate::strict_json::{OUT_OF_RANGE, REPEATED, StrictJsonError};
    match error {
        StrictJsonError::Repeated(paths) => paths
            .iter()
            .map(|path| format!("{path}: {REPEATED}"))
            .collect::<Vec<_>>()
            .join("; "),
        StrictJsonError::OutOfRange { field: Some(field) } => format!("{field}: {OUT_OF_RANGE}"),
        other => other.to_string(),
    }
}

/// One element of a JSON bulk upsert: the row, or the reason it is rejected.
fn profile_row(item: &Value) -> Result<ProfileRow, String> {
    let mut errors = FieldErrors::new();
    let Value::Object(map) = item else {
        return Err(reason("must be a JSON object"));
    };
    for key in map
        .keys()
        .filter(|k| *k != "id" && !PROFILE_FIELDS.contains(&k.as_str()))
    {
        errors.insert(field_name(key), "unknown field");
    }
    let id = match map.get("id") {
        None | Some(Value::Null) => {
            errors.insert("id", crate::validate::REQUIRED);
            None
        }
        Some(Value::String(s)) => ExternalId::parse(s)
            .map_err(|reason| errors.insert("id", reason))
            .ok(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => {
            ExternalId::parse(&n.to_string()).ok()
        }
        Some(_) => {
            errors.insert("id", "must be a string");
            None
        }
    };
    let profile = profile_fields(&mut errors, map);
    match id {
        Some(id) if errors.is_empty() => Ok(ProfileRow { id, profile }),
        _ => Err(row_reason(&errors)),
    }
}

/// What a CSV column holds.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Id,
    Language,
    Tags,
    Attribute(AttrKey),
}

/// Reads a bulk upsert sent as CSV (seed 001's rules): UTF-8 (a byte order mark is ignored),
/// LF or CRLF line ends, a header row naming the columns with `id` first; `language` and
/// `tags` (separated by `|`) are read as such, every other column is an attribute whose
/// header must be an attribute name. A cell is typed by [`AttrValue::from_cell`]; an empty
/// cell leaves the attribute (or language, or tags) out. Blank lines are skipped; a quoted
/// cell may hold commas and doubled quotes (`""`), not line breaks.
///
/// A bad row is rejected with its physical line number (the header is line 1 unless blank
/// lines precede it) and every reason at once; the other rows are read. `Err` when there is
/// no header, when a column name is invalid, repeated or `id` is not first (field `header`
/// or `header[N]`, N the 1-based column), or when there are more than
/// [`MAX_BULK_PROFILES`] data rows (`body`).
pub fn parse_profiles_csv(bytes: &[u8]) -> Result<BulkProfiles, FieldErrors> {
    let bytes = bytes
        .strip_prefix(crate::csv_audience::UTF8_BOM)
        .unwrap_or(bytes);
    let mut columns: Option<Vec<Column>> = None;
    let mut bulk = BulkProfiles::default();
    let mut index = BTreeMap::new();
    let mut data_rows = 0usize;
    for (number, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = number + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let text = std::str::from_utf8(raw_line);
        if text.is_ok_and(|t| t.trim().is_empty()) {
            continue;
        }
        let Some(columns) = &columns else {
            columns = Some(header(text.map_err(|_| {
                let mut errors = FieldErrors::new();
                errors.insert("header", "not valid UTF-8");
                errors
            })?)?);
            continue;
        };
        data_rows += 1;
        if data_rows > MAX_BULK_PROFILES {
            let total = data_rows
                + bytes[..]
                    .split(|&b| b == b'\n')
                    .skip(line)
                    .filter(|l| !l.trim_ascii().is_empty())
                    .count();
            return Err(too_many(total));
        }
        let row = match text {
            Ok(text) => csv_row(columns, text),
            Err(_) => Err(reason("not valid UTF-8")),
        };
        bulk.read(&mut index, line, row);
    }
    if columns.is_none() {
        let mut errors = FieldErrors::new();
        errors.insert(
            "header",
            "required: a first line naming the columns, id first",
        );
        return Err(errors);
    }
    Ok(bulk)
}

/// The columns a header line names.
fn header(line: &str) -> Result<Vec<Column>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let names = crate::csv_audience::split_fields(line).map_err(|reason| {
        errors.insert("header", reason);
        errors.clone()
    })?;
    if names.len() > MAX_ATTRIBUTES + 3 {
        errors.insert(
            "header",
            format!(
                "at most {} columns (got {})",
                MAX_ATTRIBUTES + 3,
                names.len()
            ),
        );
        return Err(errors);
    }
    let mut columns: Vec<Column> = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let name = name.trim();
        let key = format!("header[{}]", index + 1);
        let column = match name.to_ascii_lowercase().as_str() {
            "id" => Column::Id,
            "language" => Column::Language,
            "tags" => Column::Tags,
            _ => match AttrKey::parse(name) {
                Ok(key) => Column::Attribute(key),
                Err(reason) => {
                    errors.insert(key, format!("{:?}: {reason}", field_name(name)));
                    continue;
                }
            },
        };
        if (index == 0) != (column == Column::Id) {
            errors.insert(
                key,
                format!(
                    "{:?}: the first column must be id, and only the first",
                    field_name(name)
                ),
            );
        } else if columns.contains(&column) {
            errors.insert(
                key,
                format!("{:?}: {}", field_name(name), crate::strict_json::REPEATED),
            );
        } else {
            columns.push(column);
            continue;
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

/// One data row under `columns`.
fn csv_row(columns: &[Column], line: &str) -> Result<ProfileRow, String> {
    let cells = crate::csv_audience::split_fields(line)?;
    if cells
        .iter()
        .skip(columns.len())
        .any(|c| !c.trim().is_empty())
    {
        return Err(format!(
            "more cells than the header has columns ({})",
            columns.len()
        ));
    }
    let mut errors = FieldErrors::new();
    let mut id = None;
    let mut profile = Profile::default();
    let mut tags = Vec::new();
    for (column, cell) in columns.iter().zip(&cells) {
        if cell.trim().is_empty() {
            continue;
        }
        match column {
            Column::Id => match ExternalId::parse(cell) {
                Ok(parsed) => id = Some(parsed),
                Err(reason) => errors.insert("id", reason),
            },
            Column::Language => match LanguageTag::parse(cell) {
                Ok(language) => profile.language = Some(language),
                Err(reason) => errors.insert("language", reason),
            },
            Column::Tags => {
                for (index, part) in cell.split('|').enumerate() {
                    if part.trim().is_empty() {
                        continue;
                    }
                    match ProfileTag::parse(part) {
                        Ok(tag) => tags.push(tag),
                        Err(reason) => errors.insert(format!("tags[{index}]"), reason),
                    }
                }
            }
            Column::Attribute(key) => match AttrValue::from_cell(cell) {
                Ok(value) => {
                    profile.attributes.insert(key.clone(), value);
                }
                Err(reason) => errors.insert(format!("attributes.{key}"), reason),
            },
        }
    }
    profile.tags = sorted_tags(&mut errors, tags, MAX_PROFILE_TAGS);
    if id.is_none() && !errors.contains("id") {
        errors.insert("id", crate::validate::REQUIRED);
    }
    match id {
        Some(id) if errors.is_empty() => Ok(ProfileRow { id, profile }),
        _ => Err(row_reason(&errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(s: &str) -> AttrKey {
        AttrKey::parse(s).unwrap()
    }

    #[test]
    fn attribute_keys() {
        for ok in [
            "a",
            "firstName",
            "points_2024",
            &format!("a{}", "b".repeat(63)),
        ] {
            assert_eq!(key(ok).as_str(), ok);
        }
        for bad in [
            "",
            "1a",
            "_a",
            "first name",
            "a-b",
            "é",
            &"a".repeat(65),
            " a",
        ] {
            assert_eq!(AttrKey::parse(bad).unwrap_err(), ATTR_KEY_REASON, "{bad:?}");
        }
        assert!(serde_json::from_value::<AttrKey>(json!("a b")).is_err());
    }

    #[test]
    fn attribute_values() {
        assert_eq!(
            AttrValue::from_json(&json!(" Ana ")).unwrap(),
            AttrValue::Text("Ana".into())
        );
        assert_eq!(
            AttrValue::from_json(&json!(1200)).unwrap(),
            AttrValue::Number(1200.0)
        );
        assert_eq!(
            AttrValue::from_json(&json!(true)).unwrap(),
            AttrValue::Bool(true)
        );
        for bad in [json!(null), json!([1]), json!({"a": 1})] {
            assert_eq!(AttrValue::from_json(&bad).unwrap_err(), ATTR_VALUE_REASON);
        }
        assert!(AttrValue::from_json(&json!("x".repeat(257))).is_err());
        assert!(AttrValue::from_json(&json!("a\nb")).is_err());
        assert!(AttrValue::from_json(&json!("")).is_err());
        assert_eq!(AttrValue::Number(1200.0).to_text(), "1200");
        assert_eq!(AttrValue::Number(2.5).to_text(), "2.5");
        assert_eq!(AttrValue::Number(-0.0).to_text(), "0");
        assert_eq!(AttrValue::Bool(false).to_text(), "false");
        assert_eq!(
            serde_json::to_value(AttrValue::Number(1200.0)).unwrap(),
            json!(1200)
        );
        assert_eq!(
            serde_json::to_value(AttrValue::Number(0.5)).unwrap(),
            json!(0.5)
        );
        assert_eq!(
            serde_json::to_value(AttrValue::Text("a".into())).unwrap(),
            json!("a")
        );
    }

    #[test]
    fn cells_are_typed() {
        for (cell, value) in [
            ("true", AttrValue::Bool(true)),
            ("FALSE", AttrValue::Bool(false)),
            ("1200", AttrValue::Number(1200.0)),
            ("-3.5", AttrValue::Number(-3.5)),
            ("1e3", AttrValue::Number(1000.0)),
            ("007", AttrValue::Text("007".into())),
            ("+1", AttrValue::Text("+1".into())),
            ("NaN", AttrValue::Text("NaN".into())),
            ("inf", AttrValue::Text("inf".into())),
            ("1.", AttrValue::Text("1.".into())),
            ("Ana", AttrValue::Text("Ana".into())),
        ] {
            assert_eq!(AttrValue::from_cell(cell).unwrap(), value, "{cell}");
        }
        assert_eq!(
            AttrValue::from_cell("1e999").unwrap(),
            AttrValue::Text("1e999".into())
        );
    }

    #[test]
    fn tags_rules() {
        assert_eq!(ProfileTag::parse(" vip ").unwrap().as_str(), "vip");
        assert_eq!(ProfileTag::parse("a|b").unwrap_err(), "must not contain |");
        assert!(ProfileTag::parse("").is_err());
        assert!(ProfileTag::parse(&"t".repeat(65)).is_err());
        assert!(ProfileTag::parse("\u{200B}").is_err());
    }

    #[test]
    fn profile_parse_reads_the_documented_body() {
        let profile = Profile::parse(&json!({
            "language": "de", "tags": ["vip", "gold", "vip"],
            "attributes": {"firstName": "Ana", "points": 1200, "verified": true}
        }))
        .unwrap();
        assert_eq!(profile.language.as_ref().unwrap().as_str(), "de");
        assert_eq!(
            profile.tags,
            [
                ProfileTag::parse("gold").unwrap(),
                ProfileTag::parse("vip").unwrap()
            ]
        );
        assert!(profile.has_tag("vip") && !profile.has_tag("VIP"));
        assert_eq!(
            profile.attribute("points"),
            Some(&AttrValue::Number(1200.0))
        );
        assert_eq!(
            serde_json::to_value(&profile).unwrap(),
            json!({"language": "de", "tags": ["gold", "vip"],
                   "attributes": {"firstName": "Ana", "points": 1200, "verified": true}})
        );
        let back: Profile =
            serde_json::from_value(serde_json::to_value(&profile).unwrap()).unwrap();
        assert_eq!(back, profile);
        assert_eq!(Profile::parse(&json!({})).unwrap(), Profile::default());
        assert_eq!(
            Profile::parse(&json!({"language": null, "tags": null, "attributes": null})).unwrap(),
            Profile::default()
        );
    }

    #[test]
    fn profile_parse_names_every_bad_field() {
        let errors = Profile::parse(&json!({
            "language": "deutsch", "tags": ["ok", 3, "a|b"],
            "attributes": {"points": [1], "first name": "x", "ok": 1},
            "extra": 1
        }))
        .unwrap_err();
        assert_eq!(
            errors.get("language"),
            Some(crate::language::LANGUAGE_REASON)
        );
        assert_eq!(errors.get("tags[1]"), Some("must be a string"));
        assert_eq!(errors.get("tags[2]"), Some("must not contain |"));
        assert_eq!(errors.get("attributes.points"), Some(ATTR_VALUE_REASON));
        assert_eq!(errors.get("attributes.first name"), Some(ATTR_KEY_REASON));
        assert_eq!(errors.get("extra"), Some("unknown field"));
        assert_eq!(errors.len(), 6);
        assert_eq!(
            Profile::parse(&json!([])).unwrap_err().get("body"),
            Some("must be a JSON object")
        );
        let many: Map<String, Value> = (0..=MAX_ATTRIBUTES)
            .map(|i| (format!("a{i}"), json!(i)))
            .collect();
        let errors = Profile::parse(&json!({"attributes": many})).unwrap_err();
        assert_eq!(
            errors.get("attributes"),
            Some("at most 100 attributes (got 101)")
        );
        let tags: Vec<String> = (0..=MAX_PROFILE_TAGS).map(|i| format!("t{i}")).collect();
        let errors = Profile::parse(&json!({"tags": tags})).unwrap_err();
        assert_eq!(errors.get("tags"), Some("at most 100 tags (got 101)"));
    }

    /// A bulk read's rejections as (line, reason).
    fn rejections(bulk: &BulkProfiles) -> Vec<(usize, &str)> {
        bulk.rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect()
    }

    #[test]
    fn bulk_json() {
        let bulk = parse_profiles_json(&json!([
            {"id": "u1", "language": "de", "tags": ["vip"]},
            {"id": "u2", "attributes": {"points": {"a": 1}}},
            "nope",
            {"language": "en"},
            {"id": "u3", "colour": "red"},
            {"id": "u1", "attributes": {"points": 5}},
            {"id": 42}
        ]))
        .unwrap();
        let ids: Vec<&str> = bulk.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["u1", "42"]);
        assert_eq!(
            bulk.rows[0].profile.attribute("points"),
            Some(&AttrValue::Number(5.0))
        );
        assert_eq!(
            bulk.rows[0].profile.language, None,
            "the later row replaces the earlier"
        );
        let rejected = rejections(&bulk);
        assert_eq!(
            rejected,
            [
                (2, "attributes.points: must be a string, number or boolean"),
                (3, "must be a JSON object"),
                (4, "id: required"),
                (5, "colour: unknown field"),
            ]
        );
        assert!(
            parse_profiles_json(&json!({"id": "u1"}))
                .unwrap_err()
                .contains("body")
        );
    }

    #[test]
    fn bulk_json_elements_reject_only_the_bad_row() {
        let text = r#"[{"id": "u1", "tags": ["vip"]},
            {"id": "u2", "language": "de", "language": "en"},
            {"id": "u3", "attributes": {"points": 1e400}},
            {"id": "u4", "attributes": {"a": 1, "a": 2}},
            "nope",
            {"id": "u5"}]"#;
        let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(text).unwrap();
        let bulk = parse_profiles_json_elements(&items).unwrap();
        let ids: Vec<&str> = bulk.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["u1", "u5"]);
        let rejected = rejections(&bulk);
        assert_eq!(
            rejected,
            [
                (2, "language: given more than once"),
                (
                    3,
                    "attributes.points: number out of range (a JSON number must fit a 64-bit float)"
                ),
                (4, "attributes.a: given more than once"),
                (5, "must be a JSON object"),
            ]
        );
        let many = vec![items[0]; MAX_BULK_PROFILES + 1];
        assert!(
            parse_profiles_json_elements(&many)
                .unwrap_err()
                .contains("body")
        );
    }

    #[test]
    fn bulk_csv() {
        let csv = "\u{FEFF}id,language,tags,firstName,points,verified\r\n\
                   u1,de,vip|gold,Ana,1200,true\r\n\
                   \r\n\
                   u2,,,\"Smith, J\",,\r\n\
                   u3,deutsch,a|b|,Bo,x,\r\n\
                   ,de\r\n\
                   u4,en,,,,,extra\r\n\
                   \"u5\",en\r\n\
                   u6,\"open\r\n";
        let bulk = parse_profiles_csv(csv.as_bytes()).unwrap();
        let ids: Vec<&str> = bulk.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["u1", "u2", "u5"]);
        let u1 = &bulk.rows[0].profile;
        assert_eq!(u1.language.as_ref().unwrap().as_str(), "de");
        assert!(u1.has_tag("vip") && u1.has_tag("gold"));
        assert_eq!(u1.attribute("points"), Some(&AttrValue::Number(1200.0)));
        assert_eq!(u1.attribute("verified"), Some(&AttrValue::Bool(true)));
        assert_eq!(
            bulk.rows[1].profile.attribute("firstName"),
            Some(&AttrValue::Text("Smith, J".into()))
        );
        assert_eq!(bulk.rows[1].profile.attribute("points"), None);
        let rejected = rejections(&bulk);
        assert_eq!(rejected.len(), 4, "{rejected:?}");
        assert_eq!(rejected[0].0, 5);
        assert!(rejected[0].1.starts_with("language: "), "{rejected:?}");
        assert_eq!(rejected[1], (6, "id: required"));
        assert_eq!(
            rejected[2],
            (7, "more cells than the header has columns (6)")
        );
        assert_eq!(rejected[3], (9, "unterminated quote"));
    }

    #[test]
    fn bulk_csv_header_errors() {
        let errors = parse_profiles_csv(b"language,id,first name,points,points\nx\n").unwrap_err();
        assert!(
            errors
                .get("header[1]")
                .unwrap()
                .contains("first column must be id")
        );
        assert!(
            errors
                .get("header[2]")
                .unwrap()
                .contains("first column must be id")
        );
        assert!(errors.get("header[3]").unwrap().contains(ATTR_KEY_REASON));
        assert!(
            errors
                .get("header[5]")
                .unwrap()
                .contains("given more than once")
        );
        assert!(parse_profiles_csv(b"").unwrap_err().contains("header"));
        assert!(parse_profiles_csv(b"\n\n").unwrap_err().contains("header"));
        assert!(parse_profiles_csv(b"id\n").unwrap().rows.is_empty());
    }
}
