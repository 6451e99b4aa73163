//! The HTTP API, end to end through `app(state)`, each test run once on SQLite and once on
//! PostgreSQL (see `common::both_backends!`).

use crate::common;

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use offers_api::auth::Role;
use serde_json::{Value, json};

const SEED_TEMPLATE_DATA: &str = r##"{"alignment": "center","bgColor": "#736969","btnColor": "#1890bf","btnTextColor": "#fff","textColor": "#000","gradient": true,"gradientFrom": "#60e753","gradientTo": "#e4efe7","gradientDirection": "135deg" }"##;

/// The `--form` arguments of the documented "Type 1 - Text" example, as written there.
const SEED_TYPE1_ARGS: &[&str] = &[
    r#"template="10""#,
    r#"title="Title""#,
    r#"text="Text""#,
    r#"link="https://www.watchers.io/""#,
    r#"linkText="Click me""#,
    r##"templateData="{\"alignment\": \"center\",\"bgColor\": \"#736969\",\"btnColor\": \"#1890bf\",\"btnTextColor\": \"#fff\",\"textColor\": \"#000\",\"gradient\": true,\"gradientFrom\": \"#60e753\",\"gradientTo\": \"#e4efe7\",\"gradientDirection\": \"135deg\" }""##,
    r#"showFrerquency="DAILY""#,
    r#"showDelayMS="0""#,
    r#"startTime="2024-05-22T12:00:01.000Z""#,
    r#"type="GLOBAL""#,
];

/// The documented "Type 2 - Image" example.
const SEED_TYPE2_ARGS: &[&str] = &[
    r#"template="11""#,
    r#"pic="https://watchers.io/_next/static/media/hand-03.16265125.webp""#,
    r#"link="https://www.watchers.io/""#,
    r#"showFrerquency="DAILY""#,
    r#"showDelayMS="0""#,
    r#"startTime="2024-05-22T12:00:01.000Z""#,
    r#"type="GLOBAL""#,
];

fn args_as_fields(args: &[&str]) -> Vec<(String, String)> {
    curl_form_args(args)
}

async fn multipart_args(t: &TestApp, method: Method, uri: &str, args: &[&str]) -> Resp {
    let fields = args_as_fields(args);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    t.multipart(method, uri, &t.a, Role::Owner, &refs).await
}

fn assert_seed_type1(offer: &Value) {
    assert_eq!(offer["template"], 10);
    assert_eq!(offer["title"], "Title");
    assert_eq!(offer["text"], "Text");
    assert_eq!(offer["link"], "https://www.watchers.io/");
    assert_eq!(offer["linkText"], "Click me");
    assert_eq!(offer["showFrerquency"], "DAILY");
    assert_eq!(offer["showDelayMS"], 0);
    assert_eq!(offer["showMultipleTimes"], false);
    assert_eq!(offer["startTime"], "2024-05-22T12:00:01.000Z");
    assert_eq!(offer["endTime"], Value::Null);
    assert_eq!(offer["type"], "GLOBAL");
    assert_eq!(offer["pic"], Value::Null);
    let data: Value = serde_json::from_str(
        offer["templateData"]
            .as_str()
            .expect("templateData is a string"),
    )
    .unwrap();
    let seed: Value = serde_json::from_str(SEED_TEMPLATE_DATA).unwrap();
    assert_eq!(data, seed);
}

/// The documented response keys of an offer, all present.
const PARTNER_KEYS: &[&str] = &[
    "id",
    "pic",
    "template",
    "title",
    "text",
    "link",
    "linkText",
    "templateData",
    "showMultipleTimes",
    "showFrerquency",
    "showDelayMS",
    "startTime",
    "endTime",
    "type",
];

fn assert_partner_shape(offer: &Value) {
    for key in PARTNER_KEYS {
        assert!(offer.get(*key).is_some(), "missing `{key}` in {offer}");
    }
    assert!(offer["id"].as_i64().is_some_and(|id| id > 0));
    assert!(offer["templateData"].is_string());
}

// ---------------------------------------------------------------- create / read

