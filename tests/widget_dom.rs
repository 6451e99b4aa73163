//! The widget in a real browser (headless Chromium via wasm-bindgen-test): boots it the way the
//! loader does and asserts on the DOM inside its shadow root.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A feed body as the API sends it, with one text offer.
fn feed(project_offer_id: i64, link: &str, bg: &str) -> String {
    format!(
        r##"{{"offers":[{{"id":{project_offer_id},"template":10,"title":"Weekend bonus","text":"<b>not bold</b>",
        "linkText":"Get it","link":"{link}","templateData":{{"alignment":"left","bgColor":"{bg}",
        "btnColor":"#1890bf","btnTextColor":"#fff","textColor":"#000","gradient":false}},
        "viewType":"POPUP","startTime":"2024-05-22T12:00:01.000Z","showMultipleTimes":true,
        "showFrerquency":"ON_ENTRY","showDelayMS":0}}]}}"##
    )
}

fn config(project: &str) -> JsValue {
    js_sys::JSON::parse(&format!(
        r#"{{"api":"http://127.0.0.1:1","project":"{project}","room":"r1","user":"u1","parentOrigin":""}}"#
    ))
    .unwrap()
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Polls (bounded) until `find` yields something: rendering is asynchronous.
async fn eventually<T>(mut find: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..100 {
        if let Some(found) = find() {
            return Some(found);
        }
        sleep(20).await;
    }
    None
}

/// The newest pop-up host's shadow root content matching `selector`.
fn in_last_popup(selector: &str) -> Option<Element> {
    let hosts = document()
        .query_selector_all("[data-offers-widget=popup]")
        .ok()?;
    let host: Element = hosts
        .item(hosts.length().checked_sub(1)?)?
        .dyn_into()
        .ok()?;
    host.shadow_root()?.query_selector(selector).ok()?
}

/// Boots the widget and hands it a feed body, as the loader does.
fn boot(project: &str, body: &str) {
    let body = js_sys::JSON::parse(body).unwrap();
    let handle = offers_widget::boot::boot(config(project)).unwrap();
    handle.schedule(&body, handle.entry());
}

#[wasm_bindgen_test]
async fn popup_renders_text_as_text_inside_a_shadow_root_and_closes() {
    boot("pk_dom_render", &feed(1, "https://example.com/", "#736969"));
    let title = eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("offer title rendered");
    assert_eq!(title.text_content().as_deref(), Some("Weekend bonus"));
    let text = in_last_popup(".offer__text").unwrap();
    assert_eq!(
        text.inner_html(),
        "&lt;b&gt;not bold&lt;/b&gt;",
        "text must never become HTML"
    );
    let card: HtmlElement = in_last_popup(".offer").unwrap().dyn_into().unwrap();
    assert_eq!(card.get_attribute("role").as_deref(), Some("dialog"));
    assert_eq!(
        card.get_attribute("aria-label").as_deref(),
        Some("Weekend bonus")
    );
    assert_eq!(
        card.style().get_property_value("--offer-bg").unwrap(),
        "#736969"
    );
    assert!(
        card.get_attribute("style")
            .is_none_or(|s| !s.contains("url("))
    );
    // Host CSS cannot reach it: the page's own query does not see inside the shadow root.
    assert!(
        document()
            .query_selector(".offer__title")
            .unwrap()
            .is_none()
    );

    let close: HtmlElement = in_last_popup(".offer__close").unwrap().dyn_into().unwrap();
    close.click();
    let gone = eventually(|| in_last_popup(".offer").is_none().then_some(())).await;
    assert!(gone.is_some(), "closing hides the pop-up");
}

#[wasm_bindgen_test]
async fn offers_the_core_rejects_never_render() {
    boot(
        "pk_dom_hostile_link",
        &feed(2, "javascript:alert(1)", "#fff"),
    );
    boot(
        "pk_dom_hostile_color",
        &feed(3, "https://example.com/", "red;background:url(x)"),
    );
    sleep(300).await;
    let hosts = document()
        .query_selector_all("[data-offers-widget=popup]")
        .unwrap();
    for i in hosts.length().saturating_sub(2)..hosts.length() {
        let host: Element = hosts.item(i).unwrap().dyn_into().unwrap();
        let shadow = host.shadow_root().unwrap();
        assert!(shadow.query_selector(".offer").unwrap().is_none());
    }
}

#[wasm_bindgen_test]
async fn a_once_ever_offer_does_not_show_again_on_the_next_entry() {
    let once = feed(4, "https://example.com/", "#fff").replace(
        r#""showMultipleTimes":true"#,
        r#""showMultipleTimes":false"#,
    );
    boot("pk_dom_once", &once);
    eventually(|| in_last_popup(".offer"))
        .await
        .expect("first entry shows it");
    // A new entry (a reload): the history in localStorage says it was shown.
    sleep(5).await;
    boot("pk_dom_once", &once);
    sleep(300).await;
    assert!(
        in_last_popup(".offer").is_none(),
        "second entry must not show it"
    );
}

/// An offer's campaign members, as the feed sends them.
const CAMPAIGN: &str = r##","trigger":{"event":"deposit_failed","conditions":[{"field":"props.amount","op":"gte","value":20},
    {"field":"props.plan","op":"in","value":["gold","silver"]},{"field":"props.x","op":"exists"}],"delayMS":1000},
    "priority":7,"holdoutPercent":10,"variants":[{"weight":30,"title":"A"},
    {"weight":70,"title":"B","linkText":"Take B","templateData":{"bgColor":"#000"}}]"##;

