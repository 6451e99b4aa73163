//! Issue 11: audiences (SPEC §7) on SQLite and PostgreSQL — profiles one at a time and in bulk
//! (JSON and CSV, with per-row rejections), segments (rules and lists, count, 409 in use), offers
//! with segments, merge tags and translations in the feed, the offer list's filters, "why (not)
//! shown", and test sends (live, uncounted).

use crate::common::{Resp, TestApp, text_offer, with};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use offers_api::auth::Role;
use serde_json::{Value, json};

async fn put_profile(t: &TestApp, user: &str, body: &Value) -> Resp {
    t.json(
        Method::PUT,
        &format!("/external/user/{user}"),
        &t.a,
        Role::Editor,
        body,
    )
    .await
}

async fn feed(t: &TestApp, query: &str) -> Value {
    t.feed_json_of_a(query).await
}

fn ids(feed: &Value) -> Vec<i64> {
    feed["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

fn offer_in(feed: &Value, id: i64) -> Option<Value> {
    feed["offers"]
        .as_array()?
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
}

async fn create_segment(t: &TestApp, body: &Value) -> i64 {
    let r = t
        .json(Method::POST, "/external/segment", &t.a, Role::Editor, body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn post_csv(t: &TestApp, csv: &str) -> Resp {
    t.send(
        t.req(Method::POST, "/external/users", &t.a, Role::Editor)
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv.to_owned()))
            .unwrap(),
    )
    .await
}

both_backends!(profiles_are_stored_read_listed_and_deleted, |t| {
    let r = put_profile(
        &t,
        "ana",
        &json!({"language": "de", "tags": ["vip"], "attributes": {"firstName": "Ana", "points": 1200, "verified": true}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let stored = r.json();
    assert_eq!(stored["id"], "ana");
    assert_eq!(stored["language"], "de");
    assert_eq!(stored["tags"], json!(["vip"]));
    assert_eq!(stored["attributes"]["points"], 1200);
    assert_eq!(stored["attributes"]["verified"], true);
    assert!(stored["updatedAt"].as_str().is_some());

    let got = t.get_a("/external/user/ana").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.json()["attributes"]["firstName"], "Ana");

    // Replacing: what is not sent is gone.
    put_profile(&t, "ana", &json!({"tags": ["gold"]})).await;
    let got = t.get_a("/external/user/ana").await.json();
    assert_eq!(got["tags"], json!(["gold"]));
    assert!(got.get("language").is_none_or(Value::is_null), "{got}");

    put_profile(&t, "bo", &json!({"tags": ["vip"]})).await;
    let page = t.get_a("/external/user?tag=vip").await.json();
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["profiles"][0]["id"], "bo");
    let all = t.get_a("/external/user?limit=1").await.json();
    assert_eq!(
        (
            all["total"].as_i64(),
            all["profiles"].as_array().map(Vec::len)
        ),
        (Some(2), Some(1))
    );

    // A profile's user is a known user.
    t.wait_known(&t.a, "users", "bo").await;

    // Tenant scoping: project B sees nothing of A's.
    let other = t
        .empty(Method::GET, "/external/user/ana", &t.b, Role::Owner)
        .await;
    other.error(StatusCode::NOT_FOUND, "not_found");

    let deleted = t
        .empty(Method::DELETE, "/external/user/ana", &t.a, Role::Editor)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text());
    t.get_a("/external/user/ana")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    t.empty(Method::DELETE, "/external/user/ana", &t.a, Role::Editor)
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
});

both_backends!(bad_profiles_name_the_field_and_store_nothing, |t| {
    let r = put_profile(
        &t,
        "ana",
        &json!({"language": "not a language!", "tags": ["ok", ""], "attributes": {"1bad": 1, "nested": {"a": 1}}, "colour": "red"}),
    )
    .await;
    let fields = r.invalid(&["language", "colour"]);
    let names: Vec<&String> = fields.as_object().unwrap().keys().collect();
    assert!(names.iter().any(|n| n.starts_with("tags")), "{fields}");
    assert!(
        names.iter().any(|n| n.starts_with("attributes")),
        "{fields}"
    );
    t.get_a("/external/user/ana")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");

    let viewer = t
        .json(
            Method::PUT,
            "/external/user/ana",
            &t.a,
            Role::Viewer,
            &json!({}),
        )
        .await;
    viewer.error(StatusCode::FORBIDDEN, "forbidden");
    let not_json = t
        .send(
            t.req(Method::PUT, "/external/user/ana", &t.a, Role::Editor)
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("language=de"))
                .unwrap(),
        )
        .await;
    assert_eq!(
        not_json.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        not_json.text()
    );
});

both_backends!(bulk_upserts_keep_good_rows_and_report_bad_ones, |t| {
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &json!([
                {"id": "u1", "language": "de", "tags": ["vip"], "attributes": {"points": 5}},
                {"id": "u2", "attributes": {"points": {"deep": 1}}},
                {"id": "u3", "tags": ["gold"]}
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["upserted"], 2, "{body}");
    assert_eq!(body["rejected"][0]["line"], 2, "{body}");
    assert!(
        body["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("points"),
        "{body}"
    );
    t.get_a("/external/user/u2")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        t.get_a("/external/user/u3").await.json()["tags"],
        json!(["gold"])
    );

    let csv = "id,language,tags,firstName,points\nc1,de,vip|gold,Ana,1200\nc2,??,,Bo,7\n,en,,X,1\nc3,en,,Cy,true\n";
    let r = post_csv(&t, csv).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["upserted"], 2, "{body}");
    let lines: Vec<i64> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{body}");
    let c1 = t.get_a("/external/user/c1").await.json();
    assert_eq!(c1["tags"], json!(["gold", "vip"]), "{c1}");
    assert_eq!(c1["attributes"]["points"], 1200);
    assert_eq!(c1["attributes"]["firstName"], "Ana");
    assert_eq!(
        t.get_a("/external/user/c3").await.json()["attributes"]["points"],
        true
    );
    t.get_a("/external/user/c2")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");

    // A bad header stops the whole file (nothing stored).
    let r = post_csv(&t, "id,bad key\nz1,1\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    t.get_a("/external/user/z1")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");

    // Registering ids, as before, still works on the same path and stores no profile.
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &json!({"ids": ["k1"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["added"], 1);
    t.get_a("/external/user/k1")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let one_column = post_csv(&t, "user\nk2\n").await;
    assert_eq!(one_column.json()["added"], 1, "{}", one_column.text());
});

both_backends!(
    large_bulk_upserts_store_every_chunk_and_judge_rows_alone,
    |t| {
        // 12,001 rows: more than two of the store's statements (chunks of 5,000), with the first
        // user repeated at the end (the later row wins), one row with a repeated key and one
        // with a number out of range (each rejected alone; a whole-body reader would refuse all).
        let mut body = String::from("[");
        for i in 0..12_000 {
            body.push_str(&format!(
                r#"{{"id": "b{i}", "tags": ["t{}"], "attributes": {{"n": {i}}}}},"#,
                i % 3
            ));
        }
        body.push_str(r#"{"id": "dup", "language": "de", "language": "en"},"#);
        body.push_str(r#"{"id": "big", "attributes": {"n": 1e400}},"#);
        body.push_str(r#"{"id": "b0", "tags": ["last"]}]"#);
        let r = t
            .send(
                t.req(Method::POST, "/external/users", &t.a, Role::Editor)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let answer = r.json();
        assert_eq!(answer["upserted"], 12_000, "{answer}");
        assert_eq!(
            answer["rejected"],
            json!([
                {"line": 12_001, "reason": "language: given more than once"},
                {"line": 12_002, "reason": "attributes.n: number out of range (a JSON number must fit a 64-bit float)"},
            ])
        );
        let page = t.get_a("/external/user?limit=1").await.json();
        assert_eq!(page["total"], 12_000, "{page}");
        let first = t.get_a("/external/user/b0").await.json();
        assert_eq!(
            first["tags"],
            json!(["last"]),
            "the later row replaced the first: {first}"
        );
        assert_eq!(first["attributes"], json!({}), "{first}");
        let last = t.get_a("/external/user/b11999").await.json();
        assert_eq!(last["tags"], json!(["t2"]), "{last}");
        assert_eq!(last["attributes"]["n"], 11_999, "{last}");
        let tagged = t.get_a("/external/user?limit=1&tag=t1").await.json();
        assert_eq!(tagged["total"], 4_000, "{tagged}");
        t.get_a("/external/user/dup")
            .await
            .error(StatusCode::NOT_FOUND, "not_found");
    }
);

both_backends!(segments_are_created_counted_changed_and_guarded, |t| {
    for (user, body) in [
        (
            "de-vip",
            json!({"language": "de-AT", "tags": ["vip"], "attributes": {"points": 1500}}),
        ),
        (
            "de-poor",
            json!({"language": "de", "tags": ["vip"], "attributes": {"points": 10}}),
        ),
        (
            "en-vip",
            json!({"language": "en", "tags": ["gold"], "attributes": {"points": 5000}}),
        ),
    ] {
        assert_eq!(put_profile(&t, user, &body).await.status, StatusCode::OK);
    }
    let rules = json!({"name": "German VIPs", "match": "all", "conditions": [
        {"field": "language", "op": "eq", "value": "de"},
        {"field": "tag", "op": "in", "value": ["vip", "gold"]},
        {"field": "attributes.points", "op": "gte", "value": 1000}
    ]});
    let id = create_segment(&t, &rules).await;
    let count = t.get_a(&format!("/external/segment/{id}/count")).await;
    assert_eq!(count.json(), json!({"users": 1}), "{}", count.text());

    let r = t
        .json(
            Method::PATCH,
            &format!("/external/segment/{id}"),
            &t.a,
            Role::Editor,
            &json!({"match": "any"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["name"], "German VIPs");
    let count = t
        .get_a(&format!("/external/segment/{id}/count"))
        .await
        .json();
    assert_eq!(count["users"], 3, "{count}");

    // The Studio's live count of an unsaved definition.
    let draft = t
        .json(
            Method::POST,
            "/external/segment/count",
            &t.a,
            Role::Viewer,
            &json!({"match": "any", "conditions": [{"field": "attributes.points", "op": "gt", "value": 1000}]}),
        )
        .await;
    assert_eq!(draft.json(), json!({"users": 2}), "{}", draft.text());
    t.json(
        Method::POST,
        "/external/segment/count",
        &t.a,
        Role::Viewer,
        &json!({"conditions": [{"field": "attributes.points", "op": "gt", "value": "many"}]}),
    )
    .await
    .invalid(&["conditions[0].value"]);

    let list = create_segment(
        &t,
        &json!({"name": "Testers", "userIds": ["de-vip", "nobody"]}),
    )
    .await;
    let got = t.get_a(&format!("/external/segment/{list}")).await.json();
    assert_eq!(got["userIds"], json!(["de-vip", "nobody"]), "{got}");
    // Only known users are counted.
    let count = t
        .get_a(&format!("/external/segment/{list}/count"))
        .await
        .json();
    assert_eq!(count["users"], 1, "{count}");
    let all = t.get_a("/external/segment").await.json();
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");

    let bad = t
        .json(
            Method::POST,
            "/external/segment",
            &t.a,
            Role::Editor,
            &json!({"name": "x", "match": "most", "conditions": [{"field": "tag", "op": "like", "value": "v"}]}),
        )
        .await;
    bad.invalid(&["match", "conditions[0].op"]);

    // An offer using the segment: deleting it is a 409 naming the offer.
    let offer = t
        .create_a_id(&with(&text_offer(), json!({"segmentIds": [id]})))
        .await;
    let refused = t
        .empty(
            Method::DELETE,
            &format!("/external/segment/{id}"),
            &t.a,
            Role::Editor,
        )
        .await;
    let error = refused.error(StatusCode::CONFLICT, "conflict");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&format!("offer {offer}")),
        "{error}"
    );
    // An unknown segment id on an offer is a field error.
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &with(&text_offer(), json!({"excludeSegmentIds": [99999]})),
        )
        .await;
    r.invalid(&["excludeSegmentIds[0]"]);
    // Another project cannot use or see A's segment.
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &with(&text_offer(), json!({"segmentIds": [id]})),
        )
        .await;
    r.invalid(&["segmentIds[0]"]);
    t.empty(
        Method::GET,
        &format!("/external/segment/{id}"),
        &t.b,
        Role::Owner,
    )
    .await
    .error(StatusCode::NOT_FOUND, "not_found");

    let done = t
        .empty(
            Method::DELETE,
            &format!("/external/segment/{list}"),
            &t.a,
            Role::Editor,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
});

both_backends!(
    the_feed_renders_segments_merge_tags_and_languages_per_user,
    |t| {
        put_profile(
            &t,
            "ana",
            &json!({"language": "de", "tags": ["vip"], "attributes": {"firstName": "Ana"}}),
        )
        .await;
        put_profile(
            &t,
            "ed",
            &json!({"language": "en", "attributes": {"firstName": "Ed"}}),
        )
        .await;
        put_profile(&t, "churn", &json!({"tags": ["vip", "churned"]})).await;
        let vips = create_segment(
            &t,
            &json!({"name": "German VIPs", "match": "all", "conditions": [
            {"field": "language", "op": "eq", "value": "de"},
            {"field": "tag", "op": "eq", "value": "vip"}]}),
        )
        .await;
        let churned = create_segment(
        &t,
        &json!({"name": "Churned", "match": "any", "conditions": [{"field": "tag", "op": "eq", "value": "churned"}]}),
    )
    .await;
        let vip_offer = t
            .create_a_id(&with(
                &text_offer(),
                json!({
                    "title": "Hi {{firstName|there}}",
                    "text": "For you",
                    "link": "https://a.example/p?u={{id}}",
                    "segmentIds": [vips],
                    "translations": {"de": {"title": "Hallo {{firstName|du}}", "text": "Für dich"}}
                }),
            ))
            .await;
        let not_churned = t
            .create_a_id(&with(
                &text_offer(),
                json!({"title": "Welcome back", "excludeSegmentIds": [churned]}),
            ))
            .await;
        let plain = t.create_a_id(&text_offer()).await;

        let ana = feed(&t, "room=r1&user=ana").await;
        let mine = offer_in(&ana, vip_offer).expect("the German VIP sees the VIP offer");
        assert_eq!(mine["title"], "Hallo Ana", "{mine}");
        assert_eq!(mine["text"], "Für dich");
        assert_eq!(mine["link"], "https://a.example/p?u=ana");
        assert!(
            mine.get("segmentIds").is_none() && mine.get("translations").is_none(),
            "{mine}"
        );
        assert!(ids(&ana).contains(&not_churned) && ids(&ana).contains(&plain));

        let ed = feed(&t, "room=r1&user=ed").await;
        assert!(
            offer_in(&ed, vip_offer).is_none(),
            "an English non-VIP does not see it"
        );
        assert!(ids(&ed).contains(&not_churned));

        let churn = feed(&t, "room=r1&user=churn").await;
        assert_eq!(
            ids(&churn),
            [plain],
            "excluded users see nothing of the excluded offer"
        );

        let anonymous = feed(&t, "room=r1&lang=de").await;
        assert_eq!(
            ids(&anonymous),
            [plain, not_churned],
            "anonymous visitors are in no segment"
        );

        // A profile change shows at once (the cached page is not reused).
        put_profile(
            &t,
            "ed",
            &json!({"language": "de-CH", "tags": ["vip"], "attributes": {"firstName": "Ed"}}),
        )
        .await;
        let ed = feed(&t, "room=r1&user=ed").await;
        assert_eq!(
            offer_in(&ed, vip_offer).expect("now a German VIP")["title"],
            "Hallo Ed"
        );

        // The feed's ETag/304 path holds per user.
        let r = t
            .send(
                Request::get(format!(
                    "/widget/v1/offers?key={}&room=r1&user=ana",
                    t.a.public_key()
                ))
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        let etag = r.header("etag").expect("etag").to_owned();
        let again = t
            .send(
                Request::get(format!(
                    "/widget/v1/offers?key={}&room=r1&user=ana",
                    t.a.public_key()
                ))
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        let other = t
            .send(
                Request::get(format!(
                    "/widget/v1/offers?key={}&room=r1&user=churn",
                    t.a.public_key()
                ))
                .header(header::IF_NONE_MATCH, &etag)
                .body(Body::empty())
                .unwrap(),
            )
            .await;
        assert_eq!(other.status, StatusCode::OK, "another user's feed differs");

        // A merge tag without a fallback and without a value: the user is skipped.
        let strict = t
            .create_a_id(&with(&text_offer(), json!({"title": "Hi {{nickname}}"})))
            .await;
        assert!(!ids(&feed(&t, "room=r1&user=ana").await).contains(&strict));
        put_profile(&t, "ana", &json!({"language": "de", "tags": ["vip"], "attributes": {"firstName": "Ana", "nickname": "<b>A</b>"}})).await;
        let shown =
            offer_in(&feed(&t, "room=r1&user=ana").await, strict).expect("now it has a value");
        assert_eq!(
            shown["title"], "Hi <b>A</b>",
            "values are text: the widget renders them as text"
        );
    }
);

both_backends!(offers_carry_name_and_tags_and_lists_filter_by_them, |t| {
    let tagged = t
        .create_a_id(&with(
            &text_offer(),
            json!({"name": "Winter promo", "tags": ["winter", "promo"]}),
        ))
        .await;
    let future = t
        .create_a_id(&with(
            &text_offer(),
            json!({"startTime": "2999-01-01T00:00:00.000Z", "tags": ["promo"]}),
        ))
        .await;
    let got = t.get_a(&format!("/external/offer/{tagged}")).await.json();
    assert_eq!(got["name"], "Winter promo", "{got}");
    let list = t.get_a("/external/offer?tag=winter").await.json();
    let listed: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [tagged]);
    let scheduled = t
        .get_a("/external/offer?tag=promo&status=scheduled")
        .await
        .json();
    let listed: Vec<i64> = scheduled
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, [future]);
    let live = t.get_a("/external/offer?status=live").await.json();
    assert_eq!(live.as_array().map(Vec::len), Some(1));
    t.get_a("/external/offer?status=soon")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let bad = t
        .json(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &with(&text_offer(), json!({"name": "x".repeat(81)})),
        )
        .await;
    bad.invalid(&["name"]);
    // The feed never shows the internal name.
    let shown = offer_in(&feed(&t, "room=r1").await, tagged).unwrap();
    assert!(
        shown.get("name").is_none() && shown.get("tags").is_none(),
        "{shown}"
    );
});

both_backends!(test_sends_reach_the_user_now_and_are_not_counted, |t| {
    let offer = t
        .create_a_id(&with(
            &text_offer(),
            json!({"startTime": "2999-01-01T00:00:00.000Z"}),
        ))
        .await;
    assert!(ids(&feed(&t, "room=r1&user=qa").await).is_empty());
    let r = t
        .json(
            Method::POST,
            &format!("/external/offer/{offer}/test"),
            &t.a,
            Role::Editor,
            &json!({"userId": "qa"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let shown = feed(&t, "room=r1&user=qa").await;
    let test = offer_in(&shown, offer).expect("the test send is in the user's feed");
    assert_eq!(test["test"], true, "{test}");
    let start = offers_core::parse_timestamp(test["startTime"].as_str().unwrap()).unwrap();
    assert!(start <= Utc::now(), "a test ignores the schedule: {test}");
    assert!(
        ids(&feed(&t, "room=r1&user=someone").await).is_empty(),
        "only that user"
    );

    // Its events are acknowledged and not counted.
    let events = json!({"key": t.a.public_key(), "room": "r1", "user": "qa", "events": [
        {"id": "t1", "offerId": offer, "kind": "impression", "at": offers_core::format_timestamp(&Utc::now())}]});
    let r = t
        .send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(Body::from(events.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let stats = t
        .get_a(&format!("/external/offer/{offer}/stats"))
        .await
        .json();
    assert_eq!(stats["impressions"], 0, "{stats}");

    for (body, field) in [
        (json!({}), "userId"),
        (json!({"userId": 5}), "userId"),
        (json!({"user": "x"}), "user"),
    ] {
        let r = t
            .json(
                Method::POST,
                &format!("/external/offer/{offer}/test"),
                &t.a,
                Role::Editor,
                &body,
            )
            .await;
        r.invalid(&[field]);
    }
    t.json(
        Method::POST,
        "/external/offer/999999/test",
        &t.a,
        Role::Editor,
        &json!({"userId": "qa"}),
    )
    .await
    .error(StatusCode::NOT_FOUND, "not_found");
});

both_backends!(explain_names_the_segment_that_hides_an_offer, |t| {
    put_profile(&t, "ana", &json!({"language": "en", "tags": ["churned"]})).await;
    let vips = create_segment(
        &t,
        &json!({"name": "German VIPs", "conditions": [{"field": "language", "op": "eq", "value": "de"}]}),
    )
    .await;
    let churned = create_segment(
        &t,
        &json!({"name": "Churned", "conditions": [{"field": "tag", "op": "eq", "value": "churned"}]}),
    )
    .await;
    let vip_offer = t
        .create_a_id(&with(&text_offer(), json!({"segmentIds": [vips]})))
        .await;
    let excluded = t
        .create_a_id(&with(
            &text_offer(),
            json!({"excludeSegmentIds": [churned]}),
        ))
        .await;
    let strict = t
        .create_a_id(&with(&text_offer(), json!({"title": "Hi {{firstName}}"})))
        .await;
    let r = t.get_a("/external/explain?room=r1&user=ana").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let verdict = |id: i64| {
        body["offers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["offerId"] == id)
            .cloned()
            .unwrap()
    };
    let detail = |o: &Value, rule: &str| {
        o["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["rule"] == rule)
            .map(|c| {
                (
                    c["ok"].as_bool().unwrap(),
                    c["detail"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("no {rule} check in {o}"))
    };
    let v = verdict(vip_offer);
    assert_eq!(v["shown"], false);
    let (ok, text) = detail(&v, "segments");
    assert!(!ok && text.contains("German VIPs"), "{text}");
    let v = verdict(excluded);
    let (ok, text) = detail(&v, "segments");
    assert!(!ok && text.contains("Churned"), "{text}");
    let v = verdict(strict);
    let (ok, text) = detail(&v, "personalization");
    assert!(!ok && text.contains("firstName"), "{text}");
    // The feed agrees.
    assert!(ids(&feed(&t, "room=r1&user=ana").await).is_empty());
    t.get_a("/external/explain?room=r1&lang=!!")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
});

both_backends!(bulk_calls_take_100k_rows_and_name_their_own_limit, |t| {
    // 100,000 profiles (the per-call maximum) fit the bulk body limit; one more is refused.
    let rows: Vec<Value> = (0..100_000)
        .map(|i| json!({"id": format!("user{i}"), "tags": ["t"], "attributes": {"points": i}}))
        .collect();
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &Value::Array(rows),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["upserted"], 100_000);
    let page = t.get_a("/external/user?tag=t&limit=1").await.json();
    assert_eq!(page["total"], 100_000);
    let too_many: Vec<Value> = (0..100_001)
        .map(|i| json!({"id": format!("x{i}")}))
        .collect();
    let r = t
        .json(
            Method::POST,
            "/external/users",
            &t.a,
            Role::Editor,
            &Value::Array(too_many),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    t.get_a("/external/user/x0")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    // Past the bulk limit: 413 naming it.
    let huge = format!("[{}]", "\"x\",".repeat(17 * 1024 * 1024) + "\"x\"");
    let r = t
        .send(
            t.req(Method::POST, "/external/users", &t.a, Role::Editor)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("at most 67108864 bytes"),
        "{error}"
    );
    // Other bodies keep the 1 MiB limit.
    let big_profile = json!({"attributes": {"a": "x".repeat(2 * 1024 * 1024)}});
    let r = put_profile(&t, "big", &big_profile).await;
    let error = r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("at most 1048576 bytes"),
        "{error}"
    );
});
