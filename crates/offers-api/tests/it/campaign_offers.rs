//! Issue 15: the offer fields of campaigns (SPEC §9) — `trigger`, `priority`, `variants` and
//! `holdoutPercent` — created (JSON and multipart), read, patched (`"trigger": null` clears)
//! and sent in the feed (merged, personalized variants), with 422s naming each bad field, on
//! SQLite and PostgreSQL.

use crate::common::{Resp, TestApp, text_offer, with};
use axum::http::{Method, StatusCode};
use offers_api::auth::Role;
use serde_json::{Value, json};

fn campaign() -> Value {
    with(
        &text_offer(),
        json!({
            "trigger": {"event": "deposit_failed",
                "conditions": [{"field": "props.amount", "op": "gte", "value": 20}],
                "delayMS": 1500},
            "priority": 10,
            "holdoutPercent": 20,
            "variants": [
                {"weight": 70, "title": "Variant A"},
                {"weight": 30, "text": "Other text", "templateData": {"bgColor": "#000"}}
            ]
        }),
    )
}

async fn feed(t: &TestApp, query: &str) -> Value {
    t.feed_json_of_a(query).await
}

fn offer_in(feed: &Value, id: i64) -> Value {
    feed["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .find(|o| o["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("offer {id} not in {feed}"))
}

async fn patch(t: &TestApp, id: i64, body: &Value) -> Resp {
    t.json(
        Method::PATCH,
        &format!("/external/offer/{id}"),
        &t.a,
        Role::Owner,
        body,
    )
    .await
}