both_backends!(create_json_then_get_and_list, |t| {
    let created = t.create_a(&text_offer()).await;
    let offer = &created["offer"];
    assert_partner_shape(offer);
    assert_seed_type1(offer);
    for key in [
        "availableExternalRoomIds",
        "unavailableExternalRoomIds",
        "availableExternalUserIds",
        "unavailableExternalUserIds",
    ] {
        assert_eq!(created[key], json!([]), "{key}");
    }
    let id = offer["id"].as_i64().unwrap();

    let got = t.get_a(&format!("/external/offer/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.json(), offer);

    let list = t.get_a("/external/offer?limit=10&offset=0").await;
    assert_eq!(list.status, StatusCode::OK);
    // List items carry the documented fields plus their figures.
    let mut listed = offer.clone();
    listed["stats"] = json!({"impressions": 0, "clicks": 0, "closes": 0, "uniqueUsers": 0, "ctr": 0.0,
            "conversions": 0, "conversionValue": 0.0, "conversionRate": 0.0});
    assert_eq!(list.json(), json!([listed]));

    // templateData may also arrive as a JSON string inside JSON.
    let as_string = with(&text_offer(), json!({"templateData": SEED_TEMPLATE_DATA}));
    let created = t.create_a(&as_string).await;
    assert_seed_type1(&created["offer"]);
});

both_backends!(create_with_seed_curl_multipart_type1, |t| {
    let r = multipart_args(&t, Method::POST, "/external/offer", SEED_TYPE1_ARGS).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let body = r.json();
    assert_partner_shape(&body["offer"]);
    assert_seed_type1(&body["offer"]);
});

both_backends!(create_with_seed_curl_multipart_type2_image, |t| {
    let r = multipart_args(&t, Method::POST, "/external/offer", SEED_TYPE2_ARGS).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let offer = &r.json()["offer"];
    assert_partner_shape(offer);
    assert_eq!(offer["template"], 11);
    assert_eq!(
        offer["pic"],
        "https://watchers.io/_next/static/media/hand-03.16265125.webp"
    );
    assert_eq!(offer["title"], Value::Null);
    assert_eq!(offer["linkText"], Value::Null);
    assert_eq!(offer["type"], "GLOBAL");
});

both_backends!(seed_curl_requests_byte_for_byte_over_a_socket, |t| {
    let server = RealServer::start(t.router.clone()).await;
    let (key, token) = (t.a.api_key().to_owned(), t.a.owner.clone());

    // Type 1, exactly as curl 7.88.1 sent the documented command.
    let (head, body) = fixture_request("seed_post_type1.http", &key, &token, None);
    let (status, _, resp) = http_request(&server.addr, &head, &body).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&resp));
    let created: Value = serde_json::from_slice(&resp).unwrap();
    assert_seed_type1(&created["offer"]);
    let id = created["offer"]["id"].as_i64().unwrap();

    // Type 2 (image).
    let (head, body) = fixture_request("seed_post_type2.http", &key, &token, None);
    let (status, _, resp) = http_request(&server.addr, &head, &body).await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&resp));
    let image: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(image["offer"]["template"], 11);
    let image_id = image["offer"]["id"].as_i64().unwrap();

    // The PATCH example (type 1 fields) turns the image offer into the text offer.
    let (head, body) = fixture_request(
        "seed_patch_type1.http",
        &key,
        &token,
        Some(&format!("/external/offer/{image_id}")),
    );
    let (status, _, resp) = http_request(&server.addr, &head, &body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    let patched: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(patched["offer"]["id"], image_id);
    assert_eq!(patched["offer"]["template"], 10);
    assert_eq!(patched["offer"]["title"], "Title");
    // The example does not send `pic`: it is kept (only fields sent change).
    assert_eq!(
        patched["offer"]["pic"],
        "https://watchers.io/_next/static/media/hand-03.16265125.webp"
    );

    // The documented command is missing a `\`: curl then POSTs with no body at all.
    let (head, body) = fixture_request("seed_post_missing_backslash.http", &key, &token, None);
    assert!(body.is_empty());
    let (status, head_out, resp) = http_request(&server.addr, &head, &body).await;
    assert_eq!(status, 415, "{}", String::from_utf8_lossy(&resp));
    assert!(
        head_out
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    let error: Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(error["error"]["code"], "unsupported_media_type");
    let message = error["error"]["message"].as_str().unwrap();
    for accepted in [
        "multipart/form-data",
        "application/json",
        "application/x-www-form-urlencoded",
    ] {
        assert!(message.contains(accepted), "{message}");
    }
    assert!(
        t.get_a(&format!("/external/offer/{id}"))
            .await
            .status
            .is_success()
    );
    server.stop().await;
});

