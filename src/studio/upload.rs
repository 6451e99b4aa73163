//! Image upload next to the Image URL field: a quick check in the browser (size and type, for
//! an immediate message), then `POST /external/media?template=N` with the file as the
//! multipart part `file`. The returned absolute URL becomes the `pic` field; the server's
//! warnings (proportions that do not suit the template) show next to the field while that
//! image and template are still the form's.
//!
//! The server decides what a file really is (by its bytes) and its dimensions; the browser
//! check only spares a round trip for the obvious cases.

use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
use wasm_bindgen::JsValue;

use super::api::{self, Credentials, Uploaded};
use super::form::FormState;
use super::permits::refusal_of;

/// The largest image the API takes (the core's rule), as the `f64` a browser `File.size` is.
pub const MAX_IMAGE_BYTES: f64 = offers_core::model::MAX_IMAGE_BYTES as f64;

/// The accepted image types and the file extensions that name them.
const TYPES: [(&str, &[&str]); 4] = [
    ("image/png", &["png"]),
    ("image/jpeg", &["jpg", "jpeg"]),
    ("image/webp", &["webp"]),
    ("image/gif", &["gif"]),
];

/// What the file input's `accept` lists.
pub const ACCEPT: &str = "image/png,image/jpeg,image/webp,image/gif,.png,.jpg,.jpeg,.webp,.gif";

/// A size for people: `812 bytes`, `34.5 KB`, `10.2 MB` (1 KB = 1024 bytes).
pub fn human_size(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{bytes} bytes")
    } else if bytes < 1024.0 * 1024.0 {
        format!("{:.1} KB", bytes / 1024.0)
    } else {
        format!("{:.1} MB", bytes / (1024.0 * 1024.0))
    }
}

