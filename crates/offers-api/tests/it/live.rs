//! Issue 5, server side: the live stream, widget events and figures, identity signatures,
//! per-project CORS, widget rate limits and retention, on SQLite and PostgreSQL (see
//! `common::both_backends!`). No sleeps: every wait is a bounded poll or a bounded read.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{Creds, Resp, TestApp, text_offer, with};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use offers_api::auth::{Role, user_signature};
use offers_api::store::{EventKind, NewEvent, ProjectSettings};
use serde_json::{Value, json};
use sqlx::Connection;

fn now_ts() -> String {
    offers_core::format_timestamp(&Utc::now())
}

fn ts_in(d: chrono::Duration) -> String {
    offers_core::format_timestamp(&(Utc::now() + d))
}

async fn feed(t: &TestApp, creds: &Creds, query: &str, origin: Option<&str>) -> Resp {
    let mut req = Request::get(format!(
        "/widget/v1/offers?key={}&{query}",
        creds.public_key()
    ));
    if let Some(origin) = origin {
        req = req.header(header::ORIGIN, origin);
    }
    t.send(req.body(Body::empty()).unwrap()).await
}

fn feed_ids(r: &Resp) -> Vec<i64> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["offers"]
        .as_array()
        .expect("offers array")
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect()
}

async fn post_events(t: &TestApp, body: &Value, origin: Option<&str>) -> Resp {
    let mut req =
        Request::post("/widget/v1/events").header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(origin) = origin {
        req = req.header(header::ORIGIN, origin);
    }
    t.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

fn event(id: &str, offer: i64, kind: &str) -> Value {
    json!({"id": id, "offerId": offer, "kind": kind, "at": now_ts()})
}

fn batch(creds: &Creds, user: Option<&str>, events: Vec<Value>) -> Value {
    let mut body = json!({"key": creds.public_key(), "room": "r1", "events": events});
    if let Some(user) = user {
        body["user"] = json!(user);
    }
    body
}

async fn stats(t: &TestApp, creds: &Creds, id: i64, query: &str) -> Resp {
    t.send(
        t.req(
            Method::GET,
            &format!("/external/offer/{id}/stats{query}"),
            creds,
            Role::Viewer,
        )
        .body(Body::empty())
        .unwrap(),
    )
    .await
}

async fn patch(t: &TestApp, id: i64, body: Value) {
    let r = t
        .json(
            Method::PATCH,
            &format!("/external/offer/{id}"),
            &t.a,
            Role::Editor,
            &body,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn delete(t: &TestApp, creds: &Creds, id: i64) {
    let r = t
        .send(
            t.req(
                Method::DELETE,
                &format!("/external/offer/{id}"),
                creds,
                Role::Owner,
            )
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

fn id_of(created: &Value) -> i64 {
    created["offer"]["id"].as_i64().unwrap()
}

// ---------------------------------------------------------------- stream

both_backends!(stream_follows_partner_writes, |t| {
    let key = t.a.public_key().to_owned();
    let mut s = t.stream(&format!("key={key}&room=r1&user=u1"), &[]).await;
    assert_eq!(s.header_str("content-type"), Some("text/event-stream"));
    assert_eq!(s.header_str("cache-control"), Some("no-cache"));
    assert_eq!(s.header_str("x-accel-buffering"), Some("no"));

    // POST → offer.created within a second, carrying the feed shape.
    let posted = Instant::now();
    let id = id_of(&t.create_a(&text_offer()).await);
    let e = s.expect("offer.created").await;
    assert!(posted.elapsed() < Duration::from_secs(1));
    assert_eq!(e.name, "offer.created");
    assert_eq!(e.json()["id"], id);
    assert!(e.json()["templateData"].is_object());
    assert_eq!(e.json()["startTime"], "2024-05-22T12:00:01.000Z");
    assert!(e.json().get("externalUserIds").is_none());
    assert!(e.id.is_some());

    // PATCH → offer.updated.
    patch(&t, id, json!({"title": "Changed"})).await;
    let e = s.expect("offer.updated").await;
    assert_eq!(
        (e.name.as_str(), e.json()["title"].clone()),
        ("offer.updated", json!("Changed"))
    );

    // A PATCH moving it to another room → offer.deleted; back into ours → offer.created.
    patch(&t, id, json!({"type": "ROOM", "externalRoomIds": ["r2"]})).await;
    let e = s.expect("offer.deleted").await;
    assert_eq!(
        (e.name.as_str(), e.json()),
        ("offer.deleted", json!({"id": id}))
    );
    patch(&t, id, json!({"externalRoomIds": ["r2", "r1"]})).await;
    assert_eq!(s.expect("offer.created").await.name, "offer.created");

    // Starting in two days: not sent; starting within 24 hours: sent (the widget schedules it).
    let later = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"startTime": ts_in(chrono::Duration::days(2))}),
        ))
        .await,
    );
    let soon = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"startTime": ts_in(chrono::Duration::hours(1))}),
        ))
        .await,
    );
    let e = s.expect("the offer starting soon").await;
    assert_eq!(
        (e.name.as_str(), e.json()["id"].as_i64()),
        ("offer.created", Some(soon))
    );
    assert_ne!(later, soon);

    // Another project's offer never reaches this stream; DELETE → offer.deleted.
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &text_offer(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    delete(&t, &t.a, id).await;
    let e = s.expect("offer.deleted").await;
    assert_eq!(
        (e.name.as_str(), e.json()),
        ("offer.deleted", json!({"id": id}))
    );

    // A personal offer for someone else is not sent; ending an offer deletes it.
    let theirs = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"type": "USER", "externalUserIds": ["u2"]}),
        ))
        .await,
    );
    patch(&t, soon, json!({"endTime": ts_in(chrono::Duration::hours(2)), "startTime": ts_in(-chrono::Duration::hours(1))})).await;
    let e = s.expect("offer.updated").await;
    assert_eq!(
        (e.name.as_str(), e.json()["id"].as_i64()),
        ("offer.updated", Some(soon))
    );
    assert_ne!(theirs, soon);
    patch(
        &t,
        soon,
        json!({"startTime": "2020-01-01T00:00:00Z", "endTime": "2021-01-01T00:00:00Z"}),
    )
    .await;
    let e = s.expect("offer.deleted").await;
    assert_eq!(
        (e.name.as_str(), e.json()),
        ("offer.deleted", json!({"id": soon}))
    );
});

