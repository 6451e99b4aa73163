//! Issue 15: campaigns (SPEC §9) on SQLite and PostgreSQL — conversions (idempotent by id,
//! attributed to the last click within the project's window), per-variant figures and their
//! comparison, the CSV exports, tracked events (stored, counted as `triggered`, conversions from
//! identified users), the project's caps and attribution window (`PATCH /external/project`),
//! and the feed's `caps` and `recentPopups`.

use crate::common::{Resp, TestApp, text_offer, with};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use offers_api::auth::Role;
use offers_core::format_timestamp;
use serde_json::{Value, json};

fn ts(at: DateTime<Utc>) -> String {
    format_timestamp(&at)
}

async fn post_batch(t: &TestApp, body: &Value) -> Value {
    let r = t
        .send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    r.json()
}

/// One widget event of `user` in project A.
async fn event(
    t: &TestApp,
    user: Option<&str>,
    id: &str,
    offer: i64,
    kind: &str,
    at: DateTime<Utc>,
    variant: Option<u8>,
) {
    let mut e = json!({"id": id, "offerId": offer, "kind": kind, "at": ts(at)});
    if let Some(v) = variant {
        e["variant"] = json!(v);
    }
    let mut batch = json!({"key": t.a.public_key(), "room": "r1", "events": [e]});
    if let Some(user) = user {
        batch["user"] = json!(user);
    }
    let answer = post_batch(t, &batch).await;
    assert_eq!(answer["accepted"], 1, "{answer}");
}

async fn convert(t: &TestApp, body: &Value) -> Resp {
    t.json(
        Method::POST,
        "/external/conversion",
        &t.a,
        Role::Owner,
        body,
    )
    .await
}

async fn patch_project(t: &TestApp, body: &Value) -> Resp {
    t.json(Method::PATCH, "/external/project", &t.a, Role::Owner, body)
        .await
}

async fn feed(t: &TestApp, query: &str, if_none_match: Option<&str>) -> Resp {
    let mut req = Request::get(format!(
        "/widget/v1/offers?key={}&room=r1{query}",
        t.a.public_key()
    ));
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    t.send(req.body(Body::empty()).unwrap()).await
}