both_backends!(create_urlencoded, |t| {
    let form = "template=10&title=Hello&text=World&link=https%3A%2F%2Fexample.com%2F&linkText=Go\
                &startTime=2024-05-22T12%3A00%3A01.000Z&type=ROOM&externalRoomIds=r1&externalRoomIds=r2\
                &showMultipleTimes=true&showFrequency=ON_ENTRY&showDelayMS=1500&viewType=IN_FEED";
    let r = t
        .send(
            t.req(Method::POST, "/external/offer", &t.a, Role::Owner)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let offer = &r.json()["offer"];
    assert_eq!(offer["type"], "ROOM");
    assert_eq!(offer["externalRoomIds"], json!(["r1", "r2"]));
    assert_eq!(offer["showMultipleTimes"], true);
    assert_eq!(offer["showFrerquency"], "ON_ENTRY");
    assert_eq!(offer["showDelayMS"], 1500);
    assert_eq!(offer["viewType"], "IN_FEED");
});

both_backends!(multipart_id_lists_in_every_form, |t| {
    let base: Vec<(&str, &str)> = vec![
        ("template", "10"),
        ("title", "T"),
        ("text", "X"),
        ("link", "https://example.com/"),
        ("linkText", "Go"),
        ("startTime", "2024-05-22T12:00:01.000Z"),
        ("type", "USER"),
    ];
    for ids in [
        vec![("externalUserIds", "u1"), ("externalUserIds", "u2")],
        vec![("externalUserIds", r#"["u1","u2"]"#)],
        vec![("externalUserIds", "u1, u2")],
    ] {
        let mut fields = base.clone();
        fields.extend(ids);
        let r = t
            .multipart(Method::POST, "/external/offer", &t.a, Role::Owner, &fields)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(r.json()["offer"]["externalUserIds"], json!(["u1", "u2"]));
    }
});

// ---------------------------------------------------------------- validation

both_backends!(every_validation_rule_reaches_the_wire_as_422, |t| {
    let base = text_offer();
    let cases: Vec<(Value, &str)> = vec![
        (with(&base, json!({"title": "x".repeat(24)})), "title"),
        (with(&base, json!({"title": "é".repeat(24)})), "title"),
        (with(&base, json!({"title": "😀".repeat(24)})), "title"),
        (with(&base, json!({"text": "x".repeat(181)})), "text"),
        (with(&base, json!({"text": null})), "text"),
        (with(&base, json!({"linkText": "x".repeat(81)})), "linkText"),
        (with(&base, json!({"link": "javascript:alert(1)"})), "link"),
        (with(&base, json!({"link": "data:text/html,hi"})), "link"),
        (with(&base, json!({"link": "/relative"})), "link"),
        (
            with(&base, json!({"templateData": {"bgColor": "url(evil)"}})),
            "templateData.bgColor",
        ),
        (
            with(
                &base,
                json!({"templateData": {"textColor": "red; background: url(x)"}}),
            ),
            "templateData.textColor",
        ),
        (
            with(&base, json!({"endTime": "2024-05-22T12:00:01.000Z"})),
            "endTime",
        ),
        (
            with(&base, json!({"endTime": "2024-05-01T00:00:00.000Z"})),
            "endTime",
        ),
        (with(&base, json!({"startTime": "yesterday"})), "startTime"),
        (with(&base, json!({"showDelayMS": -1})), "showDelayMS"),
        (with(&base, json!({"type": "ROOM"})), "externalRoomIds"),
        (with(&base, json!({"type": "USER"})), "externalUserIds"),
        (with(&base, json!({"type": "EVERYONE"})), "type"),
        (with(&base, json!({"template": 15})), "template"),
        (with(&base, json!({"template": 9})), "template"),
        (with(&base, json!({"template": 11})), "pic"),
        (
            with(&base, json!({"showFrerquency": "HOURLY"})),
            "showFrerquency",
        ),
        (with(&base, json!({"viewType": "SIDEBAR"})), "viewType"),
        (
            with(&base, json!({"showMultipleTimes": "maybe"})),
            "showMultipleTimes",
        ),
    ];
    for (body, field) in cases {
        let r = t
            .json(Method::POST, "/external/offer", &t.a, Role::Owner, &body)
            .await;
        r.invalid(&[field]);
    }
    // Every bad field at once.
    let all_bad = with(
        &base,
        json!({"title": "x".repeat(30), "link": "javascript:alert(1)", "showDelayMS": -5,
               "type": "ROOM", "templateData": {"bgColor": "nope"}}),
    );
    let r = t
        .json(Method::POST, "/external/offer", &t.a, Role::Owner, &all_bad)
        .await;
    let fields = r.invalid(&[
        "title",
        "link",
        "showDelayMS",
        "externalRoomIds",
        "templateData.bgColor",
    ]);
    assert!(fields.as_object().unwrap().len() >= 5);
    // Nothing was written.
    assert_eq!(t.get_a("/external/offer").await.json(), json!([]));

    // The same through multipart: field names reach the wire too.
    let r = t
        .multipart(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &[
                ("template", "10"),
                ("title", &"y".repeat(24)),
                ("link", "javascript:alert(1)"),
            ],
        )
        .await;
    r.invalid(&["title", "link", "text", "linkText", "startTime"]);
});

// ---------------------------------------------------------------- auth

both_backends!(auth_401_and_403, |t| {
    let list = "/external/offer";
    let no_key = Request::get(list)
        .header(header::AUTHORIZATION, format!("Bearer {}", t.a.owner))
        .body(Body::empty())
        .unwrap();
    t.send(no_key)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");

    let wrong_key = Request::get(list)
        .header("x-api-key", "ok_not_a_real_key")
        .header(header::AUTHORIZATION, format!("Bearer {}", t.a.owner))
        .body(Body::empty())
        .unwrap();
    t.send(wrong_key)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");

    let no_token = Request::get(list)
        .header("x-api-key", t.a.api_key())
        .body(Body::empty())
        .unwrap();
    let r = t.send(no_token).await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(r.header("www-authenticate").is_some());

    // A forged token: project A's token with the role in its payload changed to owner.
    let mut parts: Vec<&str> = t.a.viewer.split('.').collect();
    let mut claims = offers_api::auth::peek_claims(&t.a.viewer).unwrap();
    claims.role = Role::Owner;
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims).unwrap());
    parts[1] = &payload;
    let forged = parts.join(".");
    for bad in [forged.as_str(), "garbage", "ofr.e30.AAAA", ""] {
        let r = t
            .send(
                Request::get(list)
                    .header("x-api-key", t.a.api_key())
                    .header(header::AUTHORIZATION, format!("Bearer {bad}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // Project B's token with project A's key, and the reverse.
    for (key, token) in [(t.a.api_key(), &t.b.owner), (t.b.api_key(), &t.a.owner)] {
        let r = t
            .send(
                Request::get(list)
                    .header("x-api-key", key)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    }

    // 403: a viewer cannot create, an editor cannot delete.
    let r = t
        .json(Method::POST, list, &t.a, Role::Viewer, &text_offer())
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .json(Method::POST, list, &t.a, Role::Editor, &text_offer())
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let id = t.create_a_id(&text_offer()).await;
    let uri = format!("/external/offer/{id}");
    let r = t.empty(Method::DELETE, &uri, &t.a, Role::Editor).await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Viewer,
            &json!({"title": "New"}),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    // The role is checked before the body is read: a viewer's bad body is still a 403.
    let r = t.empty(Method::POST, list, &t.a, Role::Viewer).await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    // Viewers read, editors update.
    let r = t.empty(Method::GET, &uri, &t.a, Role::Viewer).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"title": "New"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
});

both_backends!(tenant_isolation, |t| {
    let id = t.create_a_id(&text_offer()).await;
    let uri = format!("/external/offer/{id}");
    let unknown = t
        .empty(Method::GET, "/external/offer/999999", &t.b, Role::Owner)
        .await;
    let unknown_body = unknown.error(StatusCode::NOT_FOUND, "not_found");

    let read = t.empty(Method::GET, &uri, &t.b, Role::Owner).await;
    assert_eq!(
        read.error(StatusCode::NOT_FOUND, "not_found"),
        unknown_body,
        "ids must not leak"
    );
    let patch = t
        .json(
            Method::PATCH,
            &uri,
            &t.b,
            Role::Owner,
            &json!({"title": "Hijacked"}),
        )
        .await;
    patch.error(StatusCode::NOT_FOUND, "not_found");
    let delete = t.empty(Method::DELETE, &uri, &t.b, Role::Owner).await;
    delete.error(StatusCode::NOT_FOUND, "not_found");
    let list_b = t
        .empty(Method::GET, "/external/offer", &t.b, Role::Owner)
        .await;
    assert_eq!(list_b.json(), json!([]));

    // Project A's offer is untouched.
    let still = t.get_a(&uri).await;
    assert_eq!(still.status, StatusCode::OK);
    assert_eq!(still.json()["title"], "Title");

    // B's feed does not show A's offers.
    let feed = t
        .send(
            Request::get(format!("/widget/v1/offers?key={}&room=r", t.b.public_key()))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(feed.json()["offers"], json!([]));
});

// ---------------------------------------------------------------- pagination

both_backends!(pagination_edges, |t| {
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = with(&text_offer(), json!({"title": format!("Offer {i}")}));
        ids.push(t.create_a_id(&body).await);
    }
    let titles = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["title"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newest first; default limit.
    let all = t.get_a("/external/offer").await;
    assert_eq!(titles(all.json()), ["Offer 2", "Offer 1", "Offer 0"]);
    assert_eq!(
        titles(t.get_a("/external/offer?limit=2").await.json()),
        ["Offer 2", "Offer 1"]
    );
    assert_eq!(
        titles(t.get_a("/external/offer?limit=2&offset=2").await.json()),
        ["Offer 0"]
    );
    assert_eq!(t.get_a("/external/offer?limit=0").await.json(), json!([]));
    assert_eq!(
        t.get_a("/external/offer?limit=1000")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        t.get_a("/external/offer?offset=1000000").await.json(),
        json!([])
    );
    assert_eq!(
        t.get_a("/external/offer?offset=99999999999999999999999999")
            .await
            .json(),
        json!([])
    );
    for (query, param) in [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("offset=-3", "offset"),
        ("offset=1e3", "offset"),
    ] {
        let r = t.get_a(&format!("/external/offer?{query}")).await;
        let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
        assert!(error["fields"][param].is_string(), "{query}: {error}");
        assert!(error["message"].as_str().unwrap().contains(param));
    }
});

// ---------------------------------------------------------------- patch / delete

both_backends!(patch_changes_only_the_fields_sent, |t| {
    let body = with(
        &text_offer(),
        json!({"endTime": "2030-01-01T00:00:00.000Z", "showDelayMS": 250}),
    );
    let id = t.create_a_id(&body).await;
    let uri = format!("/external/offer/{id}");
    let before = t.get_a(&uri).await.json();

    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"title": "Changed"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let after = r.json()["offer"].clone();
    // The documented PATCH answer's `advertisement` (seed 002), from the same offer.
    let ad = r.json()["advertisement"].clone();
    for (ad_key, offer_key) in [
        ("title", "title"),
        ("text", "text"),
        ("pic", "pic"),
        ("link", "link"),
        ("linkText", "linkText"),
        ("template", "template"),
        ("templateData", "templateData"),
        ("sendTime", "startTime"),
        ("deleteTime", "endTime"),
        ("createdAt", "createdAt"),
        ("updatedAt", "updatedAt"),
        ("id", "id"),
    ] {
        assert_eq!(ad[ad_key], after[offer_key], "advertisement.{ad_key}");
    }
    assert_eq!(ad["templatePic"], Value::Null, "template 10 has no picture");
    assert!(
        ad["status"] == "live" || ad["status"] == "scheduled",
        "{ad}"
    );
    assert!(ad["messages"].is_array());
    assert!(after["updatedAt"].as_str() >= before["updatedAt"].as_str());
    assert_eq!(after["createdAt"], before["createdAt"]);
    let mut expected = before.clone();
    expected["title"] = json!("Changed");
    expected["updatedAt"] = after["updatedAt"].clone();
    assert_eq!(after, expected);
    assert_eq!(t.get_a(&uri).await.json(), expected);

    // One field through multipart.
    let r = t
        .multipart(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &[("showDelayMS", "900")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["offer"]["showDelayMS"], 900);
    assert_eq!(r.json()["offer"]["title"], "Changed");

    // null clears endTime.
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"endTime": null}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["offer"]["endTime"], Value::Null);
    assert_eq!(t.get_a(&uri).await.json()["endTime"], Value::Null);

    // An invalid merge is a 422 and nothing is written.
    let stored = t.get_a(&uri).await.json();
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"title": "Fine", "endTime": "2000-01-01T00:00:00.000Z"}),
        )
        .await;
    r.invalid(&["endTime"]);
    assert_eq!(t.get_a(&uri).await.json(), stored);

    // Switching the audience: ROOM with rooms, then back to GLOBAL without naming the rooms.
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"type": "ROOM", "externalRoomIds": ["r9"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["offer"]["externalRoomIds"], json!(["r9"]));
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Editor,
            &json!({"type": "GLOBAL"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["offer"]["externalRoomIds"], json!([]));

    // Unknown, non-numeric, and malformed ids.
    for bad in ["999999", "abc", "-1", "0", "1.5"] {
        let r = t
            .json(
                Method::PATCH,
                &format!("/external/offer/{bad}"),
                &t.a,
                Role::Editor,
                &json!({"title": "x"}),
            )
            .await;
        r.error(StatusCode::NOT_FOUND, "not_found");
    }
});

both_backends!(delete_answers_true_then_404, |t| {
    let id = t.create_a_id(&text_offer()).await;
    let uri = format!("/external/offer/{id}");
    let r = t.empty(Method::DELETE, &uri, &t.a, Role::Owner).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "true");
    let again = t.empty(Method::DELETE, &uri, &t.a, Role::Owner).await;
    let gone = again.error(StatusCode::NOT_FOUND, "not_found");
    let get = t.get_a(&uri).await;
    assert_eq!(get.error(StatusCode::NOT_FOUND, "not_found"), gone);
    let abc = t.get_a("/external/offer/abc").await;
    assert_eq!(
        abc.error(StatusCode::NOT_FOUND, "not_found"),
        gone,
        "same body for malformed ids"
    );
});

// ---------------------------------------------------------------- opt-out and feed

async fn feed(t: &TestApp, query: &str) -> Resp {
    t.feed_of_a(query).await
}

fn feed_ids(r: &Resp) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

both_backends!(opt_out_excludes_the_user_and_false_brings_them_back, |t| {
    let id = t.create_a_id(&text_offer()).await;
    assert_eq!(feed_ids(&feed(&t, "room=r1&user=alice").await), [id]);

    for path in [
        "/user/external/advertisment",
        "/user/external/advertisement",
    ] {
        let r = t
            .json(
                Method::POST,
                path,
                &t.a,
                Role::Editor,
                &json!({"decryptedUserId": "alice", "value": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert!(r.body.is_empty(), "201 with an empty body");
    }
    assert_eq!(
        feed_ids(&feed(&t, "room=r1&user=alice").await),
        Vec::<i64>::new()
    );
    assert_eq!(
        feed_ids(&feed(&t, "room=r1&user=bob").await),
        [id],
        "others still see it"
    );

    // Form-encoded, value=false: alice is back.
    let r = t
        .send(
            t.req(
                Method::POST,
                "/user/external/advertisment",
                &t.a,
                Role::Owner,
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("decryptedUserId=alice&value=false"))
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(feed_ids(&feed(&t, "room=r1&user=alice").await), [id]);

    // Multipart works as well.
    let r = t
        .multipart(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &[("decryptedUserId", "alice"), ("value", "true")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(
        feed_ids(&feed(&t, "room=r1&user=alice").await),
        Vec::<i64>::new()
    );
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &json!({"decryptedUserId": "alice", "value": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Opting out in project A does not touch project B.
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &json!({"decryptedUserId": "carol", "value": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(!t.store.is_opted_out(t.b.project.id, "carol").await.unwrap());
    assert!(t.store.is_opted_out(t.a.project.id, "carol").await.unwrap());

    // Viewer: 403; bad bodies: 422 naming the fields.
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Viewer,
            &json!({"decryptedUserId": "x", "value": true}),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &json!({"value": "perhaps"}),
        )
        .await;
    r.invalid(&["decryptedUserId", "value"]);
    let r = t
        .empty(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
        )
        .await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
});

both_backends!(feed_targeting_schedule_and_registration, |t| {
    let global = t.create_a_id(&text_offer()).await;
    let room = t
        .create_a(&with(
            &text_offer(),
            json!({"type": "ROOM", "externalRoomIds": ["room-a"]}),
        ))
        .await["offer"]["id"]
        .as_i64()
        .unwrap();
    let user = t
        .create_a(&with(
            &text_offer(),
            json!({"type": "USER", "externalUserIds": ["u-1", "u-2"]}),
        ))
        .await["offer"]["id"]
        .as_i64()
        .unwrap();
    let _future = t
        .create_a(&with(
            &text_offer(),
            json!({"startTime": "2999-01-01T00:00:00.000Z"}),
        ))
        .await;
    let _ended = t
        .create_a(&with(
            &text_offer(),
            json!({"startTime": "2020-01-01T00:00:00.000Z", "endTime": "2021-01-01T00:00:00.000Z"}),
        ))
        .await;

    assert_eq!(feed_ids(&feed(&t, "room=room-b").await), [global]);
    assert_eq!(feed_ids(&feed(&t, "room=room-a").await), [room, global]);
    assert_eq!(
        feed_ids(&feed(&t, "room=room-b&user=u-2").await),
        [user, global]
    );
    assert_eq!(
        feed_ids(&feed(&t, "room=room-a&user=u-1").await),
        [user, room, global]
    );

    // The feed shape: templateData is an object, no audience.
    let body = feed(&t, "room=room-b").await.json();
    let offer = &body["offers"][0];
    assert!(offer["templateData"].is_object());
    assert!(offer.get("externalUserIds").is_none());

    // Entering registered the rooms and users (asynchronously, in batches).
    t.wait_known(&t.a, "rooms", "room-b").await;
    t.wait_known(&t.a, "users", "u-1").await;
    let rooms = t
        .empty(Method::GET, "/external/rooms?limit=100", &t.a, Role::Viewer)
        .await
        .json();
    let mut got: Vec<String> = serde_json::from_value(rooms["ids"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["room-a", "room-b"]);
    let users = t
        .empty(Method::GET, "/external/users", &t.a, Role::Viewer)
        .await
        .json();
    let mut got: Vec<String> = serde_json::from_value(users["ids"].clone()).unwrap();
    got.sort();
    assert_eq!(got, ["u-1", "u-2"]);

    // Errors.
    feed(&t, "user=u-1")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let unknown = t
        .send(
            Request::get("/widget/v1/offers?key=pk_nope&room=r")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    unknown.error(StatusCode::NOT_FOUND, "not_found");
    let no_key = t
        .send(
            Request::get("/widget/v1/offers?room=r")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    no_key.error(StatusCode::BAD_REQUEST, "bad_request");
});

both_backends!(feed_etag_304_and_cors, |t| {
    t.create_a(&text_offer()).await;
    let first = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1&user=u1",
                t.a.public_key()
            ))
            .header(header::ORIGIN, "https://host.example")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.header("access-control-allow-origin"),
        Some("https://host.example")
    );
    let etag = first.header("etag").expect("ETag").to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "strong: {etag}"
    );

    let again = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1&user=u1",
                t.a.public_key()
            ))
            .header(header::IF_NONE_MATCH, &etag)
            .header(header::ORIGIN, "https://host.example")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    assert_eq!(
        again.header("access-control-allow-origin"),
        Some("https://host.example")
    );

    // A change makes a new ETag.
    t.create_a(&with(&text_offer(), json!({"title": "Another"})))
        .await;
    let changed = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1&user=u1",
                t.a.public_key()
            ))
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));

    // CORS preflight.
    let preflight = t
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/widget/v1/offers")
                .header(header::ORIGIN, "https://host.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success());
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://host.example")
    );
});

// ---------------------------------------------------------------- available / unavailable

both_backends!(available_and_unavailable_ids, |t| {
    let r = t
        .json(
            Method::POST,
            "/external/rooms",
            &t.a,
            Role::Editor,
            &json!({"ids": ["known-room", "other"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"received": 2, "added": 2, "alreadyKnown": 0})
    );
    // A user becomes known by entering through the widget.
    feed(&t, "room=lobby&user=seen-user").await;
    t.wait_known(&t.a, "users", "seen-user").await;

    let created = t
        .create_a(&with(
            &text_offer(),
            json!({"type": "ROOM", "externalRoomIds": ["known-room", "new-room"]}),
        ))
        .await;
    assert_eq!(created["availableExternalRoomIds"], json!(["known-room"]));
    assert_eq!(created["unavailableExternalRoomIds"], json!(["new-room"]));
    // Unavailable ids are stored all the same.
    assert_eq!(
        created["offer"]["externalRoomIds"],
        json!(["known-room", "new-room"])
    );
    let id = created["offer"]["id"].as_i64().unwrap();

    let r = t
        .json(
            Method::PATCH,
            &format!("/external/offer/{id}"),
            &t.a,
            Role::Editor,
            &json!({"type": "USER", "externalRoomIds": null, "externalUserIds": ["seen-user", "ghost"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["availableExternalUserIds"], json!(["seen-user"]));
    assert_eq!(body["unavailableExternalUserIds"], json!(["ghost"]));
    assert_eq!(body["availableExternalRoomIds"], json!([]));

    // Project B has seen none of them.
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &with(
                &text_offer(),
                json!({"type": "ROOM", "externalRoomIds": ["known-room"]}),
            ),
        )
        .await;
    assert_eq!(
        r.json()["unavailableExternalRoomIds"],
        json!(["known-room"])
    );
});

both_backends!(registry_bulk_and_paginated, |t| {
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &json!({"ids": ["a", "b", "b", "c"]}),
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"received": 3, "added": 3, "alreadyKnown": 0})
    );
    // CSV upload: any header, quoted or not.
    let csv = "userId\r\n\"c\"\r\nd\r\n\"e\"\r\n";
    let r = t
        .send(
            t.req(Method::POST, "/external/users", &t.a, Role::Editor)
                .header(header::CONTENT_TYPE, "text/csv")
                .body(Body::from(csv))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"received": 3, "added": 2, "alreadyKnown": 1})
    );
    // CSV as a multipart file part.
    let r = t
        .multipart(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &[("file", "id\nf\n")],
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"received": 1, "added": 1, "alreadyKnown": 0})
    );

    let page = t
        .empty(
            Method::GET,
            "/external/users?limit=2&offset=1",
            &t.a,
            Role::Viewer,
        )
        .await
        .json();
    assert_eq!(page["total"], 6);
    assert_eq!(page["ids"].as_array().unwrap().len(), 2);
    assert_eq!(page["limit"], 2);
    // Bad input.
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &json!({"ids": ["ok", "  "]}),
        )
        .await;
    r.invalid(&["ids[1]"]);
    let r = t
        .json(
            Method::POST,
            "/external/rooms",
            &t.a,
            Role::Viewer,
            &json!({"ids": ["x"]}),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .empty(Method::GET, "/external/rooms?limit=-4", &t.a, Role::Viewer)
        .await;
    r.error(StatusCode::BAD_REQUEST, "bad_request");
    // Project B sees none of A's.
    let page = t
        .empty(Method::GET, "/external/users", &t.b, Role::Viewer)
        .await
        .json();
    assert_eq!(page["total"], 0);
});

// ---------------------------------------------------------------- bodies: 400, 413, 415

both_backends!(body_errors_in_our_shape, |t| {
    let post = |ct: Option<&str>, body: Vec<u8>| {
        let mut b = t.req(Method::POST, "/external/offer", &t.a, Role::Owner);
        if let Some(ct) = ct {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Body::from(body)).unwrap()
    };
    // 400 malformed JSON, with the parser's position.
    let r = t
        .send(post(
            Some("application/json"),
            b"{\"title\": \"x\",\n  \"text\": }".to_vec(),
        ))
        .await;
    let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("line 2") && message.contains("column"),
        "{message}"
    );
    // 400 JSON that is not an object.
    t.send(post(Some("application/json"), b"[1, 2]".to_vec()))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // 400 empty JSON body.
    t.send(post(Some("application/json"), Vec::new()))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // 400 malformed multipart.
    t.send(post(
        Some("multipart/form-data; boundary=XYZ"),
        b"--XYZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nunterminated".to_vec(),
    ))
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request");
    t.send(post(Some("multipart/form-data"), b"whatever".to_vec()))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // 415 without a content type, and with an unsupported one.
    let r = t.send(post(None, Vec::new())).await;
    let error = r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data")
    );
    t.send(post(Some("text/xml"), b"<offer/>".to_vec()))
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // 413 over 1 MiB, for JSON and multipart alike.
    let big = format!("{{\"title\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    let r = t
        .send(post(Some("application/json"), big.into_bytes()))
        .await;
    r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let huge = "y".repeat(1024 * 1024 + 10);
    let r = t
        .multipart(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &[("text", &huge)],
        )
        .await;
    r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Nothing was created by any of it.
    assert_eq!(t.get_a("/external/offer").await.json(), json!([]));
});