both_backends!(stream_deletes_an_offer_when_its_end_time_passes, |t| {
    let key = t.a.public_key().to_owned();
    let mut s = t.stream(&format!("key={key}&room=r1"), &[]).await;
    let ends = with(
        &text_offer(),
        json!({"endTime": ts_in(chrono::Duration::milliseconds(1200))}),
    );
    let id = id_of(&t.create_a(&ends).await);
    assert_eq!(s.expect("offer.created").await.name, "offer.created");
    // No write happens: the stream's own clock sends the deletion at the end time.
    let e = s
        .next(Duration::from_secs(5))
        .await
        .expect("offer.deleted at its end time");
    assert_eq!(
        (e.name.as_str(), e.json()),
        ("offer.deleted", json!({"id": id}))
    );
    assert!(feed_ids(&feed(&t, &t.a, "room=r1", None).await).is_empty());
});

both_backends!(feed_horizon_server_time_and_etag, |t| {
    let live = id_of(&t.create_a(&text_offer()).await);
    let soon = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"startTime": ts_in(chrono::Duration::hours(23))}),
        ))
        .await,
    );
    let _later = t
        .create_a(&with(
            &text_offer(),
            json!({"startTime": ts_in(chrono::Duration::hours(25))}),
        ))
        .await;
    let r = feed(&t, &t.a, "room=r1", None).await;
    assert_eq!(feed_ids(&r), [soon, live]);
    let server_time = r.json()["serverTime"].as_str().unwrap().to_owned();
    let parsed = offers_core::parse_timestamp(&server_time).unwrap();
    assert!(
        server_time.ends_with('Z') && server_time.len() == 24,
        "{server_time}"
    );
    assert!((Utc::now() - parsed).num_seconds().abs() < 5);
    // serverTime moves, the ETag does not: an unchanged feed revalidates to 304.
    let etag = r.header("etag").unwrap().to_owned();
    let again = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1",
                t.a.public_key()
            ))
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
});