/// The browser's quick check of a chosen file: its `name`, the type the browser gives it
/// (`mime`, often empty for unknown extensions) and its `size` in bytes.
pub fn precheck(name: &str, mime: &str, size: f64) -> Result<(), String> {
    let mime = mime.trim().to_ascii_lowercase();
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let known = if mime.is_empty() {
        TYPES
            .iter()
            .any(|(_, exts)| exts.contains(&extension.as_str()))
    } else {
        TYPES.iter().any(|(t, _)| *t == mime)
    };
    if !known {
        return Err(format!(
            "{name} is not a PNG, JPEG, WebP or GIF image{}.",
            if mime.is_empty() {
                String::new()
            } else {
                format!(" (it is {mime})")
            }
        ));
    }
    if size > MAX_IMAGE_BYTES {
        return Err(format!(
            "{name} is over 10 MB ({}): choose a smaller image.",
            human_size(size)
        ));
    }
    if size <= 0.0 {
        return Err(format!("{name} is empty."));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    Uploading(String),
    Done {
        file: String,
        template: String,
        uploaded: Uploaded,
    },
    Failed(String),
}

/// Reads a string or number property of a JS object.
fn property(target: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// The upload control for the `pic` field of `form`.
#[component]
pub fn ImageUpload(
    session: Signal<Option<Credentials>>,
    form: RwSignal<FormState>,
) -> impl IntoView {
    let state = RwSignal::new(State::Idle);
    let refused = refusal_of(session, Area::Offers, Level::Full);
    let signed_out = move || session.with(Option::is_none) || refused.with(Option::is_some);

    let on_change = move |ev: web_sys::Event| {
        let Some(input) = ev.target().map(JsValue::from) else {
            return;
        };
        let Some(file) = property(&input, "files").and_then(|files| property(&files, "0")) else {
            return;
        };
        // Let the same file be chosen again later (a change event needs a new value).
        let _ = js_sys::Reflect::set(&input, &"value".into(), &"".into());
        let name = property(&file, "name")
            .and_then(|n| n.as_string())
            .unwrap_or_else(|| "The file".to_owned());
        let mime = property(&file, "type")
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        let size = property(&file, "size")
            .and_then(|s| s.as_f64())
            .unwrap_or(0.0);
        if let Err(reason) = precheck(&name, &mime, size) {
            state.set(State::Failed(reason));
            return;
        }
        let Some(credentials) = session.get_untracked() else {
            state.set(State::Failed(
                "Sign in (at the top) to upload images.".to_owned(),
            ));
            return;
        };
        let template = form.with_untracked(|f| f.get("template").to_owned());
        state.set(State::Uploading(name.clone()));
        spawn_local(async move {
            match api::upload_image(&credentials, &template, &file).await {
                Ok(uploaded) => {
                    form.update(|f| f.set("pic", uploaded.url.clone()));
                    state.set(State::Done {
                        file: name,
                        template,
                        uploaded,
                    });
                }
                Err(failure) => {
                    let reason = if failure.message.is_empty() {
                        failure.describe()
                    } else {
                        // The server's own words ("… is not a PNG, JPEG, WebP or GIF image").
                        format!("{name} was not uploaded: {}", failure.message)
                    };
                    state.set(State::Failed(reason));
                }
            }
        });
    };

    // The warnings apply while the form still has that image for that template.
    let warnings = move || match state.get() {
        State::Done {
            template, uploaded, ..
        } if form.with(|f| f.get("pic") == uploaded.url && f.get("template") == template) => {
            uploaded.warnings
        }
        _ => Vec::new(),
    };
    let status = move || match state.get() {
        State::Idle => String::new(),
        State::Uploading(name) => format!("Uploading {name}…"),
        State::Done { file, uploaded, .. } => format!(
            "Uploaded {file}: {}×{}, {}.",
            uploaded.width,
            uploaded.height,
            human_size(uploaded.bytes as f64)
        ),
        State::Failed(_) => String::new(),
    };
    let error = move || match state.get() {
        State::Failed(reason) => Some(reason),
        _ => None,
    };

    view! {
        <div class="upload">
            <label class="btn upload__btn" class:upload__btn--off=signed_out title=move || refused.get()>
                "Upload image…"
                <input type="file" id="pic-upload" class="visually-hidden" accept=ACCEPT
                    aria-describedby="pic-upload-help pic-upload-status pic-upload-error"
                    disabled=move || signed_out() || matches!(state.get(), State::Uploading(_))
                    on:change=on_change />
            </label>
            <span class="field__hint" id="pic-upload-help">
                {move || if refused.with(Option::is_some) {
                    "Your role cannot upload images."
                } else if signed_out() {
                    "Sign in to upload: PNG, JPEG, WebP or GIF, up to 10 MB."
                } else {
                    "PNG, JPEG, WebP or GIF, up to 10 MB."
                }}
            </span>
            <p class="upload__status" id="pic-upload-status" role="status">{status}</p>
            <p class="error upload__error" id="pic-upload-error" role="alert">{error}</p>
            <ul class="upload__warnings" aria-live="polite">
                {move || warnings().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
            </ul>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_check_knows_the_types_and_the_limit() {
        assert_eq!(precheck("a.png", "image/png", 1000.0), Ok(()));
        assert_eq!(precheck("a.JPG", "", 1000.0), Ok(()));
        assert_eq!(precheck("photo", "image/webp", 1000.0), Ok(()));
        assert_eq!(
            precheck("notes.txt", "text/plain", 10.0).unwrap_err(),
            "notes.txt is not a PNG, JPEG, WebP or GIF image (it is text/plain)."
        );
        assert!(precheck("x.svg", "image/svg+xml", 10.0).is_err());
        assert!(precheck("x.bmp", "", 10.0).is_err());
        assert_eq!(precheck("max.png", "image/png", MAX_IMAGE_BYTES), Ok(()));
        assert_eq!(
            precheck("big.png", "image/png", MAX_IMAGE_BYTES + 1.0).unwrap_err(),
            "big.png is over 10 MB (10.0 MB): choose a smaller image."
        );
        assert_eq!(
            precheck("big.gif", "image/gif", 12.5 * 1024.0 * 1024.0).unwrap_err(),
            "big.gif is over 10 MB (12.5 MB): choose a smaller image."
        );
        assert!(precheck("empty.png", "image/png", 0.0).is_err());
        assert_eq!(human_size(812.0), "812 bytes");
        assert_eq!(human_size(35_328.0), "34.5 KB");
    }
}