both_backends!(fallbacks_404_and_405, |t| {
    let r = t
        .send(Request::get("/no/such/thing").body(Body::empty()).unwrap())
        .await;
    r.error(StatusCode::NOT_FOUND, "not_found");
    let r = t
        .send(Request::put("/external/offer").body(Body::empty()).unwrap())
        .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let r = t
        .send(Request::delete("/healthz").body(Body::empty()).unwrap())
        .await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
});

// ---------------------------------------------------------------- rate limit

both_backends!(rate_limit_429, |t| {
    let limited = TestApp::start_with(t.db.clone(), |s| s.rate_limit_per_minute = 2).await;
    assert_eq!(
        limited.get_a("/external/offer").await.status,
        StatusCode::OK
    );
    assert_eq!(
        limited.get_a("/external/offer").await.status,
        StatusCode::OK
    );
    let r = limited.get_a("/external/offer").await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // The bucket is per project.
    let b = limited
        .send(
            limited
                .req(Method::GET, "/external/offer", &limited.b, Role::Viewer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(b.status, StatusCode::OK);
});

// ---------------------------------------------------------------- ops, docs, bootstrap

both_backends!(healthz_openapi_and_docs, |t| {
    let r = t
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));

    let r = t
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/external/offer", &["get", "post"][..]),
        ("/external/offer/{offerId}", &["get", "patch", "delete"][..]),
        ("/user/external/advertisment", &["post"][..]),
        ("/user/external/advertisement", &["post"][..]),
        ("/external/rooms", &["get", "post"][..]),
        ("/external/users", &["get", "post"][..]),
        ("/widget/v1/offers", &["get"][..]),
        ("/healthz", &["get"][..]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} missing");
        }
    }
    let create = &paths["/external/offer"]["post"];
    for ct in [
        "multipart/form-data",
        "application/json",
        "application/x-www-form-urlencoded",
    ] {
        assert!(create["requestBody"]["content"].get(ct).is_some(), "{ct}");
    }
    for code in ["201", "400", "401", "403", "413", "415", "422"] {
        assert!(
            create["responses"].get(code).is_some(),
            "POST response {code}"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "PartnerOffer",
        "OfferInput",
        "SaveOfferResponse",
        "ErrorBody",
        "FeedResponse",
    ] {
        assert!(schemas.contains_key(name), "{name}");
    }
    // The PartnerOffer mirror names every key a real response has.
    let created = t.create_a(&text_offer()).await;
    let props = crate::common::schema_properties(&doc, &schemas["PartnerOffer"]);
    for key in created["offer"].as_object().unwrap().keys() {
        assert!(props.contains_key(key), "PartnerOffer schema lacks `{key}`");
    }
    let save_props = schemas["SaveOfferResponse"]["properties"]
        .as_object()
        .unwrap();
    for key in created.as_object().unwrap().keys() {
        assert!(
            save_props.contains_key(key),
            "SaveOfferResponse schema lacks `{key}`"
        );
    }
    assert!(doc["components"]["securitySchemes"].get("apiKey").is_some());

    let r = t
        .send(Request::get("/docs").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("/openapi.json"));
    assert!(
        !html.contains("https://"),
        "the docs page loads nothing from the network"
    );
});

