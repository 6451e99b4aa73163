//! The Studio's partner-API client: the same `/external/offer` calls a partner's back end
//! makes, with the project's API key and either a bearer token or the signed-in person's
//! session cookie (then every write carries the session's CSRF token). One place does HTTP
//! (plain `fetch` through web-sys) and maps non-2xx answers to [`ApiFailure`]. The bodies are
//! the shared wire types of `offers_core::api`, the ones the API itself serializes.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use offers_core::PartnerOffer;
use offers_core::access::Grants;
pub use offers_core::api::{
    DayStats, ExplainResponse, ExplainedOffer, OfferStats, SaveOfferResponse, StatsSummary,
    Uploaded,
};
use offers_core::api::{Draft, DraftInput, ErrorBody};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How the Studio's calls are authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Auth {
    /// A project token (`Authorization: Bearer …`), typed at "Sign in with a token".
    Bearer(String),
    /// A person's session: the `offers_session` cookie (HttpOnly, sent by the browser) and
    /// the session's CSRF token, sent as `x-csrf-token` on every write.
    Session { csrf: String },
}

/// Who is signed in with e-mail and password, and as what in this project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub email: String,
    pub project_id: i64,
    pub project_name: String,
    pub role: String,
    pub owner: bool,
    pub grants: Grants,
}

/// What signs the Studio in: the project's API key (`x-api-key`) and a bearer token or a
/// session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub api_key: String,
    pub auth: Auth,
    /// The membership of a session; `None` for a token, whose role the Studio does not know
    /// (every control is offered and the server decides).
    #[serde(default)]
    pub member: Option<Member>,
}

impl Credentials {
    /// A project key and a bearer token.
    pub fn token(api_key: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            auth: Auth::Bearer(token.into()),
            member: None,
        }
    }

    /// The grants this sign-in is known to have (`None`: a token, the server decides).
    pub fn grants(&self) -> Option<&Grants> {
        self.member.as_ref().map(|m| &m.grants)
    }

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

