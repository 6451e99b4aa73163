//! Writes `style/widget.css` minified to `$OUT_DIR/widget.min.css`, which the widget compiles
//! into its wasm (`src/shadow.rs`): every host pays for those bytes before the first paint.
//!
//! The minifier only removes what the stylesheet's meaning does not depend on: comments,
//! whitespace runs (one space is kept wherever there was some, except next to `{ } ;`), and the
//! last `;` of a block. It keeps the space after a comma: the browser keeps the text of a
//! `var()` fallback as written. It does not look inside strings, so the stylesheet must not
//! have `/*`, two spaces or `{ } ;` inside a quoted string (a wasm-bindgen test,
//! `the_minified_stylesheet_has_the_same_rules`, parses both versions in the browser and
//! compares every rule's text).

use std::{env, fs, path::Path};

fn main() {
    let source = "style/widget.css";
    println!("cargo::rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("style/widget.css is readable");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("widget.min.css");
    fs::write(out, minify(&css)).expect("OUT_DIR is writable");
}

fn minify(css: &str) -> String {
    let mut without_comments = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        without_comments.push_str(&rest[..start]);
        // An unclosed comment runs to the end, as in CSS.
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
        without_comments.push(' ');
    }
    without_comments.push_str(rest);
    let mut out = String::with_capacity(without_comments.len());
    // No space is needed next to these.
    let tight = |c: char| matches!(c, '{' | '}' | ';');
    let mut pending_space = false;
    for c in without_comments.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() && !tight(c) && !out.ends_with(tight) {
            out.push(' ');
        }
        pending_space = false;
        if c == '}' && out.ends_with(';') {
            out.pop();
        }
        out.push(c);
    }
    out
}