both_backends!(first_start_bootstraps_the_demo_once, |t| {
    // A fresh database of its own (the shared one already has projects A and B).
    let fresh = TestDb::create(t.db.backend).await;
    let store = offers_api::store::connect(&fresh.url).await.unwrap();
    let state = offers_api::AppState::new(store.clone(), common::memory_media_settings())
        .await
        .unwrap();
    let demo = offers_api::server::bootstrap(store.as_ref(), &state)
        .await
        .unwrap()
        .expect("created on an empty database");
    assert!(demo.api_key.starts_with("ok_") && demo.public_key.starts_with("pk_"));
    let offer = store
        .get_offer(demo.project_id, demo.offer_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        offer.spec.title.as_ref().unwrap().as_str(),
        "Welcome to Offers"
    );
    assert!(
        offer
            .spec
            .text
            .as_ref()
            .unwrap()
            .as_str()
            .to_lowercase()
            .contains("demo")
    );
    assert_eq!(offer.spec.link.as_str(), "https://example.com/");
    // The owner token works.
    let app = offers_api::app(state.clone());
    let t2 = Request::get("/external/offer")
        .header("x-api-key", &demo.api_key)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", demo.owner_token),
        )
        .body(Body::empty())
        .unwrap();
    use tower::ServiceExt;
    let r = app.clone().oneshot(t2).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The demo offer is live in the feed.
    let feed = app
        .clone()
        .oneshot(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=demo-room&user=demo-user",
                demo.public_key
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(feed.status(), StatusCode::OK);
    // Never twice.
    assert!(
        offers_api::server::bootstrap(store.as_ref(), &state)
            .await
            .unwrap()
            .is_none()
    );
    // And never on a database that already has a project.
    assert!(
        offers_api::server::bootstrap(t.store.as_ref(), &t.state)
            .await
            .unwrap()
            .is_none()
    );
    drop(app);
    drop(state);
    drop(store);
    fresh.drop_db().await;
});

