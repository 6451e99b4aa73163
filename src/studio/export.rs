//! Export: the JSON body of the current form and the equivalent `curl` call of
//! `POST /external/offer`, with placeholders instead of the real key and token.

use offers_core::draft::FIELD_NAMES;
use serde_json::{Map, Value};

/// Stands for the project's API key in exported commands.
pub const KEY_PLACEHOLDER: &str = "$OFFERS_API_KEY";
/// Stands for the bearer token in exported commands.
pub const TOKEN_PLACEHOLDER: &str = "$OFFERS_TOKEN";

/// The body as indented JSON, fields in the documented order.
pub fn pretty_json(body: &Map<String, Value>) -> String {
    let mut keys: Vec<&String> = body.keys().collect();
    keys.sort_by_key(|key| {
        FIELD_NAMES
            .iter()
            .position(|name| name == key)
            .unwrap_or(FIELD_NAMES.len())
    });
    let mut out = String::from("{\n");
    for (i, key) in keys.iter().enumerate() {
        let value = serde_json::to_string_pretty(&body[key.as_str()])
            .unwrap_or_default()
            .replace('\n', "\n  ");
        let key = serde_json::to_string(key).unwrap_or_default();
        let comma = if i + 1 < keys.len() { "," } else { "" };
        out.push_str(&format!("  {key}: {value}{comma}\n"));
    }
    out.push('}');
    out
}

/// Quotes `text` for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The `curl` command creating this offer on the API at `origin`. The key and token are
/// shell variables, so the command can be shared without them.
pub fn curl(origin: &str, json: &str) -> String {
    format!(
        "curl -X POST {url} \\\n  -H \"x-api-key: {KEY_PLACEHOLDER}\" \\\n  -H \"Authorization: Bearer {TOKEN_PLACEHOLDER}\" \\\n  -H 'Content-Type: application/json' \\\n  --data-raw {body}",
        url = shell_quote(&format!("{}/external/offer", origin.trim_end_matches('/'))),
        body = shell_quote(json),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_follows_the_documented_order() {
        let body = json!({"type": "GLOBAL", "title": "It's here", "template": 10,
            "templateData": {"gradient": false}});
        let text = pretty_json(body.as_object().unwrap());
        let template = text.find("\"template\"").unwrap();
        let title = text.find("\"title\"").unwrap();
        let kind = text.find("\"type\"").unwrap();
        assert!(template < title && title < kind);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), body);
    }

    #[test]
    fn curl_quotes_the_body_and_hides_the_secrets() {
        let command = curl("http://127.0.0.1:8080/", r#"{"title":"It's here"}"#);
        assert!(command.starts_with("curl -X POST 'http://127.0.0.1:8080/external/offer'"));
        assert!(command.contains(r#"--data-raw '{"title":"It'\''s here"}'"#));
        assert!(command.contains("Bearer $OFFERS_TOKEN"));
        assert!(command.contains("x-api-key: $OFFERS_API_KEY"));
    }
}
