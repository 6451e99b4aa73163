//! The served OpenAPI (`/openapi.json`) says what `offers-core` enforces (issue 12, defect 5):
//! the limits are the core's constants, the enums its wire names, every body's 415 and every
//! error's body are declared, and creating an offer links to reading, changing and deleting
//! it. Each assertion compares the served document with the core's own constants and tables.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use offers_core::api::{FeedResponse, ListedOffer, PartnerOffer, SaveOfferResponse};
use offers_core::http_url::MAX_URL_CHARS;
use offers_core::schema::{css_color_pattern, gradient_direction_pattern, required_fields};
use offers_core::text::{BODY_MAX_CHARS, BUTTON_MAX_CHARS, EXTERNAL_ID_MAX_CHARS, TITLE_MAX_CHARS};
use offers_core::{AudienceType, ShowFrequency, Template, ViewType};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, text_offer, wait_until, with_db};

/// `/openapi.json` as a running app serves it.
async fn served() -> Value {
    let doc = Arc::new(Mutex::new(Value::Null));
    let out = doc.clone();
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start(db).await;
        let r = t.get_a("/openapi.json").await;
        assert_eq!(r.status, StatusCode::OK);
        *out.lock().unwrap() = r.json();
    })
    .await;
    doc.lock().unwrap().take()
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The non-null alternative of an `Option` property (`oneOf: [null, T]`), resolved.
fn property<'a>(doc: &'a Value, object: &str, field: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][object]["properties"][field];
    let inner = schema["oneOf"]
        .as_array()
        .and_then(|alternatives| alternatives.iter().find(|a| a["type"] != "null"))
        .unwrap_or(schema);
    resolve(doc, inner)
}