// ---------------------------------------------------------------- static files and pages

async fn get_path(t: &TestApp, path: &str, accept_encoding: Option<&str>) -> Resp {
    let mut b = Request::get(path);
    if let Some(enc) = accept_encoding {
        b = b.header(header::ACCEPT_ENCODING, enc);
    }
    t.send(b.body(Body::empty()).unwrap()).await
}

both_backends!(widget_bundle_cache_headers_mime_and_compression, |t| {
    let dir = t.widget_dir();
    let loader = "/* loader */ ".repeat(200);
    write_file(&dir, "offers.js", loader.as_bytes());
    write_file(
        &dir,
        "offers-0123abcd89ef.js",
        "/* bundle */ ".repeat(200).as_bytes(),
    );
    write_file(
        &dir,
        "offers-0123abcd89ef_bg.wasm",
        b"\0asm\x01\0\0\0 fake wasm module body",
    );
    write_file(&dir, "offers-0123abcd89ef_bg.wasm.br", b"pretend-brotli");
    write_file(&dir, "offers-0123abcd89ef.css", b".x{color:red}");

    let r = get_path(&t, "/widget/offers.js", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert!(r.header("content-type").unwrap().contains("javascript"));
    assert_eq!(r.text(), loader);

    let r = get_path(&t, "/widget/offers-0123abcd89ef.js", None).await;
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let r = get_path(&t, "/widget/offers-0123abcd89ef.css", None).await;
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(r.header("content-type").unwrap().starts_with("text/css"));

    let r = get_path(&t, "/widget/offers-0123abcd89ef_bg.wasm", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert!(r.body.starts_with(b"\0asm"));

    // A precompressed sibling is served when the client accepts it.
    let r = get_path(&t, "/widget/offers-0123abcd89ef_bg.wasm", Some("br, gzip")).await;
    assert_eq!(r.header("content-encoding"), Some("br"));
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(r.body, b"pretend-brotli");

    // Otherwise responses are compressed on the fly.
    let r = get_path(&t, "/widget/offers.js", Some("gzip")).await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.body.len() < loader.len());

    let r = get_path(&t, "/widget/missing.js", None).await;
    r.error(StatusCode::NOT_FOUND, "not_found");
});

both_backends!(studio_spa_and_demo_page, |t| {
    // Not built yet: a clear page, not a blank 404.
    let r = get_path(&t, "/studio/", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("Studio is not built"));

    let studio = t.studio_dir();
    write_file(
        &studio,
        "index.html",
        b"<!doctype html><title>Studio</title>",
    );
    write_file(&studio, "studio-0011223344556677.js", b"console.log(1)");
    let r = get_path(&t, "/studio/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("<title>Studio</title>"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    // SPA fallback: unknown paths get index.html.
    let r = get_path(&t, "/studio/offers/42/edit", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("<title>Studio</title>"));
    let r = get_path(&t, "/studio/studio-0011223344556677.js", None).await;
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let r = get_path(&t, "/studio", None).await;
    assert!(r.status.is_redirection());
    assert_eq!(r.header("location"), Some("/studio/"));

    // `/` → `/demo/`.
    let r = get_path(&t, "/", None).await;
    assert!(r.status.is_redirection());
    assert_eq!(r.header("location"), Some("/demo/"));

    // The demo page without a widget bundle: it renders and says how to get one.
    let r = get_path(&t, "/demo/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("widget bundle is not built"), "{html}");
    assert!(html.contains("<div id=\"offers-feed\"></div>"));
    assert!(html.to_lowercase().contains("demo"));
    // No demo project in this database: the oldest project (A) is used.
    assert!(
        html.contains(&format!("data-project=\"{}\"", t.a.public_key())),
        "{html}"
    );
    assert!(html.contains("data-room=\"demo-room\"") && html.contains("data-user=\"demo-user\""));
    assert!(html.contains("src=\"/widget/offers.js\""));

    // With a bundle, and `?key=` choosing the project.
    write_file(&t.widget_dir(), "offers.js", b"/* loader */");
    let r = get_path(&t, &format!("/demo/?key={}", t.b.public_key()), None).await;
    let html = r.text();
    assert!(!html.contains("not built"));
    assert!(html.contains(&format!("data-project=\"{}\"", t.b.public_key())));
    // A key that could break out of the attribute is refused.
    let r = get_path(&t, "/demo/?key=%22%3E%3Cscript%3E", None).await;
    r.error(StatusCode::BAD_REQUEST, "bad_request");
});

both_backends!(feed_answers_compressed_as_asked_and_says_so, |t| {
    use std::io::Read as _;
    t.create_a(&text_offer()).await;
    t.create_a(&with(&text_offer(), json!({"title": "Another"})))
        .await;
    let get = |accept: Option<&'static str>, etag: Option<String>| {
        let mut req = Request::get(format!(
            "/widget/v1/offers?key={}&room=r1",
            t.a.public_key()
        ));
        if let Some(accept) = accept {
            req = req.header(header::ACCEPT_ENCODING, accept);
        }
        if let Some(etag) = etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        t.send(req.body(Body::empty()).unwrap())
    };
    let offers_of = |body: &[u8]| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(body).expect("JSON")["offers"].clone()
    };
    let plain = get(None, None).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.header_joined("vary").contains("accept-encoding"));
    let offers = offers_of(&plain.body);
    assert_eq!(offers.as_array().map(Vec::len), Some(2));
    for (accept, coding) in [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip", "gzip"),
        ("br;q=0.1, gzip", "gzip"),
    ] {
        // Twice: the page is compressed once and its compressed copy reused.
        for _ in 0..2 {
            let got = get(Some(accept), None).await;
            assert_eq!(got.status, StatusCode::OK);
            assert_eq!(got.header("content-encoding"), Some(coding), "{accept}");
            assert_eq!(got.header("etag"), plain.header("etag"));
            let mut decoded = Vec::new();
            match coding {
                "br" => brotli::Decompressor::new(&got.body[..], 4096)
                    .read_to_end(&mut decoded)
                    .expect("brotli"),
                _ => flate2::read::GzDecoder::new(&got.body[..])
                    .read_to_end(&mut decoded)
                    .expect("gzip"),
            };
            assert_eq!(offers_of(&decoded), offers, "{accept}");
            let clock: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
            assert!(
                clock["serverTime"]
                    .as_str()
                    .is_some_and(|s| s.ends_with('Z'))
            );
        }
    }
    // The ETag still answers 304, whatever the coding.
    let etag = plain.header("etag").unwrap().to_owned();
    let unchanged = get(Some("br"), Some(etag)).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert!(unchanged.body.is_empty());
});