both_backends!(stream_opt_out_and_reconnect, |t| {
    let id = id_of(&t.create_a(&text_offer()).await);
    let key = t.a.public_key().to_owned();
    let mut s = t
        .stream(&format!("key={key}&room=r1&user=carol"), &[])
        .await;
    let opt = |value: bool| json!({"decryptedUserId": "carol", "value": value});
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &opt(true),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let e = s.expect("offer.deleted after opt-out").await;
    assert_eq!(
        (e.name.as_str(), e.json()),
        ("offer.deleted", json!({"id": id}))
    );
    assert!(feed_ids(&feed(&t, &t.a, "room=r1&user=carol", None).await).is_empty());
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &t.a,
            Role::Editor,
            &opt(false),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let e = s.expect("offer.created after opting back in").await;
    assert_eq!(
        (e.name.as_str(), e.json()["id"].as_i64()),
        ("offer.created", Some(id))
    );

    // A reconnecting EventSource (Last-Event-ID) is told to refetch first.
    let mut again = t
        .stream(
            &format!("key={key}&room=r1&user=carol"),
            &[("last-event-id", "17")],
        )
        .await;
    let e = again.expect("resync").await;
    assert_eq!((e.name.as_str(), e.json()), ("resync", json!({})));

    // Errors come in our shape, before the stream starts.
    for (query, status) in [
        ("room=r1".to_owned(), StatusCode::BAD_REQUEST),
        (format!("key={key}"), StatusCode::BAD_REQUEST),
        ("key=pk_nope&room=r1".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let r = t
            .send(
                Request::get(format!("/widget/v1/stream?{query}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, status, "{query}: {}", r.text());
        assert!(r.json()["error"]["code"].is_string());
    }
});

// ---------------------------------------------------------------- events and figures

both_backends!(retried_event_batches_count_once, |t| {
    let id = id_of(&t.create_a(&text_offer()).await);
    // 30 clicks in batches of 10; every batch is sent three times (two retries).
    const N: usize = 30;
    let yesterday = offers_core::format_timestamp(&(Utc::now() - chrono::Duration::days(1)));
    for b in 0..N / 10 {
        let events: Vec<Value> = (0..10)
            .map(|i| {
                let mut e = event(&format!("click-{b}-{i}"), id, "click");
                if b == 0 && i < 2 {
                    e["at"] = json!(yesterday);
                }
                e
            })
            .collect();
        let body = batch(&t.a, Some(&format!("user-{}", b % 2)), events);
        for attempt in 0..3 {
            let r = post_events(&t, &body, None).await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
            let expected = if attempt == 0 {
                json!({"accepted": 10, "duplicates": 0, "rejected": []})
            } else {
                json!({"accepted": 0, "duplicates": 10, "rejected": []})
            };
            assert_eq!(r.json(), expected);
        }
    }
    // 40 impressions: 3 users, some anonymous; a close; an id repeated inside one batch.
    let impressions: Vec<Value> = (0..40)
        .map(|i| event(&format!("imp-{i}"), id, "impression"))
        .collect();
    for (chunk, user) in impressions
        .chunks(10)
        .zip([Some("a"), Some("b"), Some("c"), None])
    {
        let r = post_events(&t, &batch(&t.a, user, chunk.to_vec()), None).await;
        assert_eq!(r.json()["accepted"], 10);
    }
    let r = post_events(
        &t,
        &batch(
            &t.a,
            Some("a"),
            vec![event("close-1", id, "close"), event("close-1", id, "close")],
        ),
        None,
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"accepted": 1, "duplicates": 1, "rejected": []})
    );

    let s = stats(&t, &t.a, id, "").await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    let s = s.json();
    assert_eq!(s["offerId"], id);
    assert_eq!(
        (
            &s["impressions"],
            &s["uniqueUsers"],
            &s["clicks"],
            &s["closes"],
            &s["ctr"]
        ),
        (&json!(40), &json!(3), &json!(N), &json!(1), &json!(0.75))
    );
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    let yday = (Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        s["days"],
        json!([
            {"date": yday, "impressions": 0, "uniqueUsers": 0, "clicks": 2, "closes": 0, "conversions": 0},
            {"date": today, "impressions": 40, "uniqueUsers": 3, "clicks": N - 2, "closes": 1, "conversions": 0},
        ])
    );
    // A range: only today; a range with no events is zero-filled.
    let r = stats(&t, &t.a, id, &format!("?from={today}&to={today}"))
        .await
        .json();
    assert_eq!(
        (&r["clicks"], r["days"].as_array().unwrap().len()),
        (&json!(N - 2), 1)
    );
    let r = stats(&t, &t.a, id, "?from=2024-01-01&to=2024-01-03")
        .await
        .json();
    assert_eq!((&r["impressions"], &r["ctr"]), (&json!(0), &json!(0.0)));
    assert_eq!(
        r["days"][2],
        json!({"date": "2024-01-03", "impressions": 0, "uniqueUsers": 0, "clicks": 0, "closes": 0, "conversions": 0})
    );
    for bad in [
        "?from=yesterday",
        "?to=2024-13-01",
        "?from=2024-02-02&to=2024-02-01",
    ] {
        stats(&t, &t.a, id, bad)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
    }

    // The list carries the all-time figures.
    let list = t.get_a("/external/offer").await.json();
    assert_eq!(
        list[0]["stats"],
        json!({"impressions": 40, "clicks": N, "closes": 1, "uniqueUsers": 3, "ctr": 0.75,
            "conversions": 0, "conversionValue": 0.0, "conversionRate": 0.0})
    );
});

both_backends!(events_are_checked_one_by_one, |t| {
    let mine = id_of(&t.create_a(&text_offer()).await);
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &text_offer(),
        )
        .await;
    let theirs = id_of(&r.json());
    let far_future = ts_in(chrono::Duration::minutes(10));
    let too_old = offers_core::format_timestamp(&(Utc::now() - chrono::Duration::days(91)));
    let body = batch(
        &t.a,
        Some("u1"),
        vec![
            event("ok-1", mine, "impression"),
            event("x-1", theirs, "click"),
            event("x-2", 999_999, "click"),
            json!({"id": "x-3", "offerId": mine, "kind": "hover", "at": now_ts()}),
            json!({"id": "x-4", "offerId": mine, "kind": "click", "at": far_future}),
            json!({"id": "x-5", "offerId": mine, "kind": "click", "at": too_old}),
            json!({"id": "", "offerId": mine, "kind": "click", "at": now_ts()}),
            json!({"id": "x-7", "offerId": "1", "kind": "click", "at": now_ts()}),
            json!("not an event"),
            json!({"id": "ok-2", "offerId": mine, "kind": "click", "at": ts_in(chrono::Duration::minutes(2))}),
        ],
    );
    let r = post_events(&t, &body, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let v = r.json();
    assert_eq!((&v["accepted"], &v["duplicates"]), (&json!(2), &json!(0)));
    let rejected: Vec<(i64, String)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    assert!(rejected[0].1.contains("no such offer"), "{rejected:?}");
    assert!(rejected[3].1.contains("future") && rejected[4].1.contains("retention"));
    // Nothing reached project B.
    let b_stats = stats(&t, &t.b, theirs, "").await.json();
    assert_eq!(b_stats["clicks"], 0);

    // application/json works too; the body's shape is checked as a whole.
    let send = |ct: &'static str, body: Vec<u8>| {
        t.send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, ct)
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let ok = send(
        "application/json",
        batch(&t.a, None, vec![event("ok-3", mine, "close")])
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(ok.json()["accepted"], 1);
    send("text/plain", b"{not json".to_vec())
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    send("text/plain", b"[]".to_vec())
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let r = send(
        "text/plain",
        json!({"key": t.a.public_key(), "room": "r1"})
            .to_string()
            .into_bytes(),
    )
    .await;
    r.invalid(&["events"]);
    let many: Vec<Value> = (0..101)
        .map(|i| event(&format!("m{i}"), mine, "click"))
        .collect();
    send(
        "text/plain",
        batch(&t.a, None, many).to_string().into_bytes(),
    )
    .await
    .invalid(&["events"]);
    send("text/plain", vec![b' '; 64 * 1024 + 1])
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    send("text/html", b"{}".to_vec())
        .await
        .error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let unknown = json!({"key": "pk_nope", "room": "r1", "events": []});
    send("text/plain", unknown.to_string().into_bytes())
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
});

both_backends!(figures_are_per_project, |t| {
    let a_offer = id_of(&t.create_a(&text_offer()).await);
    let r = post_events(
        &t,
        &batch(
            &t.a,
            Some("u"),
            vec![
                event("e1", a_offer, "impression"),
                event("e2", a_offer, "click"),
            ],
        ),
        None,
    )
    .await;
    assert_eq!(r.json()["accepted"], 2);
    // B cannot read A's figures, nor send events for A's offer with its own key.
    stats(&t, &t.b, a_offer, "")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    let r = post_events(
        &t,
        &batch(&t.b, Some("u"), vec![event("e3", a_offer, "click")]),
        None,
    )
    .await;
    assert_eq!(
        r.json()["rejected"][0]["reason"],
        "offerId: no such offer in this project"
    );
    // The same event id in another project is another event.
    let b_offer = id_of(
        &t.json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &text_offer(),
        )
        .await
        .json(),
    );
    let r = post_events(
        &t,
        &batch(&t.b, Some("u"), vec![event("e1", b_offer, "impression")]),
        None,
    )
    .await;
    assert_eq!(r.json()["accepted"], 1);
    assert_eq!(stats(&t, &t.a, a_offer, "").await.json()["impressions"], 1);
    assert_eq!(stats(&t, &t.b, b_offer, "").await.json()["impressions"], 1);
    stats(&t, &t.a, 999_999, "")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
});

// ---------------------------------------------------------------- identity

both_backends!(signed_users_only_when_required, |t| {
    let mut a = t.a.clone();
    t.set_project(
        &mut a,
        ProjectSettings {
            require_user_signature: Some(true),
            allowed_origins: None,
            ..Default::default()
        },
    )
    .await;
    let secret = a.project.identity_secret.clone();
    assert!(secret.starts_with("ids_") && secret.len() > 20);
    let sig = user_signature(&secret, "alice");
    let key = a.public_key().to_owned();

    let personal = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"type": "USER", "externalUserIds": ["alice"]}),
        ))
        .await,
    );
    let global = id_of(&t.create_a(&text_offer()).await);

    // The feed: unsigned, wrongly signed, or signed for someone else → anonymous.
    let bob_sig = user_signature(&secret, "bob");
    let upper = sig.to_uppercase();
    for query in [
        "room=r1&user=alice".to_owned(),
        "room=r1&user=alice&sig=00ff".to_owned(),
        format!("room=r1&user=alice&sig={bob_sig}"),
        format!("room=r1&user=alice&sig={}", &sig[..63]),
    ] {
        assert_eq!(
            feed_ids(&feed(&t, &a, &query, None).await),
            [global],
            "{query}"
        );
    }
    let signed = feed(&t, &a, &format!("room=r1&user=alice&sig={sig}"), None).await;
    assert_eq!(feed_ids(&signed), [global, personal]);
    assert_eq!(
        feed_ids(&feed(&t, &a, &format!("room=r1&user=alice&sig={upper}"), None).await),
        [global, personal]
    );
    assert!(!signed.text().contains(&secret));

    // The stream: the unsigned client never gets the personal offer.
    let mut anon = t
        .stream(&format!("key={key}&room=r1&user=alice"), &[])
        .await;
    let mut real = t
        .stream(&format!("key={key}&room=r1&user=alice&sig={sig}"), &[])
        .await;
    let personal2 = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"type": "USER", "externalUserIds": ["alice"]}),
        ))
        .await,
    );
    let global2 = id_of(&t.create_a(&text_offer()).await);
    let e = anon.expect("the global offer").await;
    assert_eq!(
        (e.name.as_str(), e.json()["id"].as_i64()),
        ("offer.created", Some(global2))
    );
    let e = real.expect("the personal offer").await;
    assert_eq!(
        (e.name.as_str(), e.json()["id"].as_i64()),
        ("offer.created", Some(personal2))
    );
    assert_eq!(
        real.expect("the global offer").await.json()["id"].as_i64(),
        Some(global2)
    );

    // Unverified users are not registered; their events are stored without a user.
    let _ = feed(&t, &a, "room=r1&user=mallory", None).await;
    let _ = feed(&t, &a, &format!("room=r1&user=alice&sig={sig}"), None).await;
    t.wait_known(&a, "users", "alice").await;
    let users = t
        .empty(Method::GET, "/external/users", &a, Role::Viewer)
        .await
        .json();
    assert_eq!(
        users["ids"],
        json!(["alice"]),
        "registration is FIFO: mallory would be there by now"
    );
    let mut unsigned = batch(&a, Some("mallory"), vec![event("i1", global, "impression")]);
    unsigned["sig"] = json!("beef");
    assert_eq!(post_events(&t, &unsigned, None).await.json()["accepted"], 1);
    let mut good = batch(&a, Some("alice"), vec![event("i2", global, "impression")]);
    good["sig"] = json!(sig);
    assert_eq!(post_events(&t, &good, None).await.json()["accepted"], 1);
    let s = stats(&t, &a, global, "").await.json();
    assert_eq!(
        (&s["impressions"], &s["uniqueUsers"]),
        (&json!(2), &json!(1))
    );

    // An opt-out holds even for an unverified id (it can only hide offers).
    let r = t
        .json(
            Method::POST,
            "/user/external/advertisment",
            &a,
            Role::Editor,
            &json!({"decryptedUserId": "eve", "value": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert!(feed_ids(&feed(&t, &a, "room=r1&user=eve", None).await).is_empty());

    // Without requireUserSignature, `sig` is ignored (project B).
    let b_personal = t
        .json(
            Method::POST,
            "/external/offer",
            &t.b,
            Role::Owner,
            &with(
                &text_offer(),
                json!({"type": "USER", "externalUserIds": ["alice"]}),
            ),
        )
        .await;
    let b_personal = id_of(&b_personal.json());
    assert_eq!(
        feed_ids(&feed(&t, &t.b, "room=r1&user=alice&sig=wrong", None).await),
        [b_personal]
    );
});

// ---------------------------------------------------------------- CORS

both_backends!(cors_per_project_origins, |t| {
    let mut a = t.a.clone();
    t.set_project(
        &mut a,
        ProjectSettings {
            require_user_signature: None,
            allowed_origins: Some(vec![
                "https://ok.example".into(),
                "http://localhost:3000".into(),
            ]),
            ..Default::default()
        },
    )
    .await;
    let id = id_of(&t.create_a(&text_offer()).await);

    let ok = feed(&t, &a, "room=r1", Some("https://ok.example")).await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    assert!(ok.header_joined("vary").contains("Origin"));
    let evil = feed(&t, &a, "room=r1", Some("https://evil.example")).await;
    assert_eq!(evil.status, StatusCode::OK);
    assert_eq!(evil.header("access-control-allow-origin"), None);

    let body = batch(&a, None, vec![event("c1", id, "click")]);
    let denied = post_events(&t, &body, Some("https://evil.example")).await;
    denied.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(denied.header("access-control-allow-origin"), None);
    let allowed = post_events(&t, &body, Some("http://localhost:3000")).await;
    assert_eq!(allowed.status, StatusCode::ACCEPTED);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    assert_eq!(
        stats(&t, &a, id, "").await.json()["clicks"],
        1,
        "the denied batch stored nothing"
    );

    let stream = t
        .send(
            Request::get(format!("/widget/v1/stream?key={}&room=r1", a.public_key()))
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    stream.error(StatusCode::FORBIDDEN, "forbidden");
    let s = t
        .stream(
            &format!("key={}&room=r1", a.public_key()),
            &[("origin", "https://ok.example")],
        )
        .await;
    assert_eq!(
        s.header_str("access-control-allow-origin"),
        Some("https://ok.example")
    );

    // Preflight (application/json events): answered for any origin, the POST decides.
    let preflight = t
        .send(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/widget/v1/events")
                .header(header::ORIGIN, "https://ok.example")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    assert!(
        preflight
            .header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );

    // A project without a list answers every origin.
    let any = feed(&t, &t.b, "room=r1", Some("https://anyone.example")).await;
    assert_eq!(
        any.header("access-control-allow-origin"),
        Some("https://anyone.example")
    );
});

// ---------------------------------------------------------------- rate limits

both_backends!(widget_rate_limit_429_with_retry_after, |t| {
    let limited = TestApp::start_with(t.db.clone(), |s| s.widget_rate_limit_per_minute = 2).await;
    let query = "room=r1";
    assert_eq!(
        feed(&limited, &limited.a, query, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        feed(&limited, &limited.a, query, None).await.status,
        StatusCode::OK
    );
    let r = feed(&limited, &limited.a, query, Some("https://host.example")).await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://host.example")
    );
    // Stream connects and event batches draw from the same bucket; other projects do not.
    let ev = post_events(&limited, &batch(&limited.a, None, vec![]), None).await;
    ev.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(
        feed(&limited, &limited.b, query, None).await.status,
        StatusCode::OK
    );
    // The partner API is not limited by the widget setting.
    assert_eq!(
        limited.get_a("/external/offer").await.status,
        StatusCode::OK
    );
});

// ---------------------------------------------------------------- retention

both_backends!(retention_purges_old_events_and_ended_offers, |t| {
    let keep = id_of(&t.create_a(&text_offer()).await);
    let ended = id_of(
        &t.create_a(&with(
            &text_offer(),
            json!({"startTime": "2024-01-01T00:00:00Z", "endTime": "2024-02-01T00:00:00Z"}),
        ))
        .await,
    );
    let now = Utc::now();
    let event = |id: &str, offer: i64, days_ago: i64| NewEvent {
        id: id.into(),
        offer_id: offer,
        kind: EventKind::Click,
        room: "r1".into(),
        user: None,
        at: now - chrono::Duration::days(days_ago),
        variant: None,
    };
    let stored = t
        .store
        .insert_events(
            t.a.project.id,
            &[
                event("old", keep, 100),
                event("recent", keep, 10),
                event("old-b", keep, 95),
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(stored, 3);

    let purged = offers_api::retention::purge_expired(t.store.as_ref(), now, 90)
        .await
        .unwrap();
    assert_eq!((purged.events, purged.offers), (2, 1));
    assert_eq!(stats(&t, &t.a, keep, "").await.json()["clicks"], 1);
    t.get_a(&format!("/external/offer/{ended}"))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    // Idempotent: a second replica running it finds nothing left.
    let again = offers_api::retention::purge_expired(t.store.as_ref(), now, 90)
        .await
        .unwrap();
    assert_eq!((again.events, again.offers), (0, 0));
    // An injected later "now" reaches the recent event; the open-ended offer stays.
    let later = offers_api::retention::purge_expired(
        t.store.as_ref(),
        now + chrono::Duration::days(81),
        90,
    )
    .await
    .unwrap();
    assert_eq!((later.events, later.offers), (1, 0));
    assert_eq!(
        t.get_a(&format!("/external/offer/{keep}")).await.status,
        StatusCode::OK
    );
});

// ---------------------------------------------------------------- docs

#[tokio::test]
async fn openapi_describes_the_live_endpoints() {
    let doc =
        serde_json::to_value(<offers_api::http::openapi::ApiDoc as utoipa::OpenApi>::openapi())
            .unwrap();
    for path in [
        "/widget/v1/offers",
        "/widget/v1/stream",
        "/widget/v1/events",
        "/external/offer/{offerId}/stats",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(
        doc["paths"]["/widget/v1/events"]["post"]["requestBody"]["content"]
            .get("text/plain")
            .is_some()
    );
    for schema in [
        "EventsRequest",
        "EventsResponse",
        "OfferStats",
        "StatsSummary",
        "FeedResponse",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema} missing"
        );
    }
    assert!(
        doc["components"]["schemas"]["FeedResponse"]["properties"]
            .get("serverTime")
            .is_some()
    );
}

// ---------------------------------------------------------------- replicas (PostgreSQL)

/// A second API replica on the same database as `one`, with the same projects.
async fn replica_of(one: &TestApp) -> TestApp {
    let store = offers_api::store::connect(&one.db.url).await.unwrap();
    let state = offers_api::AppState::new(store.clone(), one.state.settings().clone())
        .await
        .unwrap();
    TestApp {
        db: one.db.clone(),
        store,
        router: offers_api::app(state.clone()),
        state,
        a: one.a.clone(),
        b: one.b.clone(),
        static_dir: tempfile::tempdir().unwrap(),
    }
}

#[tokio::test]
async fn replicas_share_changes_through_postgres() {
    if common::skip_postgres("live::replicas_share_changes_through_postgres") {
        return;
    }
    common::with_db(common::Backend::Postgres, |db| async move {
        let one = TestApp::start(db).await;
        let two = replica_of(&one).await;
        let key = one.a.public_key().to_owned();
        let personal = id_of(
            &one.create_a(&with(
                &text_offer(),
                json!({"type": "USER", "externalUserIds": ["alice"]}),
            ))
            .await,
        );
        let mut s = two
            .stream(&format!("key={key}&room=r1&user=alice"), &[])
            .await;

        // Written on one, seen on two's stream within a second.
        let posted = Instant::now();
        let id = id_of(&one.create_a(&text_offer()).await);
        let e = s.expect("offer.created from the other replica").await;
        assert!(posted.elapsed() < Duration::from_secs(1));
        assert_eq!(
            (e.name.as_str(), e.json()["id"].as_i64()),
            ("offer.created", Some(id))
        );
        patch(&one, id, json!({"title": "Both"})).await;
        assert_eq!(s.expect("offer.updated").await.json()["title"], "Both");
        // Two's feed (served from its index, not the database) follows as well.
        assert_eq!(
            feed_ids(&feed(&two, &two.a, "room=r1&user=alice", None).await),
            [id, personal]
        );

        // Settings changed elsewhere: the unsigned user loses their identity → resync.
        one.store
            .update_project_settings(
                one.a.project.id,
                &ProjectSettings {
                    require_user_signature: Some(true),
                    allowed_origins: None,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let e = s.expect("resync after the identity rules changed").await;
        assert_eq!(e.name, "resync");
        assert_eq!(
            feed_ids(&feed(&two, &two.a, "room=r1&user=alice", None).await),
            [id]
        );

        // The listener's connection dies: it reconnects, streams are told to resync, and
        // changes flow again.
        let mut admin = sqlx::PgConnection::connect(&common::pg_admin_url())
            .await
            .unwrap();
        let db_name = one.db.url.rsplit('/').next().unwrap().to_owned();
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND query LIKE 'LISTEN%'",
        )
        .bind(&db_name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        assert_eq!(killed.len(), 2, "one listener per replica");
        let e = s
            .next(Duration::from_secs(10))
            .await
            .expect("resync after reconnecting");
        assert_eq!(e.name, "resync");
        delete(&one, &one.a, id).await;
        let e = s.expect("offer.deleted after the reconnection").await;
        assert_eq!(
            (e.name.as_str(), e.json()),
            ("offer.deleted", json!({"id": id}))
        );
    })
    .await;
}
