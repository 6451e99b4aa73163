//! The Studio's partner-API client: the same `/external/offer` calls a partner's back end
//! makes, with the project's API key and a bearer token. One place does HTTP (plain `fetch`
//! through web-sys) and maps non-2xx answers to [`ApiFailure`].

use std::collections::BTreeMap;

use offers_core::PartnerOffer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// What signs the Studio in: the project's API key (`x-api-key`) and a bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub api_key: String,
    pub token: String,
}

impl Credentials {
    /// The API key, shortened for display (`ok_1a2b…9f0e`).
    pub fn masked_key(&self) -> String {
        let chars: Vec<char> = self.api_key.chars().collect();
        if chars.len() <= 12 {
            return self.api_key.clone();
        }
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    }
}

/// A call that did not succeed: the HTTP status (0 when the API could not be reached) and
/// the API's error body (`{"error": {"code", "message", "fields"}}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// Invalid fields (422), keyed by wire name as the core's errors are.
    pub fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
}

impl ApiFailure {
    /// The failure for an answer with `status` and `body`.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Self {
                status,
                code: error.code,
                message: error.message,
                fields: error.fields,
            },
            Err(_) => Self {
                status,
                message: body.chars().take(200).collect(),
                ..Self::default()
            },
        }
    }

    /// The failure when there is no answer (network error, blocked request, bad JSON).
    pub fn unreachable(detail: impl Into<String>) -> Self {
        Self {
            message: detail.into(),
            ..Self::default()
        }
    }

    /// A sentence for the person at the Studio.
    pub fn describe(&self) -> String {
        let detail = if self.message.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.message)
        };
        match self.status {
            0 => format!("Could not reach the API{detail}."),
            401 => "Not accepted (401): the API key or the token is wrong, revoked, or for \
                    another project."
                .to_owned(),
            403 => format!("Not allowed (403): this token's role may not do that{detail}."),
            404 => format!("Not found (404){detail}: it may have been deleted."),
            422 => format!("The API refused the offer (422){detail}: see the red fields."),
            429 => "Too many requests (429): wait a minute and try again.".to_owned(),
            status => format!("The API answered {status}{detail}."),
        }
    }
}

/// The answer to create and update (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveResponse {
    pub offer: PartnerOffer,
    #[serde(default)]
    pub available_external_room_ids: Vec<String>,
    #[serde(default)]
    pub unavailable_external_room_ids: Vec<String>,
    #[serde(default)]
    pub available_external_user_ids: Vec<String>,
    #[serde(default)]
    pub unavailable_external_user_ids: Vec<String>,
}

/// An offer's all-time figures, when the list carries them (`stats`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Figures {
    #[serde(default)]
    pub impressions: i64,
    #[serde(default)]
    pub clicks: i64,
    #[serde(default)]
    pub ctr: Option<f64>,
}

/// One item of the published list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedOffer {
    pub offer: PartnerOffer,
    pub figures: Option<Figures>,
}

/// Reads a list page; items that do not parse are skipped (and counted).
pub fn parse_list(body: &str) -> Result<(Vec<ListedOffer>, usize), ApiFailure> {
    let items: Vec<Value> = serde_json::from_str(body)
        .map_err(|_| ApiFailure::unreachable("the offer list was not a JSON array"))?;
    let mut skipped = 0;
    let offers = items
        .into_iter()
        .filter_map(|item| {
            let figures = item
                .get("stats")
                .and_then(|stats| Figures::deserialize(stats).ok());
            match PartnerOffer::deserialize(&item) {
                Ok(offer) => Some(ListedOffer { offer, figures }),
                Err(_) => {
                    skipped += 1;
                    None
                }
            }
        })
        .collect();
    Ok((offers, skipped))
}

