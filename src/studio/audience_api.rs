//! The audience calls of the partner API (SPEC §7): segments and their counts, user profiles
//! and bulk uploads, and the test send. HTTP and error mapping are [`super::api`]'s; the
//! bodies are the core's wire types (`offers_core::api`).

pub use offers_core::api::{
    BulkUpsertResponse, ProfilePage, Segment, SegmentCount, StoredProfile, TestSendAnswer,
};
use serde_json::{Value, json};

use super::api::{ApiFailure, Body, Credentials, call, encode, parse, request};

/// The project's segments.
pub async fn list_segments(credentials: &Credentials) -> Result<Vec<Segment>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/segment", None).await?)
}

/// How many known users are in saved segment `id`.
pub async fn segment_count(credentials: &Credentials, id: i64) -> Result<u64, ApiFailure> {
    let path = format!("/external/segment/{id}/count");
    parse::<SegmentCount>(&call(credentials, "GET", &path, None).await?).map(|c| c.users)
}

/// How many known users an unsaved definition matches (the live count); a 422 names the
/// invalid fields (`conditions[1].op`).
pub async fn count_definition(credentials: &Credentials, body: &Value) -> Result<u64, ApiFailure> {
    let text = call(credentials, "POST", "/external/segment/count", Some(body)).await?;
    parse::<SegmentCount>(&text).map(|c| c.users)
}

/// Creates (`id: None`) or replaces the definition of (`PATCH`) a segment.
pub async fn save_segment(
    credentials: &Credentials,
    id: Option<i64>,
    body: &Value,
) -> Result<Segment, ApiFailure> {
    let (method, path) = match id {
        None => ("POST", "/external/segment".to_owned()),
        Some(id) => ("PATCH", format!("/external/segment/{id}")),
    };
    parse(&call(credentials, method, &path, Some(body)).await?)
}

/// Deletes a segment (a 409 names the offers that use it).
pub async fn delete_segment(credentials: &Credentials, id: i64) -> Result<(), ApiFailure> {
    let path = format!("/external/segment/{id}");
    call(credentials, "DELETE", &path, None).await.map(drop)
}

/// One user's profile, or `None` when the project has none for them (404).
pub async fn get_profile(
    credentials: &Credentials,
    id: &str,
) -> Result<Option<StoredProfile>, ApiFailure> {
    let path = format!("/external/user/{}", encode(id));
    match call(credentials, "GET", &path, None).await {
        Ok(text) => parse(&text).map(Some),
        Err(failure) if failure.status == 404 => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// A page of profiles, only those with `tag` when it is not empty.
pub async fn list_profiles(
    credentials: &Credentials,
    tag: &str,
    limit: usize,
    offset: usize,
) -> Result<ProfilePage, ApiFailure> {
    let mut path = format!("/external/user?limit={limit}&offset={offset}");
    if !tag.trim().is_empty() {
        path.push_str(&format!("&tag={}", encode(tag.trim())));
    }
    parse(&call(credentials, "GET", &path, None).await?)
}

/// What a bulk profile file holds, by its name (`.json` is a JSON array; anything else CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileFile {
    Csv,
    Json,
}

impl ProfileFile {
    /// The kind of file `name`.
    pub fn of(name: &str) -> Self {
        if name.to_ascii_lowercase().ends_with(".json") {
            Self::Json
        } else {
            Self::Csv
        }
    }

    /// The body's content type.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

/// Upserts the profiles of a CSV or JSON file (`POST /external/users`).
pub async fn upload_profiles(
    credentials: &Credentials,
    kind: ProfileFile,
    text: &str,
) -> Result<BulkUpsertResponse, ApiFailure> {
    let body = Body::Text(text, kind.content_type());
    let answer = request(credentials, "POST", "/external/users", body, &[]).await?;
    parse(&answer.text)
}

/// Sends published offer `offer` to user `user` now, as a test.
pub async fn test_send(
    credentials: &Credentials,
    offer: i64,
    user: &str,
) -> Result<TestSendAnswer, ApiFailure> {
    let path = format!("/external/offer/{offer}/test");
    let body = json!({ "userId": user.trim() });
    parse(&call(credentials, "POST", &path, Some(&body)).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_files_by_name() {
        assert_eq!(ProfileFile::of("users.JSON"), ProfileFile::Json);
        assert_eq!(ProfileFile::of("users.csv"), ProfileFile::Csv);
        assert_eq!(ProfileFile::of("export"), ProfileFile::Csv);
        assert!(ProfileFile::Csv.content_type().starts_with("text/csv"));
    }

    #[test]
    fn answers_are_read() {
        let answer: BulkUpsertResponse =
            parse(r#"{"upserted":2,"rejected":[{"line":3,"reason":"points: not a number"}]}"#)
                .unwrap();
        assert_eq!(answer.upserted, 2);
        assert_eq!(answer.rejected[0].line, 3);
        let segments: Vec<Segment> = parse(
            r#"[{"id":1,"name":"VIPs","match":"all","conditions":[{"field":"tag","op":"eq","value":"vip"}],
                "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}]"#,
        )
        .unwrap();
        assert_eq!(segments[0].name.as_str(), "VIPs");
    }
}
