//! User ids from a CSV file: the file is read in the browser and parsed by the core
//! (`offers_core::csv_audience::parse_user_ids`, seed 001's rules); this module only reads the
//! bytes and shows the core's report.

use leptos::prelude::*;
use offers_core::{CsvAudience, ExternalId, parse_user_ids};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The largest CSV file read (10 000 ids of 128 characters fit several times over).
pub const MAX_CSV_BYTES: f64 = 8.0 * 1024.0 * 1024.0;

/// A CSV file the user loaded, as the core read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvReport {
    pub file: String,
    pub audience: CsvAudience,
}

impl CsvReport {
    /// Parses the bytes of `file`.
    pub fn read(file: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            file: file.into(),
            audience: parse_user_ids(bytes),
        }
    }

    /// The ids as the form's comma-separated text.
    pub fn ids_text(&self) -> String {
        self.audience
            .ids
            .iter()
            .map(ExternalId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line summing the file up.
    pub fn summary(&self) -> String {
        let a = &self.audience;
        let ids = match a.ids.len() {
            1 => "1 user id".to_owned(),
            n => format!("{n} user ids"),
        };
        let mut text = format!("{}: {ids} loaded", self.file);
        if a.duplicates > 0 {
            text.push_str(&format!(
                ", {} duplicate{} removed",
                a.duplicates,
                if a.duplicates == 1 { "" } else { "s" }
            ));
        }
        text.push('.');
        text
    }
}

/// The first file of an `<input type=file>`'s change event: its name and bytes. `Err` with a
/// sentence when there is none or it cannot be read.
pub async fn read_chosen_file(event: &web_sys::Event) -> Result<Option<(String, Vec<u8>)>, String> {
    let get = |target: &JsValue, name: &str| js_sys::Reflect::get(target, &JsValue::from_str(name));
    let Some(input) = event.target() else {
        return Ok(None);
    };
    let input: JsValue = input.into();
    let file = get(&input, "files")
        .and_then(|files| get(&files, "0"))
        .map_err(|_| "the file could not be opened".to_owned())?;
    if file.is_undefined() || file.is_null() {
        return Ok(None);
    }
    let name = get(&file, "name")
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_else(|| "file".to_owned());
    let size = get(&file, "size")
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0);
    if size > MAX_CSV_BYTES {
        return Err(format!(
            "{name} is too large (over 8 MB) for a list of user ids."
        ));
    }
    let read = get(&file, "arrayBuffer")
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(&file).ok())
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
        .ok_or_else(|| format!("{name} could not be read"))?;
    let buffer = JsFuture::from(read)
        .await
        .map_err(|_| format!("{name} could not be read"))?;
    // Let the same file be chosen again later (a change event needs a new value).
    let _ = js_sys::Reflect::set(&input, &"value".into(), &"".into());
    Ok(Some((name, js_sys::Uint8Array::new(&buffer).to_vec())))
}

/// The report of a loaded CSV: the header skipped, the count, duplicates removed and each
/// bad line with its number.
#[component]
pub fn CsvSummary(report: CsvReport) -> impl IntoView {
    let header = report.audience.header.clone();
    let errors = report.audience.errors.clone();
    let bad = errors.len();
    view! {
        <div class="csv-report" role="status">
            <p class="csv-report__summary">{report.summary()}</p>
            {header.map(|h| view! {
                <p class="csv-report__header">"Header skipped: "<q>{h}</q></p>
            })}
            {(bad > 0).then(|| view! {
                <p class="csv-report__bad-count">
                    {format!("{bad} line{} could not be read:", if bad == 1 { "" } else { "s" })}
                </p>
                <ul class="csv-report__errors">
                    {errors.into_iter().map(|e| view! {
                        <li>{format!("line {}: {}", e.line, e.reason)}</li>
                    }).collect_view()}
                </ul>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_uses_the_core_reading() {
        let report = CsvReport::read(
            "users.csv",
            b"\xEF\xBB\xBFuser_id\r\n\"u1\"\r\nu2\r\nu1\r\na,b\r\n",
        );
        assert_eq!(report.audience.header.as_deref(), Some("user_id"));
        assert_eq!(report.ids_text(), "u1, u2");
        assert_eq!(
            report.summary(),
            "users.csv: 2 user ids loaded, 1 duplicate removed."
        );
        assert_eq!(report.audience.errors[0].line, 5);
    }
}
