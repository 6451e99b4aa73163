//! The Studio page's entry point (Trunk builds `index.html` from this binary).

use offers_widget::studio::Studio;

fn main() {
    leptos::mount::mount_to_body(Studio);
}