both_backends!(
    conversions_are_idempotent_and_go_to_the_last_click_in_the_window,
    |t| {
        let first = t.create_a_id(&text_offer()).await;
        let second = t.create_a_id(&text_offer()).await;
        let base = (Utc::now() - Duration::days(3)).trunc_subsecs(3);
        event(&t, Some("u1"), "c-1", first, "click", base, Some(1)).await;
        event(
            &t,
            Some("u1"),
            "c-2",
            second,
            "click",
            base + Duration::hours(1),
            None,
        )
        .await;
        // Another user's later click, and an impression, never count for u1.
        event(
            &t,
            Some("u2"),
            "c-3",
            first,
            "click",
            base + Duration::hours(2),
            Some(0),
        )
        .await;
        event(
            &t,
            Some("u1"),
            "i-1",
            first,
            "impression",
            base + Duration::hours(2),
            Some(0),
        )
        .await;

        let edge = base + Duration::hours(1) + Duration::hours(24);
        for (id, user, at, offer, variant) in [
            // Exactly 24 h after the last click: still inside the window.
            ("k-edge", "u1", edge, json!(second), json!(null)),
            // One millisecond later: no click within the window.
            (
                "k-late",
                "u1",
                edge + Duration::milliseconds(1),
                json!(null),
                json!(null),
            ),
            // Between the two clicks: the first one, with its variant.
            (
                "k-between",
                "u1",
                base + Duration::minutes(30),
                json!(first),
                json!(1),
            ),
            // Before any click.
            (
                "k-early",
                "u1",
                base - Duration::milliseconds(1),
                json!(null),
                json!(null),
            ),
            // A user who never clicked.
            (
                "k-none",
                "u3",
                base + Duration::hours(2),
                json!(null),
                json!(null),
            ),
        ] {
            let r = convert(
                &t,
                &json!({"id": id, "userId": user, "name": "deposit", "value": 20, "at": ts(at)}),
            )
            .await;
            assert_eq!(r.status, StatusCode::CREATED, "{id}: {}", r.text());
            assert_eq!(
                r.json(),
                json!({"id": id, "attributedOfferId": offer, "variant": variant, "duplicate": false}),
                "{id}"
            );
        }
        // The same id again (even with another body): nothing stored, the first attribution.
        let again = convert(
            &t,
            &json!({"id": "k-between", "userId": "u9", "name": "other", "value": 1000}),
        )
        .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text());
        assert_eq!(
            again.json(),
            json!({"id": "k-between", "attributedOfferId": first, "variant": 1, "duplicate": true})
        );
        let stats = t
            .get_a(&format!("/external/offer/{first}/stats"))
            .await
            .json();
        assert_eq!(
            (
                stats["conversions"].clone(),
                stats["conversionValue"].clone()
            ),
            (json!(1), json!(20.0)),
            "{stats}"
        );
        let stats = t
            .get_a(&format!("/external/offer/{second}/stats"))
            .await
            .json();
        assert_eq!(stats["conversions"], 1, "{stats}");

        // A wider window reaches further back; `at` defaults to now.
        let r = patch_project(&t, &json!({"attributionWindowHours": 48})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["attributionWindowHours"], 48);
        let r = convert(
        &t,
        &json!({"id": "k-wide", "userId": "u1", "name": "deposit", "at": ts(edge + Duration::hours(1))}),
    )
    .await;
        assert_eq!(r.json()["attributedOfferId"], second, "{}", r.text());
        let r = convert(
            &t,
            &json!({"id": "k-now", "userId": "u1", "name": "deposit"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(
            r.json()["attributedOfferId"],
            Value::Null,
            "3 days ago is outside 48 h"
        );

        // Another project sees none of A's clicks, and may reuse the id.
        let r = t
        .json(
            Method::POST,
            "/external/conversion",
            &t.b,
            Role::Owner,
            &json!({"id": "k-between", "userId": "u1", "name": "deposit", "at": ts(base + Duration::minutes(30))}),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(r.json()["attributedOfferId"], Value::Null);

        // Bad input names the field; reporting needs `update` on figures.
        for (body, field) in [
            (json!({"id": "", "userId": "u", "name": "n"}), "id"),
            (json!({"id": "x", "userId": "", "name": "n"}), "userId"),
            (
                json!({"id": "x", "userId": "u", "name": "no spaces"}),
                "name",
            ),
            (
                json!({"id": "x", "userId": "u", "name": "n", "value": "ten"}),
                "value",
            ),
            (
                json!({"id": "x", "userId": "u", "name": "n", "at": ts(Utc::now() + Duration::hours(1))}),
                "at",
            ),
            (json!({"id": "x", "name": "n"}), "userId"),
            (
                json!({"id": "x", "userId": "u", "name": "n", "extra": 1}),
                "body",
            ),
        ] {
            let r = convert(&t, &body).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {}",
                r.text()
            );
            let fields = &r.json()["error"]["fields"];
            assert!(
                fields.get(field).is_some()
                    || (field == "body" && fields.as_object().is_some_and(|f| !f.is_empty())),
                "{body}: {fields}"
            );
        }
        for role in [Role::Editor, Role::Viewer] {
            let r = t
                .json(
                    Method::POST,
                    "/external/conversion",
                    &t.a,
                    role,
                    &json!({"id": "denied", "userId": "u", "name": "n"}),
                )
                .await;
            r.error(StatusCode::FORBIDDEN, "forbidden");
        }
    }
);

both_backends!(figures_per_variant_with_conversions_and_csv_exports, |t| {
    let offer = t.create_a_id(&text_offer()).await;
    let plain = t.create_a_id(&text_offer()).await;
    // Two UTC days: 2 days ago at 23:30 and the day after at 10:00.
    let day1 = (Utc::now() - Duration::days(2))
        .date_naive()
        .and_hms_opt(23, 30, 0)
        .unwrap()
        .and_utc();
    let day2 = day1 + Duration::minutes(630);
    let mut events = Vec::new();
    for i in 0..4 {
        events.push(json!({"id": format!("a{i}"), "offerId": offer, "kind": "impression", "at": ts(day1), "variant": 0}));
        events.push(json!({"id": format!("b{i}"), "offerId": offer, "kind": "impression", "at": ts(day2), "variant": 1}));
    }
    events
        .push(json!({"id": "ca", "offerId": offer, "kind": "click", "at": ts(day1), "variant": 0}));
    for i in 0..3 {
        events.push(json!({"id": format!("cb{i}"), "offerId": offer, "kind": "click", "at": ts(day2), "variant": 1}));
    }
    events
        .push(json!({"id": "xb", "offerId": offer, "kind": "close", "at": ts(day2), "variant": 1}));
    events.push(json!({"id": "p1", "offerId": plain, "kind": "impression", "at": ts(day2)}));
    // A variant out of range is refused alone.
    events.push(
        json!({"id": "bad", "offerId": offer, "kind": "impression", "at": ts(day2), "variant": 5}),
    );
    let answer = post_batch(
        &t,
        &json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "events": events}),
    )
    .await;
    assert_eq!(answer["accepted"], 14, "{answer}");
    assert_eq!(answer["rejected"][0]["index"], 14, "{answer}");
    assert!(
        answer["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("variant"),
        "{answer}"
    );
    let r = convert(
        &t,
        &json!({"id": "conv-1", "userId": "u1", "name": "deposit", "value": 12.5, "at": ts(day2 + Duration::minutes(5))}),
    )
    .await;
    assert_eq!(r.json()["variant"], 1, "{}", r.text());

    let stats = t
        .get_a(&format!("/external/offer/{offer}/stats"))
        .await
        .json();
    assert_eq!(stats["impressions"], 8, "{stats}");
    assert_eq!(stats["clicks"], 4);
    assert_eq!(stats["conversions"], 1);
    assert_eq!(stats["conversionValue"], 12.5);
    assert_eq!(stats["conversionRate"], 0.125);
    assert_eq!(stats["triggered"], 0, "shown on entry");
    let variants = stats["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{stats}");
    assert_eq!(
        (
            variants[0]["variant"].clone(),
            variants[0]["impressions"].clone(),
            variants[0]["clicks"].clone(),
            variants[0]["ctr"].clone()
        ),
        (json!(0), json!(4), json!(1), json!(0.25))
    );
    assert_eq!(variants[1]["clicks"], 3);
    assert_eq!(variants[1]["closes"], 1);
    assert_eq!(variants[1]["conversions"], 1);
    assert_eq!(variants[1]["conversionRate"], 0.25);
    let (low, high) = (
        variants[1]["ctrLow"].as_f64().unwrap(),
        variants[1]["ctrHigh"].as_f64().unwrap(),
    );
    assert!(
        low < 0.75 && 0.75 < high && (0.0..=1.0).contains(&low) && high <= 1.0,
        "{stats}"
    );
    assert_eq!(stats["comparison"]["leader"], 1, "{stats}");
    assert_eq!(stats["comparison"]["runnerUp"], 0);
    assert_eq!(stats["comparison"]["metric"], "conversionRate", "{stats}");
    assert_eq!(
        stats["comparison"]["significant"], false,
        "4 impressions each"
    );
    let days = stats["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{stats}");
    assert_eq!(days[1]["conversions"], 1);
    // The list's summary has the conversions too.
    let list = t.get_a("/external/offer").await.json();
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == offer)
        .unwrap();
    assert_eq!(listed["stats"]["conversions"], 1, "{listed}");
    assert_eq!(listed["stats"]["conversionValue"], 12.5);

    // CSV of one offer: header, one line per day and variant, CRLF.
    let r = t.get_a(&format!("/external/offer/{offer}/stats.csv")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let d1 = day1.date_naive().to_string();
    let d2 = day2.date_naive().to_string();
    assert_eq!(
        r.text(),
        format!(
            "date,offerId,variant,impressions,clicks,closes,conversions,conversionValue\r\n\
             {d1},{offer},0,4,1,0,0,0\r\n\
             {d2},{offer},1,4,3,1,1,12.5\r\n"
        )
    );
    // In UTC+1 the first day's 23:30 is the next local day: both land on one day.
    let r = t
        .get_a(&format!("/external/offer/{offer}/stats.csv?utcOffset=60"))
        .await;
    let text = r.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().skip(1).all(|l| l.starts_with(&d2)),
        "{lines:?}"
    );
    // The whole project: `from` and `to` required; the plain offer's variant is empty.
    let r = t
        .get_a(&format!("/external/stats.csv?from={d1}&to={d2}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let text = r.text();
    assert!(
        text.contains(&format!("{d2},{plain},,1,0,0,0,0\r\n")),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
    let r = t
        .get_a(&format!("/external/stats.csv?from={d2}&to={d2}"))
        .await;
    assert_eq!(r.text().lines().count(), 3, "one day: {}", r.text());
    for (query, field) in [
        ("", "from"),
        ("?from=2026-01-01", "to"),
        ("?from=2026-01-02&to=2026-01-01", "from"),
        ("?from=2024-01-01&to=2026-01-01", "to"),
        ("?from=2026-01-01&to=2026-01-02&utcOffset=5000", "utcOffset"),
    ] {
        let r = t.get_a(&format!("/external/stats.csv{query}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text());
        assert!(
            r.json()["error"]["fields"].get(field).is_some(),
            "{query}: {}",
            r.text()
        );
    }
    let r = t.get_a("/external/offer/999999/stats.csv").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Figures are readable with `view` on figures.
    let r = t
        .empty(
            Method::GET,
            &format!("/external/offer/{offer}/stats.csv"),
            &t.a,
            Role::Viewer,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
});

both_backends!(
    tracked_events_are_stored_counted_and_convert_for_identified_users,
    |t| {
        // Signatures required: only a signed user's tracked conversion counts.
        let r = patch_project(&t, &json!({"requireUserSignature": true})).await;
        assert_eq!(r.status, StatusCode::OK);
        let secret = t.a.project.identity_secret.clone();
        let sig = offers_api::auth::user_signature(&secret, "u1");
        let triggered_offer = t
            .json(
                Method::POST,
                "/external/offer",
                &t.a,
                Role::Owner,
                &with(
                    &text_offer(),
                    json!({"trigger": {"event": "deposit_failed"}}),
                ),
            )
            .await;
        let offer = t.create_a_id(&text_offer()).await;
        let now = Utc::now().trunc_subsecs(3);
        let click = json!({"id": "clk", "offerId": offer, "kind": "click", "at": ts(now - Duration::minutes(10))});
        let tracked = json!([
            {"id": "t1", "name": "deposit_failed", "props": {"amount": 20}, "at": ts(now)},
            {"id": "t2", "name": "deposit_failed", "at": ts(now)},
            {"id": "t3", "name": "deposit", "at": ts(now), "conversion": true, "value": 50},
            {"id": "t4", "name": "bad name", "at": ts(now)},
            {"id": "t1", "name": "deposit_failed", "at": ts(now)},
        ]);
        let batch = json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "sig": sig,
        "events": [click], "tracked": tracked});
        let answer = post_batch(&t, &batch).await;
        assert_eq!(answer["accepted"], 4, "1 event + 3 tracked: {answer}");
        assert_eq!(answer["duplicates"], 1, "{answer}");
        assert_eq!(answer["rejectedTracked"][0]["index"], 3, "{answer}");
        assert!(
            answer["rejectedTracked"][0]["reason"]
                .as_str()
                .unwrap()
                .starts_with("name")
        );
        // A retried batch stores nothing again.
        let answer = post_batch(&t, &batch).await;
        assert_eq!(
            (answer["accepted"].clone(), answer["duplicates"].clone()),
            (json!(0), json!(5)),
            "{answer}"
        );
        let stats = t
            .get_a(&format!("/external/offer/{offer}/stats"))
            .await
            .json();
        assert_eq!(
            stats["conversions"], 1,
            "the signed user's tracked conversion: {stats}"
        );
        assert_eq!(stats["conversionValue"], 50.0);
        // The tracked conversion's id is `track:` + its event id: the page's ids never take
        // the partner's (`t3` is still free for the partner), and the partner can name it.
        let r = convert(
            &t,
            &json!({"id": "track:t3", "userId": "u1", "name": "deposit"}),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["attributedOfferId"], offer);
        assert_eq!(r.json()["duplicate"], true);

        // Unsigned: stored as tracked events, no conversion.
        let answer = post_batch(
            &t,
            &json!({"key": t.a.public_key(), "room": "r1", "user": "u1",
            "events": [{"id": "clk2", "offerId": offer, "kind": "click", "at": ts(now)}],
            "tracked": [{"id": "t5", "name": "deposit", "at": ts(now), "conversion": true}]}),
        )
        .await;
        assert_eq!(answer["accepted"], 2, "{answer}");
        let stats = t
            .get_a(&format!("/external/offer/{offer}/stats"))
            .await
            .json();
        assert_eq!(stats["conversions"], 1, "{stats}");
        let r = convert(&t, &json!({"id": "t5", "userId": "u1", "name": "deposit"})).await;
        assert_eq!(
            r.status,
            StatusCode::CREATED,
            "t5 was no conversion: {}",
            r.text()
        );

        // Over 100 tracked events: the batch is refused, naming `tracked`.
        let many: Vec<Value> = (0..101)
            .map(|i| json!({"id": format!("m{i}"), "name": "n", "at": ts(now)}))
            .collect();
        let r = t
        .send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"key": t.a.public_key(), "room": "r1", "events": [], "tracked": many}).to_string()))
                .unwrap(),
        )
        .await;
        r.invalid(&["tracked"]);

        // The tracked events are stored by name (what `triggered` counts), the bad one not.
        let counts = t
            .store
            .tracked_counts(
                t.a.project.id,
                &[
                    "deposit_failed".to_owned(),
                    "deposit".to_owned(),
                    "bad name".to_owned(),
                ],
                now - Duration::hours(1),
                now + Duration::hours(1),
            )
            .await
            .unwrap();
        assert_eq!(counts.get("deposit_failed"), Some(&2), "{counts:?}");
        assert_eq!(counts.get("deposit"), Some(&2), "t3 and t5: {counts:?}");
        assert_eq!(counts.get("bad name"), None);

        // An offer with a trigger counts the tracked events of its event as `triggered` (once
        // offers have triggers: issue 15's core part).
        if triggered_offer.status == StatusCode::CREATED
            && !triggered_offer.json()["offer"]["trigger"].is_null()
        {
            let id = triggered_offer.json()["offer"]["id"].as_i64().unwrap();
            let stats = t.get_a(&format!("/external/offer/{id}/stats")).await.json();
            assert_eq!(stats["triggered"], 2, "t1 and t2: {stats}");
        }
    }
);

