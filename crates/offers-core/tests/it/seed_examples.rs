//! The documented examples of seed 002 (the Marketing Offers API), end to end through the
//! public interface: form fields → draft → validate → wire shapes.

use chrono::{TimeZone, Utc};
use offers_core::{
    Alignment, AudienceType, FeedOffer, Offer, OfferDraft, PartnerOffer, ShowFrequency, Template,
    ViewType, validate,
};
use serde_json::json;

/// The value curl sends for `--form 'templateData="{\"alignment\": …}"'`: curl strips
/// the outer quotes and the backslashes.
const TEMPLATE_DATA: &str = r##"{"alignment": "center","bgColor": "#736969","btnColor": "#1890bf","btnTextColor": "#fff","textColor": "#000","gradient": true,"gradientFrom": "#60e753","gradientTo": "#e4efe7","gradientDirection": "135deg" }"##;

fn form(parts: &[(&str, &str)]) -> OfferDraft {
    OfferDraft::from_form_fields(
        parts
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    )
    .expect("form fields")
}

/// `POST /external/offer`, "Type 1 - Text" (the PATCH example sends the same parts).
fn text_form() -> OfferDraft {
    form(&[
        ("template", "10"),
        ("title", "Title"),
        ("text", "Text"),
        ("link", "https://www.watchers.io/"),
        ("linkText", "Click me"),
        ("templateData", TEMPLATE_DATA),
        ("showFrerquency", "DAILY"),
        ("showDelayMS", "0"),
        ("startTime", "2024-05-22T12:00:01.000Z"),
        ("type", "GLOBAL"),
    ])
}

/// `POST /external/offer`, "Type 2 - Image".
fn image_form() -> OfferDraft {
    form(&[
        ("template", "11"),
        (
            "pic",
            "https://watchers.io/_next/static/media/hand-03.16265125.webp",
        ),
        ("link", "https://www.watchers.io/"),
        ("showFrerquency", "DAILY"),
        ("showDelayMS", "0"),
        ("startTime", "2024-05-22T12:00:01.000Z"),
        ("type", "GLOBAL"),
    ])
}

#[test]
fn text_offer_form_validates() {
    let spec = validate(&text_form()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.template, Template::Text);
    assert_eq!(spec.title.as_ref().unwrap().as_str(), "Title");
    assert_eq!(spec.text.as_ref().unwrap().as_str(), "Text");
    assert_eq!(spec.link_text.as_ref().unwrap().as_str(), "Click me");
    assert_eq!(spec.link.as_str(), "https://www.watchers.io/");
    let data = &spec.template_data;
    assert_eq!(data.alignment, Alignment::Center);
    assert_eq!(data.bg_color.as_str(), "#736969");
    assert_eq!(data.btn_text_color.as_str(), "#fff");
    assert_eq!(data.text_color.as_str(), "#000");
    assert!(data.gradient);
    assert_eq!(data.gradient_from.as_ref().unwrap().as_str(), "#60e753");
    assert_eq!(data.gradient_to.as_ref().unwrap().as_str(), "#e4efe7");
    assert_eq!(data.gradient_direction.as_ref().unwrap().as_str(), "135deg");
    assert_eq!(spec.show_frequency, ShowFrequency::Daily);
    assert_eq!(spec.show_delay_ms, 0);
    assert!(!spec.show_multiple_times, "omitted in the example: false");
    assert_eq!(spec.view_type, ViewType::Popup);
    assert_eq!(
        spec.start_time,
        Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap()
    );
    assert_eq!(spec.end_time, None);
    assert_eq!(spec.audience.kind, AudienceType::Global);
}

#[test]
fn image_offer_form_validates() {
    let spec = validate(&image_form()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.template, Template::Banner);
    assert_eq!(
        spec.pic.as_ref().unwrap().as_str(),
        "https://watchers.io/_next/static/media/hand-03.16265125.webp"
    );
    assert_eq!(spec.title, None);
    assert_eq!(spec.link_text, None);
}