/// The API's origin: the Studio is served by the API itself, under `/studio/`.
fn api_base() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// One call: `method path` with the credentials and an optional JSON body; the answer's
/// text on 2xx.
async fn call(
    credentials: &Credentials,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<String, ApiFailure> {
    let window = web_sys::window().ok_or_else(|| ApiFailure::unreachable("no window"))?;
    let headers = js_sys::Object::new();
    let set = |name: &str, value: &str| {
        let _ = js_sys::Reflect::set(&headers, &name.into(), &value.into());
    };
    set("accept", "application/json");
    set("x-api-key", credentials.api_key.trim());
    set(
        "authorization",
        &format!("Bearer {}", credentials.token.trim()),
    );
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::Omit);
    if let Some(body) = body {
        set("content-type", "application/json");
        init.set_body(&JsValue::from_str(&body.to_string()));
    }
    init.set_headers(&headers);
    let url = format!("{}{path}", api_base());
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .and_then(JsCast::dyn_into)
        .map_err(|e| ApiFailure::unreachable(js_message(&e)))?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if response.ok() {
        Ok(text)
    } else {
        Err(ApiFailure::from_response(response.status(), &text))
    }
}

/// The text of a JavaScript error.
fn js_message(error: &JsValue) -> String {
    js_sys::Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "network error".to_owned())
}

/// Checks the credentials by reading one offer (`GET /external/offer?limit=1`).
pub async fn check(credentials: &Credentials) -> Result<(), ApiFailure> {
    call(credentials, "GET", "/external/offer?limit=1", None)
        .await
        .map(drop)
}

/// A page of published offers, newest first.
pub async fn list(
    credentials: &Credentials,
    limit: usize,
    offset: usize,
) -> Result<(Vec<ListedOffer>, usize), ApiFailure> {
    let body = call(
        credentials,
        "GET",
        &format!("/external/offer?limit={limit}&offset={offset}"),
        None,
    )
    .await?;
    parse_list(&body)
}

/// Creates (`editing: None`, `POST`) or updates (`PATCH`) an offer.
pub async fn save(
    credentials: &Credentials,
    editing: Option<i64>,
    body: &Value,
) -> Result<SaveResponse, ApiFailure> {
    let (method, path) = match editing {
        None => ("POST", "/external/offer".to_owned()),
        Some(id) => ("PATCH", format!("/external/offer/{id}")),
    };
    let text = call(credentials, method, &path, Some(body)).await?;
    serde_json::from_str(&text)
        .map_err(|_| ApiFailure::unreachable("the API's answer could not be read"))
}

/// Deletes an offer.
pub async fn delete(credentials: &Credentials, id: i64) -> Result<(), ApiFailure> {
    call(
        credentials,
        "DELETE",
        &format!("/external/offer/{id}"),
        None,
    )
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_failures() {
        let failure = ApiFailure::from_response(
            422,
            r#"{"error":{"code":"invalid_offer","message":"invalid offer","fields":{"title":"at most 23 characters (got 30)"}}}"#,
        );
        assert_eq!(failure.code, "invalid_offer");
        assert_eq!(
            failure.fields.get("title").map(String::as_str),
            Some("at most 23 characters (got 30)")
        );
        assert!(failure.describe().contains("422"));
        let failure = ApiFailure::from_response(401, "nope");
        assert!(failure.describe().starts_with("Not accepted (401)"));
        assert!(
            ApiFailure::from_response(403, "")
                .describe()
                .contains("role")
        );
        assert!(
            ApiFailure::unreachable("offline")
                .describe()
                .contains("Could not reach")
        );
    }

    #[test]
    fn list_items_carry_optional_figures() {
        let offer = r##"{"id":3,"pic":null,"template":10,"title":"T","text":"x","link":"https://a.test/",
            "linkText":"Go","templateData":"{\"alignment\":\"center\"}","viewType":"POPUP",
            "showMultipleTimes":false,"showFrerquency":"ON_ENTRY","showDelayMS":0,
            "startTime":"2026-01-01T00:00:00.000Z","endTime":null,"type":"GLOBAL",
            "externalRoomIds":[],"externalUserIds":[]"##;
        let body = format!(
            r#"[{offer},"stats":{{"impressions":10,"clicks":2,"closes":1,"uniqueUsers":4,"ctr":0.2}}}},{offer}}},{{"id":"bad"}}]"#
        );
        let (items, skipped) = parse_list(&body).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(skipped, 1);
        assert_eq!(items[0].figures.unwrap().clicks, 2);
        assert_eq!(items[1].figures, None);
    }

    #[test]
    fn keys_are_masked() {
        let c = Credentials {
            api_key: "ok_0123456789abcdef".into(),
            token: "t".into(),
        };
        assert_eq!(c.masked_key(), "ok_012…cdef");
    }
}