both_backends!(campaign_fields_round_trip, |t| {
    let created = t.create_a(&campaign()).await;
    let offer = &created["offer"];
    let id = offer["id"].as_i64().unwrap();
    assert_eq!(offer["trigger"]["event"], "deposit_failed", "{offer}");
    assert_eq!(
        offer["trigger"]["conditions"],
        json!([{"field": "props.amount", "op": "gte", "value": 20}])
    );
    assert_eq!(offer["trigger"]["delayMS"], 1500);
    assert_eq!(
        (&offer["priority"], &offer["holdoutPercent"]),
        (&json!(10), &json!(20))
    );
    assert_eq!(
        offer["variants"][0],
        json!({"weight": 70, "title": "Variant A"})
    );
    assert_eq!(offer["variants"][1]["templateData"]["bgColor"], "#000");
    assert_eq!(created["advertisement"]["priority"], 10);

    let got = t.get_a(&format!("/external/offer/{id}")).await.json();
    for key in ["trigger", "priority", "variants", "holdoutPercent"] {
        assert_eq!(got[key], offer[key], "{key}");
    }

    // The feed: trigger, priority, holdout and each variant's whole content.
    let feed_offer = offer_in(&feed(&t, "room=r1&user=u1").await, id);
    assert_eq!(feed_offer["trigger"], offer["trigger"]);
    assert_eq!(feed_offer["priority"], 10);
    assert_eq!(feed_offer["holdoutPercent"], 20);
    let variants = feed_offer["variants"].as_array().expect("variants");
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["weight"], 70);
    assert_eq!(variants[0]["title"], "Variant A");
    assert_eq!(variants[0]["text"], "Text", "falls back to the offer's own");
    assert_eq!(variants[0]["linkText"], "Click me");
    assert_eq!(variants[0]["templateData"]["bgColor"], "#736969");
    assert_eq!(variants[1]["title"], "Title");
    assert_eq!(variants[1]["text"], "Other text");
    assert_eq!(variants[1]["templateData"]["bgColor"], "#000");
    assert_eq!(
        variants[1]["templateData"]["gradient"], false,
        "a variant's templateData replaces the whole object"
    );

    // PATCH: only what is sent changes; `"trigger": null` clears the trigger.
    let r = patch(&t, id, &json!({"priority": -5})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let patched = r.json()["offer"].clone();
    assert_eq!(patched["priority"], -5);
    assert_eq!(patched["trigger"], offer["trigger"]);
    assert_eq!(patched["variants"], offer["variants"]);
    let r = patch(
        &t,
        id,
        &json!({"trigger": null, "variants": [], "holdoutPercent": 0}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cleared = t.get_a(&format!("/external/offer/{id}")).await.json();
    assert_eq!(cleared["trigger"], Value::Null, "{cleared}");
    assert_eq!(cleared["variants"], json!([]));
    assert_eq!(cleared["holdoutPercent"], 0);
    assert_eq!(cleared["priority"], -5);
    let shown = offer_in(&feed(&t, "room=r1&user=u1").await, id);
    for key in ["trigger", "variants", "holdoutPercent"] {
        assert!(
            shown.get(key).is_none(),
            "{key} left out of the feed: {shown}"
        );
    }
    assert_eq!(shown["priority"], -5);

    // An offer without the fields answers their defaults, and the feed leaves them out.
    let plain = t.create_a(&text_offer()).await["offer"].clone();
    assert_eq!(
        (
            &plain["trigger"],
            &plain["priority"],
            &plain["variants"],
            &plain["holdoutPercent"]
        ),
        (&Value::Null, &json!(0), &json!([]), &json!(0))
    );
    let plain_feed = offer_in(
        &feed(&t, "room=r1&user=u1").await,
        plain["id"].as_i64().unwrap(),
    );
    for key in ["trigger", "priority", "variants", "holdoutPercent"] {
        assert!(plain_feed.get(key).is_none(), "{key}: {plain_feed}");
    }
});

both_backends!(campaign_fields_in_a_multipart_form, |t| {
    let r = t
        .multipart(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &[
                ("template", "10"),
                ("title", "Title"),
                ("text", "Text"),
                ("linkText", "Go"),
                ("link", "https://a.example/"),
                ("startTime", "2024-05-22T12:00:01.000Z"),
                ("trigger", r#"{"event": "checkout:done"}"#),
                ("priority", "3"),
                ("holdoutPercent", "5"),
                (
                    "variants",
                    r#"[{"weight": 1}, {"weight": "2", "title": "B"}]"#,
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let offer = r.json()["offer"].clone();
    assert_eq!(
        offer["trigger"],
        json!({"event": "checkout:done", "conditions": [], "delayMS": 0})
    );
    assert_eq!(
        (&offer["priority"], &offer["holdoutPercent"]),
        (&json!(3), &json!(5))
    );
    assert_eq!(
        offer["variants"],
        json!([{"weight": 1}, {"weight": 2, "title": "B"}])
    );
});

both_backends!(campaign_field_errors_name_the_field, |t| {
    let bad = with(
        &text_offer(),
        json!({
            "trigger": {"event": "bad name", "delayMS": -1,
                "conditions": [{"field": "amount", "op": "gte", "value": "x"}]},
            "priority": 5000,
            "holdoutPercent": 51,
            "variants": [{"weight": 0, "title": "far too long for a title, really"}, {"title": "B"}]
        }),
    );
    let r = t
        .json(Method::POST, "/external/offer", &t.a, Role::Owner, &bad)
        .await;
    r.invalid(&[
        "trigger.event",
        "trigger.delayMS",
        "trigger.conditions[0].field",
        "priority",
        "holdoutPercent",
        "variants[0].weight",
        "variants[0].title",
        "variants[1].weight",
    ]);
    let one = with(&text_offer(), json!({"variants": [{"weight": 1}]}));
    let r = t
        .json(Method::POST, "/external/offer", &t.a, Role::Owner, &one)
        .await;
    r.invalid(&["variants"]);

    // PATCH re-validates the whole offer; nothing is written on error.
    let id = t.create_a_id(&campaign()).await;
    let r = patch(&t, id, &json!({"trigger": {"event": ""}, "priority": 1})).await;
    r.invalid(&["trigger.event"]);
    let got = t.get_a(&format!("/external/offer/{id}")).await.json();
    assert_eq!(got["trigger"]["event"], "deposit_failed");
    assert_eq!(got["priority"], 10);
});

both_backends!(variant_texts_are_personalized_in_the_feed, |t| {
    let r = t
        .json(
            Method::PUT,
            "/external/user/ana",
            &t.a,
            Role::Editor,
            &json!({"attributes": {"firstName": "Ana"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let id = t
        .create_a_id(&with(
            &text_offer(),
            json!({"variants": [
                {"weight": 1, "title": "Hi {{firstName|there}}"},
                {"weight": 1, "text": "For {{firstName|you}}"}
            ]}),
        ))
        .await;
    let shown = offer_in(&feed(&t, "room=r1&user=ana").await, id);
    assert_eq!(shown["variants"][0]["title"], "Hi Ana", "{shown}");
    assert_eq!(shown["variants"][1]["text"], "For Ana");
    assert_eq!(shown["variants"][1]["title"], "Title");
    let anonymous = offer_in(&feed(&t, "room=r1").await, id);
    assert_eq!(anonymous["variants"][0]["title"], "Hi there", "{anonymous}");
});

both_backends!(
    explain_names_the_trigger_the_variant_and_the_priority,
    |t| {
        let low = t
            .create_a_id(&with(&text_offer(), json!({"priority": 1})))
            .await;
        let high = t
            .create_a_id(&with(&text_offer(), json!({"priority": 9})))
            .await;
        let triggered = t
        .create_a_id(&with(
            &text_offer(),
            json!({"trigger": {"event": "deposit_failed"}, "variants": [{"weight": 1}, {"weight": 1}]}),
        ))
        .await;
        let r = t.get_a("/external/explain?room=r1&user=u1").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        let checks = |id: i64| -> Vec<Value> {
            v["offers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["offerId"] == id)
                .unwrap_or_else(|| panic!("{id} in {v}"))["checks"]
                .as_array()
                .unwrap()
                .clone()
        };
        let rule = |id: i64, name: &str| {
            checks(id)
                .into_iter()
                .find(|c| c["rule"] == name)
                .unwrap_or_else(|| panic!("no {name} check for {id}: {v}"))
        };
        let waiting = rule(low, "priority");
        assert_eq!(waiting["code"], "lower_priority");
        assert!(
            waiting["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("offer {high} has a higher priority")),
            "{waiting}"
        );
        assert_eq!(rule(high, "priority")["ok"], true);
        assert_eq!(
            rule(triggered, "trigger")["detail"],
            "shown only after the event deposit_failed"
        );
        assert!(
            rule(triggered, "variant")["detail"]
                .as_str()
                .unwrap()
                .starts_with("variant "),
            "{v}"
        );
        assert!(
            checks(triggered).iter().all(|c| c["rule"] != "priority"),
            "alone on its occasion"
        );
    }
);