#[test]
fn json_body_with_template_data_as_string_or_object() {
    let mut body = json!({
        "template": 10, "title": "Title", "text": "Text", "link": "https://www.watchers.io/",
        "linkText": "Click me", "templateData": TEMPLATE_DATA, "showFrerquency": "DAILY",
        "showDelayMS": 0, "startTime": "2024-05-22T12:00:01.000Z", "type": "GLOBAL",
        "showMultipleTimes": false
    });
    let from_string: OfferDraft = serde_json::from_value(body.clone()).unwrap();
    body["templateData"] = serde_json::from_str(TEMPLATE_DATA).unwrap();
    let from_object: OfferDraft = serde_json::from_value(body).unwrap();
    let expected = validate(&text_form()).unwrap();
    assert_eq!(validate(&from_string).unwrap(), expected);
    assert_eq!(validate(&from_object).unwrap(), expected);
}

#[test]
fn patch_form_overlays_a_stored_offer() {
    let stored = validate(&image_form()).unwrap();
    // The documented PATCH "Type 1 - Text" turns the banner into a text offer.
    let patched = validate(&OfferDraft::from(&stored).overlay(text_form())).unwrap();
    assert_eq!(patched.template, Template::Text);
    assert_eq!(patched.title.as_ref().unwrap().as_str(), "Title");
    // Fields the patch does not send are kept.
    assert_eq!(patched.pic, stored.pic);
}

#[test]
fn partner_response_matches_the_documented_shape() {
    let offer = Offer::created(
        0,
        validate(&text_form()).unwrap(),
        Utc.with_ymd_and_hms(2024, 5, 21, 16, 0, 0).unwrap(),
    );
    let value = serde_json::to_value(PartnerOffer::from(&offer)).unwrap();
    let documented = json!({
        "id": 0, "pic": "string", "template": 0, "title": "string", "text": "string",
        "link": "string", "linkText": "string", "templateData": "string",
        "showMultipleTimes": false, "showFrerquency": "DAILY", "showDelayMS": 0,
        "startTime": "2024-05-21T16:33:53.821Z", "endTime": "2024-05-21T16:33:53.821Z",
        "type": "GLOBAL"
    });
    for key in documented.as_object().unwrap().keys() {
        assert!(value.get(key).is_some(), "documented key {key} missing");
    }
    assert_eq!(value["pic"], json!(null));
    assert_eq!(value["endTime"], json!(null));
    assert_eq!(value["startTime"], "2024-05-22T12:00:01.000Z");
    let template_data: serde_json::Value =
        serde_json::from_str(value["templateData"].as_str().unwrap()).unwrap();
    assert_eq!(template_data["gradientDirection"], "135deg");
    assert_eq!(template_data["btnTextColor"], "#fff");

    // The partner response's templateData string is accepted back on input.
    let mut echoed = value.clone();
    echoed.as_object_mut().unwrap().remove("id");
    let draft: OfferDraft = serde_json::from_value(echoed).unwrap();
    assert_eq!(validate(&draft).unwrap(), offer.spec);
}

#[test]
fn feed_offer_for_the_widget() {
    let offer = Offer::created(
        42,
        validate(&text_form()).unwrap(),
        Utc.with_ymd_and_hms(2024, 5, 21, 16, 0, 0).unwrap(),
    );
    let feed = FeedOffer::from(&offer);
    let value = serde_json::to_value(&feed).unwrap();
    assert_eq!(value["templateData"]["bgColor"], "#736969");
    assert!(value.get("type").is_none(), "no audience in the feed");
    assert!(value.get("endTime").is_none(), "None is skipped");
    assert_eq!(serde_json::from_value::<FeedOffer>(value).unwrap(), feed);
}

#[test]
fn documented_placeholder_response_is_not_a_valid_offer() {
    // Seed 002's response example uses "string" placeholders and template 0.
    let draft: OfferDraft = serde_json::from_value(json!({
        "id": 0, "pic": "string", "template": 0, "title": "string", "text": "string",
        "link": "string", "linkText": "string", "templateData": "string",
        "showMultipleTimes": false, "showFrerquency": "DAILY", "showDelayMS": 0,
        "startTime": "2024-05-21T16:33:53.821Z", "endTime": "2024-05-21T16:33:53.821Z",
        "type": "GLOBAL"
    }))
    .unwrap();
    let errors = validate(&draft).unwrap_err();
    assert_eq!(
        errors.get("template"),
        Some("must be an integer between 10 and 14")
    );
    assert_eq!(
        errors.get("link"),
        Some("must be an absolute http or https URL")
    );
    assert_eq!(
        errors.get("pic"),
        Some("must be an absolute http or https URL")
    );
    assert_eq!(errors.get("templateData"), Some("must be a JSON object"));
    assert_eq!(errors.get("endTime"), Some("must be after startTime"));
}