both_backends!(caps_are_project_settings_and_reach_the_feed, |t| {
    let r = t.get_a("/external/project").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["caps"], json!({}));
    assert_eq!(r.json()["attributionWindowHours"], 24);
    let r = patch_project(
        &t,
        &json!({"caps": {"perSession": 1, "perDay": 3, "minGapMs": 60000}, "attributionWindowHours": 12}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["caps"],
        json!({"perSession": 1, "perDay": 3, "minGapMs": 60000})
    );
    assert_eq!(r.json()["attributionWindowHours"], 12);
    // Member by member; 0 clears.
    let r = patch_project(&t, &json!({"caps": {"perDay": 0, "perWeek": 10}})).await;
    assert_eq!(
        r.json()["caps"],
        json!({"perSession": 1, "perWeek": 10, "minGapMs": 60000})
    );
    assert_eq!(
        t.get_a("/external/project").await.json()["caps"]["perWeek"],
        10
    );
    for (body, field) in [
        (json!({"caps": {"perWeek": 5000}}), "caps.perWeek"),
        (json!({"caps": {"perDay": -1}}), "caps.perDay"),
        (
            json!({"caps": {"minGapMs": 700_000_000_000u64}}),
            "caps.minGapMs",
        ),
        (json!({"caps": {"perHour": 1}}), "caps"),
        (
            json!({"attributionWindowHours": 0}),
            "attributionWindowHours",
        ),
        (
            json!({"attributionWindowHours": 721}),
            "attributionWindowHours",
        ),
    ] {
        let r = patch_project(&t, &body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        let fields = r.json()["error"]["fields"].clone();
        assert!(
            fields
                .as_object()
                .unwrap()
                .keys()
                .any(|k| k.starts_with(field)),
            "{body}: {fields}"
        );
    }
    let audit = t
        .get_a("/external/audit?action=settings.updated")
        .await
        .json();
    assert_eq!(
        audit[0]["changes"]["caps"]["after"]["perWeek"], 10,
        "{audit}"
    );
    assert_eq!(
        audit[1]["changes"]["attributionWindowHours"]["after"], 12,
        "{audit}"
    );

    // The feed: caps for everyone, recentPopups for a verified user only.
    patch_project(&t, &json!({"requireUserSignature": true})).await;
    let popup = t.create_a_id(&text_offer()).await;
    let inline = t
        .create_a_id(&with(&text_offer(), json!({"viewType": "IN_FEED"})))
        .await;
    let sig = offers_api::auth::user_signature(&t.a.project.identity_secret, "u1");
    let now = Utc::now().trunc_subsecs(3);
    let signed = format!("&user=u1&sig={sig}");
    let impressions = json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "sig": sig, "events": [
        {"id": "old", "offerId": popup, "kind": "impression", "at": ts(now - Duration::days(8))},
        {"id": "p1", "offerId": popup, "kind": "impression", "at": ts(now - Duration::hours(2))},
        {"id": "p2", "offerId": popup, "kind": "impression", "at": ts(now - Duration::hours(1))},
        {"id": "f1", "offerId": inline, "kind": "impression", "at": ts(now - Duration::minutes(30))},
        {"id": "k1", "offerId": popup, "kind": "click", "at": ts(now - Duration::minutes(20))},
    ]});
    assert_eq!(post_batch(&t, &impressions).await["accepted"], 5);
    let r = feed(&t, &signed, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(
        body["caps"],
        json!({"perSession": 1, "perWeek": 10, "minGapMs": 60000}),
        "{body}"
    );
    assert_eq!(
        body["recentPopups"],
        json!([{"id": "p2", "at": ts(now - Duration::hours(1))}, {"id": "p1", "at": ts(now - Duration::hours(2))}]),
        "newest first, pop-ups of the last 7 days only"
    );
    let parsed: offers_core::api::FeedResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(parsed.recent_popups.map(|p| p.len()), Some(2));
    let etag = r.header("etag").unwrap().to_owned();
    // Unsigned, anonymous: caps only.
    for query in ["&user=u1", "&user=u1&sig=00", ""] {
        let body = feed(&t, query, None).await.json();
        assert_eq!(body["caps"]["perSession"], 1, "{query}: {body}");
        assert!(body.get("recentPopups").is_none(), "{query}: {body}");
    }
    // The ETag covers the per-user part: unchanged → 304; a new pop-up → 200 and a new tag.
    let r = feed(&t, &signed, Some(&etag)).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    let anonymous_tag = feed(&t, "", None).await.header("etag").unwrap().to_owned();
    assert_ne!(anonymous_tag, etag);
    event(&t, None, "p3-anon", popup, "impression", now, None).await;
    assert_eq!(
        feed(&t, &signed, Some(&etag)).await.status,
        StatusCode::NOT_MODIFIED,
        "another visitor's"
    );
    let batch = json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "sig": sig, "events": [
        {"id": "p3", "offerId": popup, "kind": "impression", "at": ts(now)}]});
    post_batch(&t, &batch).await;
    let r = feed(&t, &signed, Some(&etag)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["recentPopups"][0]["id"], "p3");
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // Compressed answers carry the same body.
    let r = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1{signed}",
                t.a.public_key()
            ))
            .header(header::ACCEPT_ENCODING, "gzip")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain).unwrap();
    let unzipped: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(unzipped["recentPopups"].as_array().unwrap().len(), 3);

    // No caps: neither member.
    patch_project(
        &t,
        &json!({"caps": {"perSession": 0, "perWeek": 0, "minGapMs": 0}}),
    )
    .await;
    let body = feed(&t, &signed, None).await.json();
    assert!(
        body.get("caps").is_none() && body.get("recentPopups").is_none(),
        "{body}"
    );
});

// The rows of a group are expanded from one JSON array in SQL (`jsonb` on PostgreSQL): a
// conversion's value comes back as the same `f64`, and a user id keeps every character (the
// click and the conversion only meet if both were stored exactly).
both_backends!(conversion_values_and_texts_round_trip_exactly, |t| {
    let now = Utc::now().trunc_subsecs(3);
    for (i, value) in [0.1, 1e-7, 0.30000000000000004, -123_456.789]
        .into_iter()
        .enumerate()
    {
        let offer = t.create_a_id(&text_offer()).await;
        let user = format!("ü-{i}-\u{1F600}-\"q\"\\");
        event(&t, Some(&user), &format!("c{i}"), offer, "click", now, None).await;
        let r = convert(
            &t,
            &json!({"id": format!("v{i}"), "userId": user, "name": "deposit", "value": value, "at": ts(now)}),
        )
        .await;
        assert_eq!(r.json()["attributedOfferId"], offer, "{}", r.text());
        let stats = t
            .get_a(&format!("/external/offer/{offer}/stats"))
            .await
            .json();
        assert_eq!(stats["conversions"], 1, "{stats}");
        assert_eq!(stats["conversionValue"].as_f64(), Some(value), "{stats}");
    }
});