impl ApiFailure {
    /// The failure for an answer with `status` and `body`.
    pub fn from_response(status: u16, body: &str) -> Self {
        match serde_json::from_str::<ErrorBody>(body) {
            Ok(ErrorBody { error }) => Self {
                status,
                code: error.code,
                message: error.message,
                fields: error.fields.unwrap_or_default(),
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
            403 => format!("Not allowed (403): your role may not do that{detail}."),
            404 => format!("Not found (404){detail}: it may have been deleted."),
            412 => format!("Changed elsewhere (412){detail}."),
            413 => format!("Too large (413){detail}."),
            415 => format!("Not a supported type (415){detail}."),
            422 => format!("The API refused the offer (422){detail}: see the red fields."),
            429 => "Too many requests (429): wait a minute and try again.".to_owned(),
            status => format!("The API answered {status}{detail}."),
        }
    }
}

/// One item of the published list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedOffer {
    pub offer: PartnerOffer,
    pub figures: Option<StatsSummary>,
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
                .and_then(|stats| StatsSummary::deserialize(stats).ok());
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

/// What a request carries.
pub enum Body<'a> {
    None,
    /// A JSON body (`content-type: application/json`).
    Json(&'a Value),
    /// A `FormData` object (the browser writes the multipart content type and boundary).
    Form(&'a JsValue),
    /// A text body with its content type (e.g. a CSV file as `text/csv`).
    Text(&'a str, &'a str),
}

/// A 2xx answer: its status, its text and its `ETag` header, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub text: String,
    pub etag: Option<String>,
}

thread_local! {
    /// Told when the server no longer accepts the session (a 401 on a session call).
    static SESSION_ENDED: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Calls `ended` whenever a call made with a session is answered 401 (the session expired,
/// was signed out elsewhere, or its person was disabled).
pub fn on_session_ended(ended: impl Fn() + 'static) {
    SESSION_ENDED.with(|slot| *slot.borrow_mut() = Some(Rc::new(ended)));
}

fn session_ended() {
    if let Some(ended) = SESSION_ENDED.with(|slot| slot.borrow().clone()) {
        ended();
    }
}

/// Whether `method` changes something (and so needs the CSRF token with a session).
pub fn is_write(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// One call: `method path` with the credentials, `body` and `extra` headers; the answer on
/// 2xx, an [`ApiFailure`] otherwise.
pub(super) async fn request(
    credentials: &Credentials,
    method: &str,
    path: &str,
    body: Body<'_>,
    extra: &[(&str, &str)],
) -> Result<Answer, ApiFailure> {
    let mut headers = vec![("x-api-key", credentials.api_key.trim().to_owned())];
    let csrf = match &credentials.auth {
        Auth::Bearer(token) => {
            headers.push(("authorization", format!("Bearer {}", token.trim())));
            None
        }
        Auth::Session { csrf } => Some(csrf.as_str()),
    };
    headers.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
    let result = fetch(method, path, body, &headers, csrf).await;
    if csrf.is_some() && matches!(&result, Err(f) if f.status == 401) {
        session_ended();
    }
    result
}

/// The HTTP call itself. With `session_csrf` the browser sends the session cookie
/// (`credentials: same-origin`) and writes carry `x-csrf-token`; without it no cookie goes.
pub(super) async fn fetch(
    method: &str,
    path: &str,
    body: Body<'_>,
    extra: &[(&str, String)],
    session_csrf: Option<&str>,
) -> Result<Answer, ApiFailure> {
    let window = web_sys::window().ok_or_else(|| ApiFailure::unreachable("no window"))?;
    let headers = js_sys::Object::new();
    let set = |name: &str, value: &str| {
        let _ = js_sys::Reflect::set(&headers, &name.into(), &value.into());
    };
    set("accept", "application/json");
    for (name, value) in extra {
        set(name, value);
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    match session_csrf {
        Some(csrf) => {
            init.set_credentials(web_sys::RequestCredentials::SameOrigin);
            if is_write(method) {
                set("x-csrf-token", csrf);
            }
        }
        None => init.set_credentials(web_sys::RequestCredentials::Omit),
    }
    match body {
        Body::None => {}
        Body::Json(body) => {
            set("content-type", "application/json");
            init.set_body(&JsValue::from_str(&body.to_string()));
        }
        Body::Form(form) => init.set_body(form),
        Body::Text(text, content_type) => {
            set("content-type", content_type);
            init.set_body(&JsValue::from_str(text));
        }
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
        Ok(Answer {
            status: response.status(),
            etag: header(&response, "etag"),
            text,
        })
    } else {
        Err(ApiFailure::from_response(response.status(), &text))
    }
}

/// A response header (through `Reflect`: the crate does not enable web-sys's `Headers`).
fn header(response: &web_sys::Response, name: &str) -> Option<String> {
    let headers = js_sys::Reflect::get(response, &"headers".into()).ok()?;
    let get = js_sys::Reflect::get(&headers, &"get".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    get.call1(&headers, &JsValue::from_str(name))
        .ok()?
        .as_string()
}

/// One call with an optional JSON body; the answer's text on 2xx.
pub(super) async fn call(
    credentials: &Credentials,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<String, ApiFailure> {
    let body = body.map_or(Body::None, Body::Json);
    request(credentials, method, path, body, &[])
        .await
        .map(|answer| answer.text)
}

/// Reads a JSON answer.
pub(super) fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiFailure> {
    serde_json::from_str(text)
        .map_err(|_| ApiFailure::unreachable("the API's answer could not be read"))
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

/// Which published offers to list: only those with `tag`, only those `status`
/// (`scheduled`, `live` or `ended`) now; empty: no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub tag: String,
    pub status: String,
}

impl ListFilter {
    /// The query for a page, its values encoded with `encode`.
    pub fn query(&self, limit: usize, offset: usize, encode: impl Fn(&str) -> String) -> String {
        page_query(
            limit,
            offset,
            &[("tag", &self.tag), ("status", &self.status)],
            encode,
        )
    }
}

/// `limit=…&offset=…` and each `name=value` whose value is not blank (trimmed, encoded with
/// `encode`).
pub fn page_query(
    limit: usize,
    offset: usize,
    params: &[(&str, &str)],
    encode: impl Fn(&str) -> String,
) -> String {
    let mut query = format!("limit={limit}&offset={offset}");
    for (name, value) in params {
        let value = value.trim();
        if !value.is_empty() {
            query.push_str(&format!("&{name}={}", encode(value)));
        }
    }
    query
}

/// A page of published offers, newest first, as `filter` asks.
pub async fn list(
    credentials: &Credentials,
    limit: usize,
    offset: usize,
    filter: &ListFilter,
) -> Result<(Vec<ListedOffer>, usize), ApiFailure> {
    let query = filter.query(limit, offset, encode);
    let body = call(
        credentials,
        "GET",
        &format!("/external/offer?{query}"),
        None,
    )
    .await?;
    parse_list(&body)
}

/// `encodeURIComponent`.
pub(super) fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// Creates (`editing: None`, `POST`) or updates (`PATCH`) an offer.
pub async fn save(
    credentials: &Credentials,
    editing: Option<i64>,
    body: &Value,
) -> Result<SaveOfferResponse, ApiFailure> {
    let (method, path) = match editing {
        None => ("POST", "/external/offer".to_owned()),
        Some(id) => ("PATCH", format!("/external/offer/{id}")),
    };
    parse(&call(credentials, method, &path, Some(body)).await?)
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

/// An offer's figures from `from` to `to` (`YYYY-MM-DD`, inclusive), days counted at
/// `utc_offset` minutes east of UTC.
pub async fn stats(
    credentials: &Credentials,
    id: i64,
    from: &str,
    to: &str,
    utc_offset: i32,
) -> Result<OfferStats, ApiFailure> {
    let path = format!("/external/offer/{id}/stats?from={from}&to={to}&utcOffset={utc_offset}");
    parse(&call(credentials, "GET", &path, None).await?)
}

/// An offer's figures per local day (and variant) from `from` to `to` as CSV
/// (`GET /external/offer/{id}/stats.csv`).
pub async fn stats_csv(
    credentials: &Credentials,
    id: i64,
    from: &str,
    to: &str,
    utc_offset: i32,
) -> Result<String, ApiFailure> {
    let path = format!("/external/offer/{id}/stats.csv?from={from}&to={to}&utcOffset={utc_offset}");
    call(credentials, "GET", &path, None).await
}

/// Uploads `file` (a browser `File`) for an offer of `template`, as the multipart part `file`.
pub async fn upload_image(
    credentials: &Credentials,
    template: &str,
    file: &JsValue,
) -> Result<Uploaded, ApiFailure> {
    let form = new_form_data()
        .ok_or_else(|| ApiFailure::unreachable("this browser cannot build a FormData"))?;
    let append = js_sys::Reflect::get(&form, &"append".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| ApiFailure::unreachable("this browser cannot build a FormData"))?;
    append
        .call2(&form, &JsValue::from_str("file"), file)
        .map_err(|e| ApiFailure::unreachable(js_message(&e)))?;
    let template = js_sys::encode_uri_component(template.trim());
    let path = format!("/external/media?template={template}");
    let answer = request(credentials, "POST", &path, Body::Form(&form), &[]).await?;
    parse(&answer.text)
}

/// `new FormData()` (through `Reflect`: the crate does not enable web-sys's `FormData`).
fn new_form_data() -> Option<JsValue> {
    let constructor = js_sys::Reflect::get(&js_sys::global(), &"FormData".into())
        .ok()?
        .dyn_into::<js_sys::Function>()
        .ok()?;
    js_sys::Reflect::construct(&constructor, &js_sys::Array::new()).ok()
}

/// The project's saved draft (`GET /external/draft`) and its version (`ETag`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerDraft {
    /// The offer as the partner API's body (loosely typed: it may be invalid).
    pub draft: serde_json::Map<String, Value>,
    /// The published offer the draft edits, if any.
    pub editing: Option<i64>,
    pub updated_at: Option<String>,
    pub etag: Option<String>,
}

/// Reads a `GET /external/draft` answer.
pub fn parse_draft(text: &str, etag: Option<String>) -> Result<ServerDraft, ApiFailure> {
    let body: Draft = parse(text)?;
    Ok(ServerDraft {
        draft: serde_json::from_str(body.draft.get()).unwrap_or_default(),
        editing: body.editing,
        updated_at: Some(offers_core::format_timestamp(&body.updated_at)),
        etag,
    })
}

/// The project's draft, or `None` when there is none (404).
pub async fn get_draft(credentials: &Credentials) -> Result<Option<ServerDraft>, ApiFailure> {
    match request(credentials, "GET", "/external/draft", Body::None, &[]).await {
        Ok(answer) => parse_draft(&answer.text, answer.etag).map(Some),
        Err(failure) if failure.status == 404 => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// A saved draft's new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftSaved {
    pub updated_at: Option<String>,
    pub etag: Option<String>,
}

/// Saves the draft (`PUT /external/draft`), replacing version `etag` (`If-Match`: a 412
/// failure means someone else saved it since). With no `etag` (this tab has seen no draft)
/// it asks for `If-None-Match: *`, which the API does not check yet: that first save is
/// unconditional.
pub async fn put_draft(
    credentials: &Credentials,
    draft: &serde_json::Map<String, Value>,
    editing: Option<i64>,
    etag: Option<&str>,
) -> Result<DraftSaved, ApiFailure> {
    let body = serde_json::to_value(DraftInput {
        draft: RawValue::from_string(Value::Object(draft.clone()).to_string())
            .map_err(|e| ApiFailure::unreachable(e.to_string()))?,
        editing,
    })
    .map_err(|e| ApiFailure::unreachable(e.to_string()))?;
    let condition = match etag {
        Some(etag) => [("if-match", etag)],
        None => [("if-none-match", "*")],
    };
    let answer = request(
        credentials,
        "PUT",
        "/external/draft",
        Body::Json(&body),
        &condition,
    )
    .await?;
    let saved = serde_json::from_str::<offers_core::api::DraftSaved>(&answer.text).ok();
    Ok(DraftSaved {
        updated_at: saved.map(|s| offers_core::format_timestamp(&s.updated_at)),
        etag: answer.etag,
    })
}

/// Deletes the project's draft if it is still version `etag` (`If-Match`; a 412 failure
/// when it changed since). A missing draft counts as deleted.
pub async fn delete_draft(credentials: &Credentials, etag: &str) -> Result<(), ApiFailure> {
    let condition = [("if-match", etag)];
    match request(
        credentials,
        "DELETE",
        "/external/draft",
        Body::None,
        &condition,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(failure) if failure.status == 404 => Ok(()),
        Err(failure) => Err(failure),
    }
}

/// The question asked of `GET /external/explain`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExplainQuery {
    pub room: String,
    pub user: Option<String>,
    /// The language the widget would send (`lang`; the user's profile language wins).
    pub lang: Option<String>,
    /// An RFC 3339 instant; `None` for now.
    pub at: Option<String>,
    pub utc_offset: i32,
}

impl ExplainQuery {
    /// The request path, its parameters encoded with `encode`.
    pub fn path(&self, encode: impl Fn(&str) -> String) -> String {
        let mut path = format!("/external/explain?room={}", encode(&self.room));
        if let Some(user) = &self.user {
            path.push_str(&format!("&user={}", encode(user)));
        }
        if let Some(lang) = &self.lang {
            path.push_str(&format!("&lang={}", encode(lang)));
        }
        if let Some(at) = &self.at {
            path.push_str(&format!("&at={}", encode(at)));
        }
        path.push_str(&format!("&utcOffset={}", self.utc_offset));
        path
    }
}

/// Asks why each offer would or would not show.
pub async fn explain(
    credentials: &Credentials,
    query: &ExplainQuery,
) -> Result<ExplainResponse, ApiFailure> {
    let path = query.path(|s| String::from(js_sys::encode_uri_component(s)));
    parse(&call(credentials, "GET", &path, None).await?)
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
            "externalRoomIds":[],"externalUserIds":[],
            "createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z""##;
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
    fn new_answers_are_read() {
        let stats: OfferStats = parse(
            r#"{"offerId":3,"impressions":5,"uniqueUsers":2,"clicks":1,"closes":0,"ctr":0.2,
                "days":[{"date":"2026-11-20","impressions":0,"uniqueUsers":0,"clicks":0,"closes":0},
                        {"date":"2026-11-21","impressions":5,"uniqueUsers":2,"clicks":1,"closes":0}]}"#,
        )
        .unwrap();
        assert_eq!(stats.days.len(), 2);
        assert_eq!(stats.days[1].unique_users, 2);
        let draft = parse_draft(
            r#"{"draft":{"title":"T","template":10},"editing":null,"updatedAt":"2026-11-21T10:42:00Z"}"#,
            Some("\"v3\"".into()),
        )
        .unwrap();
        assert_eq!(draft.draft["title"], "T");
        assert_eq!(draft.editing, None);
        assert_eq!(draft.etag.as_deref(), Some("\"v3\""));
        let explained: ExplainResponse = parse(
            r#"{"room":"room-2","user":null,"at":"2026-11-21T10:00:00Z","optedOut":false,
                "offers":[{"offerId":4,"title":"T","template":10,"status":"live","shown":false,
                "checks":[{"rule":"audience","ok":false,"detail":"room room-2 is not among the offer's rooms"}]}]}"#,
        )
        .unwrap();
        assert!(!explained.offers[0].shown);
        assert_eq!(
            explained.offers[0].checks[0].rule,
            offers_core::Rule::Audience
        );
        let query = ExplainQuery {
            room: "room 1".into(),
            user: Some("u&1".into()),
            lang: None,
            at: None,
            utc_offset: -60,
        };
        assert_eq!(
            query.path(|s| s.replace(' ', "%20").replace('&', "%26")),
            "/external/explain?room=room%201&user=u%261&utcOffset=-60"
        );
    }

    #[test]
    fn list_filters_become_query_parameters() {
        let filter = ListFilter {
            tag: " spring ".into(),
            status: String::new(),
        };
        assert_eq!(
            filter.query(11, 10, str::to_owned),
            "limit=11&offset=10&tag=spring"
        );
        let filter = ListFilter {
            tag: "a b".into(),
            status: "live".into(),
        };
        assert_eq!(
            filter.query(11, 0, |s| s.replace(' ', "%20")),
            "limit=11&offset=0&tag=a%20b&status=live"
        );
    }

    #[test]
    fn keys_are_masked() {
        let c = Credentials::token("ok_0123456789abcdef", "t");
        assert_eq!(c.masked_key(), "ok_012…cdef");
    }
}