/// The widget's property-read decoder (`feed::offer_from_js`) and `FeedOffer`'s serde form
/// accept and reject the same offers, with the same values.
#[wasm_bindgen_test]
fn the_feed_decoder_agrees_with_the_core_serde_form() {
    let base = r##"{"id":9,"template":13,"title":"T","text":"Body","linkText":"Go","link":"https://example.com/x",
        "pic":"https://images.example/p.png","templateData":{"alignment":"right","bgColor":"#222",
        "btnColor":"rgb(1, 2, 3)","btnTextColor":"#fff","textColor":"white","gradient":true,
        "gradientFrom":"#60e753","gradientTo":"#1e3c72","gradientDirection":"135deg"},
        "viewType":"IN_FEED","startTime":"2024-05-22T12:00:01.000+02:00","endTime":"2030-01-01T00:00:00Z",
        "showMultipleTimes":true,"showFrequency":"DAILY","showDelayMS":1500,"extra":"ignored"}"##;
    let minimal = r#"{"id":1,"template":10,"link":"https://example.com/","startTime":"2024-05-22T12:00:01.000Z"}"#;
    let cases = [
        base.to_owned(),
        minimal.to_owned(),
        minimal.replace(
            r#""id":1"#,
            r#""id":1,"title":null,"endTime":null,"templateData":{}"#,
        ),
        base.replace("https://example.com/x", "javascript:alert(1)"),
        base.replace(r##""#222""##, r#""red;background:url(x)""#),
        base.replace(r#""template":13"#, r#""template":99"#),
        base.replace(
            r#""title":"T""#,
            r#""title":"far too long for a title field""#,
        ),
        minimal.replace("2024-05-22T12:00:01.000Z", "yesterday"),
        minimal.replace(r#""id":1,"#, ""),
        minimal.replace(r#""id":1"#, r#""id":"1""#),
        // Campaign fields (SPEC §9).
        minimal.replace(r#""id":1"#, &format!(r#""id":1{CAMPAIGN}"#)),
        minimal.replace(
            r#""id":1"#,
            r#""id":1,"trigger":null,"variants":[],"priority":0"#,
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(r#""gte""#, r#""gtx""#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace("20}", r#""20"}"#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#)
                .replace(r#""in","value":["gold","silver"]"#, r#""in","value":[]"#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace("1000}", "86400001}"),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace("props.amount", "amount"),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(r##""#000""##, r#""red;x""#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(r#""exists""#, r#""exists","value":1"#),
        ),
        minimal.replace(r#""id":1"#, r#""id":1,"priority":1.5"#),
        // Operand shapes (the core's `Op::takes` on both sides): a list for `eq`, a text for
        // `gte`, one value more than `in` takes.
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(r#""op":"in""#, r#""op":"eq""#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(r#""value":20"#, r#""value":"x""#),
        ),
        minimal.replace(
            r#""id":1"#,
            &format!(r#""id":1{CAMPAIGN}"#).replace(
                r#"["gold","silver"]"#,
                &format!(
                    "[{}]",
                    vec!["1"; offers_core::segment::MAX_OPERAND_VALUES + 1].join(",")
                ),
            ),
        ),
    ];
    for case in cases {
        let from_js = offers_widget::feed::offer_from_js(&js_sys::JSON::parse(&case).unwrap()).ok();
        let from_serde = serde_json::from_str::<offers_core::FeedOffer>(&case).ok();
        assert_eq!(from_js, from_serde, "{case}");
    }
}

/// A feed body with the given offers (JSON objects, each completed like [`feed`]'s) and members.
fn campaign_feed(offers: &[String], extra: &str) -> String {
    format!(r#"{{"offers":[{}]{extra}}}"#, offers.join(","))
}

/// A pop-up offer `id` titled `title`, with `more` members (`,"trigger":…`).
fn campaign_offer(id: i64, title: &str, more: &str) -> String {
    format!(
        r##"{{"id":{id},"template":10,"title":"{title}","linkText":"Go","link":"https://example.com/",
        "templateData":{{"alignment":"left","bgColor":"#fff","btnColor":"#000","btnTextColor":"#fff",
        "textColor":"#000","gradient":false}},"viewType":"POPUP","startTime":"2024-05-22T12:00:01.000Z",
        "showMultipleTimes":true,"showFrerquency":"ON_ENTRY","showDelayMS":0{more}}}"##
    )
}

/// Boots the widget for `project` (user `u1`) and returns its handle.
fn boot_handle(project: &str, body: &str) -> offers_widget::boot::WidgetHandle {
    let handle = offers_widget::boot::boot(config(project)).unwrap();
    handle.schedule(&js_sys::JSON::parse(body).unwrap(), handle.entry());
    handle
}

fn props(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

#[wasm_bindgen_test]
async fn a_triggered_offer_waits_for_its_event_and_its_conditions() {
    let trigger = r#","trigger":{"event":"deposit_failed","conditions":[{"field":"props.amount","op":"gte","value":20}],"delayMS":0}"#;
    let handle = boot_handle(
        "pk_dom_trigger",
        &campaign_feed(&[campaign_offer(21, "Deposit help", trigger)], ""),
    );
    sleep(100).await;
    assert!(in_last_popup(".offer").is_none(), "not on entry");
    handle.track("deposit_failed", &props(r#"{"amount":5}"#), handle.entry());
    handle.track("deposit_ok", &props(r#"{"amount":50}"#), handle.entry());
    handle.track(
        "deposit_failed",
        &props(r#"{"amount":"50"}"#),
        handle.entry(),
    );
    sleep(100).await;
    assert!(in_last_popup(".offer").is_none(), "unmet conditions");
    handle.track("deposit_failed", &props(r#"{"amount":20}"#), handle.entry());
    let title = eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("shown");
    assert_eq!(title.text_content().as_deref(), Some("Deposit help"));
}

/// The title of the pop-up that is (eventually) up in the newest pop-up layer.
async fn shown_title(what: &str) -> String {
    eventually(|| in_last_popup(".offer__title"))
        .await
        .expect(what)
        .text_content()
        .unwrap_or_default()
}

/// Triggers are read after the first paint (`Call::Triggered`, `Call::CheckTrigger`): a
/// trigger the core rejects still drops its offer, and a test send with a trigger still shows
/// at once.
#[wasm_bindgen_test]
async fn a_trigger_read_after_paint_still_drops_a_bad_offer_and_a_test_send_shows_at_once() {
    let bad = r#","trigger":{"event":"deposit_failed","conditions":[{"field":"props.amount","op":"between","value":20}]}"#;
    let good = r#","trigger":{"event":"deposit_failed","delayMS":0}"#;
    let handle = boot_handle(
        "pk_dom_trigger_after_paint",
        &campaign_feed(
            &[
                campaign_offer(41, "Bad trigger", &format!(r#"{bad},"priority":9"#)),
                campaign_offer(42, "Good trigger", good),
            ],
            "",
        ),
    );
    sleep(100).await;
    assert!(in_last_popup(".offer").is_none(), "neither on entry");
    handle.track("deposit_failed", &props("{}"), handle.entry());
    assert_eq!(shown_title("the good one shown").await, "Good trigger");

    let test_send = |id, title, trigger: &str| {
        let more = format!(r#"{trigger},"test":true"#);
        campaign_feed(&[campaign_offer(id, title, &more)], "")
    };
    boot_handle(
        "pk_dom_test_send_trigger",
        &test_send(43, "Test send", good),
    );
    assert_eq!(
        shown_title("a test send shows without its event").await,
        "Test send"
    );
    // A test send is scheduled before its trigger is read; one whose trigger the core
    // rejects does not stay up.
    boot_handle("pk_dom_test_send_bad", &test_send(44, "Bad test send", bad));
    sleep(200).await;
    assert!(in_last_popup(".offer").is_none(), "taken down");
}

#[wasm_bindgen_test]
async fn the_card_shows_the_users_variant_and_the_holdout_sees_nothing() {
    let variants =
        r#","variants":[{"weight":50,"title":"Variant A"},{"weight":50,"title":"Variant B"}]"#;
    boot_handle(
        "pk_dom_variant",
        &campaign_feed(&[campaign_offer(31, "Original", variants)], ""),
    );
    let expected = match offers_core::assign(31, "u1", &[50, 50], 0) {
        offers_core::Assignment::Variant(0) => "Variant A",
        offers_core::Assignment::Variant(1) => "Variant B",
        other => panic!("{other:?}"),
    };
    let title = eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("shown");
    assert_eq!(title.text_content().as_deref(), Some(expected));

    // An offer id whose bucket puts `u1` in a 50 % holdout.
    let held = (1..)
        .find(|id| offers_core::assign(*id, "u1", &[], 50) == offers_core::Assignment::Holdout)
        .unwrap();
    boot_handle(
        "pk_dom_holdout",
        &campaign_feed(
            &[campaign_offer(held, "Held out", r#","holdoutPercent":50"#)],
            "",
        ),
    );
    sleep(200).await;
    assert!(
        in_last_popup(".offer").is_none(),
        "the holdout sees nothing"
    );
}

#[wasm_bindgen_test]
async fn a_session_cap_stops_the_next_popup_and_priority_goes_first() {
    let body = campaign_feed(
        &[
            campaign_offer(41, "Low", r#","priority":-5"#),
            campaign_offer(42, "High", r#","priority":5"#),
        ],
        r#","caps":{"perSession":1}"#,
    );
    boot_handle("pk_dom_caps", &body);
    let title = eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("shown");
    assert_eq!(title.text_content().as_deref(), Some("High"));
    let close: HtmlElement = in_last_popup(".offer__close").unwrap().dyn_into().unwrap();
    close.click();
    sleep(200).await;
    assert!(
        in_last_popup(".offer").is_none(),
        "capped at one per session"
    );
    // Another entry of the same session (a second tab or a reload): still capped.
    sleep(5).await;
    boot_handle("pk_dom_caps", &body);
    sleep(200).await;
    assert!(
        in_last_popup(".offer").is_none(),
        "the cap holds for the session"
    );
}

/// Yields to the microtask queue only: no timer, however short, can fire meanwhile.
async fn microtasks(rounds: usize) {
    for _ in 0..rounds {
        let resolved = js_sys::Promise::resolve(&JsValue::NULL);
        wasm_bindgen_futures::JsFuture::from(resolved)
            .await
            .unwrap();
    }
}

#[wasm_bindgen_test]
async fn a_feeds_first_popup_renders_without_waiting_for_a_timer() {
    let body = campaign_feed(
        &[
            campaign_offer(51, "Second", r#","priority":1"#),
            campaign_offer(52, "First", r#","priority":9"#),
        ],
        "",
    );
    boot_handle("pk_dom_same_task", &body);
    // Leptos renders from microtasks; a zero timer would still be pending here.
    microtasks(20).await;
    let title = in_last_popup(".offer__title").expect("rendered in the feed's own task");
    // Both pop-ups of the feed were arbitrated together: the higher priority is up.
    assert_eq!(title.text_content().as_deref(), Some("First"));
}

/// Each rule's text as the browser parsed and serialized it.
fn parsed_rules(css: &str) -> Vec<String> {
    let sheet = web_sys::CssStyleSheet::new().unwrap();
    sheet.replace_sync(css).unwrap();
    let rules = js_sys::Reflect::get(&sheet, &JsValue::from_str("cssRules")).unwrap();
    let rules: js_sys::Array = js_sys::Array::from(&rules);
    rules
        .iter()
        .map(|rule| {
            js_sys::Reflect::get(&rule, &JsValue::from_str("cssText"))
                .unwrap()
                .as_string()
                .unwrap()
        })
        .collect()
}

/// The stylesheet compiled into the widget (`build.rs` minifies it) is, to the browser, the
/// same rules as `style/widget.css`, and smaller.
#[wasm_bindgen_test]
fn the_minified_stylesheet_has_the_same_rules() {
    let source = include_str!("../style/widget.css");
    let shipped = offers_widget::shadow::WIDGET_CSS;
    assert!(shipped.len() < source.len() * 85 / 100, "{shipped}");
    let rules = parsed_rules(source);
    assert!(rules.len() > 20, "{rules:?}");
    assert_eq!(parsed_rules(shipped), rules);
}

/// The stream's calls run after the current task (`offers_widget::after_paint`, the split-off
/// module in the shipped bundle), in the order they were made: an update and then a withdrawal
/// of the same pop-up leave it withdrawn, and a call for an entry that is over does nothing.
#[wasm_bindgen_test]
async fn stream_calls_run_in_order_and_only_for_their_entry() {
    let body = js_sys::JSON::parse(&feed(40, "https://example.com/", "#fff")).unwrap();
    let handle = offers_widget::boot::boot(config("pk_dom_stream_order")).unwrap();
    handle.schedule(&body, handle.entry());
    eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("the feed's pop-up is up");
    let offers = js_sys::Reflect::get(&body, &"offers".into()).unwrap();
    let offer = js_sys::Reflect::get(&offers, &0.into()).unwrap();
    js_sys::Reflect::set(&offer, &"title".into(), &"Changed".into()).unwrap();

    handle.upsert(&offer, handle.entry());
    handle.withdraw(40.0, handle.entry());
    let gone = eventually(|| in_last_popup(".offer").is_none().then_some(())).await;
    assert!(gone.is_some(), "the withdrawal, made last, wins");
    sleep(100).await;
    assert!(in_last_popup(".offer").is_none(), "nothing brings it back");

    // A new entry: the old entry's update is void, the new entry's shows.
    let old = handle.entry();
    let new = handle.enter(&config("pk_dom_stream_order"));
    handle.upsert(&offer, old);
    sleep(100).await;
    assert!(
        in_last_popup(".offer").is_none(),
        "an old entry's update shows nothing"
    );
    handle.upsert(&offer, new);
    let title = eventually(|| in_last_popup(".offer__title"))
        .await
        .expect("the new entry's update shows");
    assert_eq!(title.text_content().as_deref(), Some("Changed"));
}