#[tokio::test]
async fn the_offer_schema_carries_the_cores_limits_and_grammar() {
    let doc = served().await;
    for (field, max) in [
        ("title", TITLE_MAX_CHARS),
        ("text", BODY_MAX_CHARS),
        ("linkText", BUTTON_MAX_CHARS),
        ("link", MAX_URL_CHARS),
        ("pic", MAX_URL_CHARS),
    ] {
        let schema = property(&doc, "OfferInput", field);
        assert_eq!(
            schema["maxLength"],
            json!(max),
            "OfferInput.{field}: {schema}"
        );
        assert_eq!(
            schema["minLength"],
            json!(1),
            "OfferInput.{field}: {schema}"
        );
        assert!(
            schema["pattern"].is_string(),
            "OfferInput.{field}: {schema}"
        );
    }
    for field in ["link", "pic"] {
        assert_eq!(property(&doc, "OfferInput", field)["format"], "iri");
    }
    let rooms = &doc["components"]["schemas"]["OfferInput"]["properties"]["externalRoomIds"];
    let room = resolve(&doc, &rooms["items"]);
    assert_eq!(room["maxLength"], json!(EXTERNAL_ID_MAX_CHARS), "{rooms}");

    let template_data = &doc["components"]["schemas"]["TemplateData"]["properties"];
    let color = resolve(&doc, &template_data["bgColor"]["oneOf"][0]);
    assert_eq!(color["pattern"], json!(css_color_pattern()));
    assert!(css_color_pattern().contains("|rebeccapurple|"));
    let direction = property(&doc, "TemplateData", "gradientDirection");
    assert_eq!(direction["pattern"], json!(gradient_direction_pattern()));

    let names = |all: Vec<&str>| json!(all);
    assert_eq!(
        property(&doc, "OfferInput", "type")["enum"],
        names(AudienceType::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        property(&doc, "OfferInput", "showFrerquency")["enum"],
        names(ShowFrequency::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        property(&doc, "OfferInput", "viewType")["enum"],
        names(ViewType::ALL.iter().map(|v| v.as_str()).collect())
    );
    assert_eq!(
        property(&doc, "OfferInput", "type")["enum"],
        json!(["GLOBAL", "ROOM", "USER"])
    );
    let codes: Vec<u8> = Template::ALL.iter().map(|t| t.code()).collect();
    assert_eq!(
        property(&doc, "OfferInput", "template")["enum"],
        json!(codes)
    );
    assert_eq!(codes, [10, 11, 12, 13, 14]);
}

#[tokio::test]
async fn a_new_offer_requires_what_its_template_requires() {
    let doc = served().await;
    let create = &doc["paths"]["/external/offer"]["post"]["requestBody"]["content"];
    for media in [
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ] {
        assert_eq!(
            create[media]["schema"]["$ref"], "#/components/schemas/NewOffer",
            "{media}"
        );
    }
    let patch = &doc["paths"]["/external/offer/{offerId}"]["patch"]["requestBody"]["content"];
    assert_eq!(
        patch["application/json"]["schema"]["$ref"], "#/components/schemas/OfferInput",
        "a PATCH sends any subset"
    );
    let new_offer = &doc["components"]["schemas"]["NewOffer"];
    let alternatives = new_offer["allOf"][1]["oneOf"]
        .as_array()
        .expect("one per template");
    assert_eq!(alternatives.len(), Template::ALL.len());
    for (template, alternative) in Template::ALL.iter().zip(alternatives) {
        assert_eq!(
            alternative["properties"]["template"]["enum"],
            json!([template.code()])
        );
        assert_eq!(alternative["required"], json!(required_fields(*template)));
    }
    assert_eq!(
        alternatives[0]["required"],
        json!(["template", "link", "startTime", "title", "text", "linkText"]),
        "template 10 (text) has a button and no picture"
    );
}

#[tokio::test]
async fn every_body_may_be_415_and_every_error_has_the_error_shape() {
    let doc = served().await;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            if operation.get("requestBody").is_some() {
                for status in ["400", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            for status in ["414", "431"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path}: no {status}"
                );
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    assert!(operations >= 20, "{operations} operations");
}

#[tokio::test]
async fn creating_an_offer_links_to_reading_changing_and_deleting_it() {
    let doc = served().await;
    let links = &doc["paths"]["/external/offer"]["post"]["responses"]["201"]["links"];
    let targets: Vec<(&str, &str)> = [
        ("/external/offer/{offerId}", "get"),
        ("/external/offer/{offerId}", "patch"),
        ("/external/offer/{offerId}", "delete"),
    ]
    .into_iter()
    .collect();
    for (path, method) in targets {
        let operation_id = doc["paths"][path][method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        let link = links
            .as_object()
            .unwrap()
            .values()
            .find(|l| l["operationId"] == operation_id)
            .unwrap_or_else(|| panic!("no link to {operation_id}: {links}"));
        assert_eq!(link["parameters"]["offerId"], "$response.body#/offer/id");
        assert!(link.get("operation_id").is_none(), "{link}");
    }
    // The id the link points at is where a created offer's id is.
    let created = &doc["components"]["schemas"]["SaveOfferResponse"]["properties"]["offer"];
    let offer = crate::common::schema_properties(&doc, created);
    assert_eq!(offer["id"]["type"], "integer");
}

// The answers are the core's wire types: each parses into the one definition the Studio and
// the widget read (the feed is written by hand from pre-serialized offers, so this is what
// keeps it the documented `FeedResponse`).
both_backends!(answers_parse_into_the_shared_wire_types, |t| {
    let created: SaveOfferResponse = serde_json::from_value(t.create_a(&text_offer()).await)
        .expect("the create answer is a SaveOfferResponse");
    let id = created.offer.id;
    assert_eq!(created.advertisement.id, id);
    assert_eq!(created.advertisement.send_time, created.offer.start_time);

    let got: PartnerOffer =
        serde_json::from_value(t.get_a(&format!("/external/offer/{id}")).await.json())
            .expect("GET answers a PartnerOffer");
    assert_eq!(got, created.offer);

    let listed: Vec<ListedOffer> = serde_json::from_value(t.get_a("/external/offer").await.json())
        .expect("the list is ListedOffers");
    assert_eq!(listed.iter().map(|l| l.offer.id).collect::<Vec<_>>(), [id]);

    let key = t.a.public_key().to_owned();
    let last = Arc::new(Mutex::new(String::new()));
    let found = wait_until(Duration::from_secs(5), || {
        let (t, key, last) = (&t, &key, last.clone());
        async move {
            let r = t
                .send(
                    Request::get(format!("/widget/v1/offers?key={key}&room=r1"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let parsed: FeedResponse =
                serde_json::from_str(&r.text()).expect("the feed is a FeedResponse");
            *last.lock().unwrap() = r.text();
            parsed.offers.iter().any(|o| o.id == id)
        }
    })
    .await;
    assert!(
        found,
        "the offer never reached the feed: {}",
        last.lock().unwrap()
    );
});
