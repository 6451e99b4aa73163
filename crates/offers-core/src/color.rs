//! [`CssColor`] and [`GradientDirection`]: the only style values that reach a `style`
//! attribute, so they are parsed strictly and stored normalised.
//!
//! Accepted colors: `#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(r, g, b)` / `rgba(r, g, b, a)`
//! (also the space-separated `rgb(r g b / a)`), the 148 CSS Color 4 names and
//! `transparent`. Nothing else: no `url(`, `var(`, `;`, `expression(`, ….

use crate::named_colors;
use crate::newtype::string_newtype;
use crate::reason::reason;

/// The reason given for anything that is not an accepted color.
pub const COLOR_REASON: &str =
    "must be a CSS color: #rgb, #rrggbb, #rrggbbaa, rgb()/rgba() or a color name";

/// The reason given for anything that is not an accepted gradient direction.
pub const DIRECTION_REASON: &str =
    "must be an angle like 135deg or a direction like \"to right\" or \"to top left\"";

/// Longest color text considered (longer input is rejected, not parsed).
const MAX_COLOR_CHARS: usize = 64;
/// Longest gradient direction considered.
const MAX_DIRECTION_CHARS: usize = 32;

/// A CSS color, normalised to lowercase without redundant spaces, e.g. `#1890bf`,
/// `rgba(0,0,0,0.5)`, `rgb(10 20 30 / 50%)`, `rebeccapurple`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CssColor(String);

/// A color's sRGB components, each 0–255 (alpha 255 is opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgba {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha: 0 transparent … 255 opaque.
    pub a: u8,
}

impl Rgba {
    const fn opaque(rgb: u32) -> Self {
        Self {
            r: (rgb >> 16) as u8,
            g: (rgb >> 8) as u8,
            b: rgb as u8,
            a: 255,
        }
    }

    /// `#rrggbb`, ignoring alpha (what `<input type="color">` wants).
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
}

impl CssColor {
    /// Parses one CSS color (see the module docs for the accepted forms).
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_color(input)
            .map(|(normalised, _)| Self(normalised))
            .ok_or_else(|| reason(COLOR_REASON))
    }

    /// The color's components.
    pub fn to_rgba(&self) -> Rgba {
        parse_color(&self.0).map_or(Rgba::opaque(0), |(_, rgba)| rgba)
    }

    /// A color from a literal known to be valid and normalised (crate constants only).
    pub(crate) fn from_trusted(normalised: &'static str) -> Self {
        debug_assert!(parse_color(normalised).is_some_and(|(n, _)| n == normalised));
        Self(normalised.to_owned())
    }

    /// A color from its components, as `#rrggbb` (or `#rrggbbaa` when not opaque).
    pub fn from_rgba(rgba: Rgba) -> Self {
        let Rgba { r, g, b, a } = rgba;
        if a == 255 {
            Self(format!("#{r:02x}{g:02x}{b:02x}"))
        } else {
            Self(format!("#{r:02x}{g:02x}{b:02x}{a:02x}"))
        }
    }
}

string_newtype!(CssColor);

/// The CSS color names accepted (lowercase, alphabetical), without `transparent`.
pub fn named_color_names() -> impl Iterator<Item = &'static str> {
    named_colors::entries().map(|(name, _)| name)
}

/// The normalised text and the components of a color, or `None` if not a color.
fn parse_color(input: &str) -> Option<(String, Rgba)> {
    let trimmed = input.trim();
    if trimmed.len() > MAX_COLOR_CHARS {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix('#') {
        let rgba = parse_hex(hex)?;
        return Some((lower, rgba));
    }
    if lower == "transparent" {
        return Some((
            lower,
            Rgba {
                r: 0,
                g: 0,
                b: 0,
                a: 0,
            },
        ));
    }
    if let Some(rgb) = named_colors::lookup(&lower) {
        return Some((lower, Rgba::opaque(rgb)));
    }
    parse_rgb_function(&lower)
}

fn parse_hex(hex: &str) -> Option<Rgba> {
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = u32::from_str_radix(hex, 16).ok()?;
    match hex.len() {
        3 => {
            let expand = |nibble: u32| ((nibble & 0xf) * 17) as u8;
            Some(Rgba {
                r: expand(value >> 8),
                g: expand(value >> 4),
                b: expand(value),
                a: 255,
            })
        }
        6 => Some(Rgba::opaque(value)),
        8 => Some(Rgba {
            a: value as u8,
            ..Rgba::opaque(value >> 8)
        }),
        _ => None,
    }
}

/// `rgb(…)` / `rgba(…)`, in the comma form or the space-separated form.
fn parse_rgb_function(lower: &str) -> Option<(String, Rgba)> {
    let (name, rest) = match lower.strip_prefix("rgba") {
        Some(rest) => ("rgba", rest),
        None => ("rgb", lower.strip_prefix("rgb")?),
    };
    let body = rest.strip_prefix('(')?.strip_suffix(')')?;
    if body.contains(['(', ')']) {
        return None;
    }
    if body.contains(',') {
        parse_comma_form(name, body)
    } else {
        parse_space_form(name, body)
    }
}

/// `r, g, b[, a]` — the three channels all integers or all percentages (as CSS requires).
fn parse_comma_form(name: &str, body: &str) -> Option<(String, Rgba)> {
    let parts: Vec<&str> = body.split(',').map(str::trim).collect();
    let (channels, alpha) = match parts.as_slice() {
        [r, g, b] => ([*r, *g, *b], None),
        [r, g, b, a] => ([*r, *g, *b], Some(*a)),
        _ => return None,
    };
    let [r, g, b] = channels.map(parse_channel);
    let ((r, rp), (g, gp), (b, bp)) = (r?, g?, b?);
    if rp != gp || gp != bp {
        return None;
    }
    let a = alpha.map_or(Some(255), parse_alpha)?;
    Some((
        [name, "(", &parts.join(","), ")"].concat(),
        Rgba { r, g, b, a },
    ))
}

/// `r g b[ / a]` — channels may mix integers and percentages.
fn parse_space_form(name: &str, body: &str) -> Option<(String, Rgba)> {
    let (channels, alpha) = match body.split_once('/') {
        Some((channels, alpha)) => (channels, Some(alpha.trim())),
        None => (body, None),
    };
    let tokens: Vec<&str> = channels.split_whitespace().collect();
    let [r, g, b] = tokens.as_slice() else {
        return None;
    };
    let ((r_val, _), (g_val, _), (b_val, _)) =
        (parse_channel(r)?, parse_channel(g)?, parse_channel(b)?);
    let a_val = alpha.map_or(Some(255), parse_alpha)?;
    let text = match alpha {
        Some(a) => [name, "(", *r, " ", *g, " ", *b, " / ", a, ")"].concat(),
        None => [name, "(", *r, " ", *g, " ", *b, ")"].concat(),
    };
    Some((
        text,
        Rgba {
            r: r_val,
            g: g_val,
            b: b_val,
            a: a_val,
        },
    ))
}

/// Fixed-point scale of [`parse_decimal`]: millionths. Integer arithmetic keeps the float
/// parser and its tables out of the widget's wasm.
const MICRO: u64 = 1_000_000;

/// An integer 0–255 or a percentage 0–100%; returns the value and whether it was a
/// percentage.
fn parse_channel(token: &str) -> Option<(u8, bool)> {
    if let Some(percent) = token.strip_suffix('%') {
        let value = parse_decimal(percent)?;
        return (value <= 100 * MICRO).then(|| (scaled_to_byte(value, 100 * MICRO), true));
    }
    if token.len() > 3 {
        return None;
    }
    u8::try_from(crate::text::parse_digits(token)?)
        .ok()
        .map(|v| (v, false))
}

/// A number 0–1 or a percentage 0–100%.
fn parse_alpha(token: &str) -> Option<u8> {
    let (value, whole) = match token.strip_suffix('%') {
        Some(percent) => (parse_decimal(percent)?, 100 * MICRO),
        None => (parse_decimal(token)?, MICRO),
    };
    (value <= whole).then(|| scaled_to_byte(value, whole))
}

/// An unsigned decimal (`12`, `12.5`, `.5`; no sign, exponent, `inf` or `nan`) in
/// millionths; digits past the sixth decimal are ignored.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 16 || text.ends_with('.') {
        return None;
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let int_value = if int.is_empty() {
        0
    } else {
        crate::text::parse_digits(int)?
    };
    let mut frac_value = 0;
    let mut scale = MICRO;
    for digit in frac.bytes().take(6) {
        scale /= 10;
        frac_value += u64::from(digit - b'0') * scale;
    }
    int_value.checked_mul(MICRO)?.checked_add(frac_value)
}

/// `value / whole` (0–1) as a byte 0–255, rounded half up.
fn scaled_to_byte(value: u64, whole: u64) -> u8 {
    let byte = (value.min(whole) * 255 + whole / 2) / whole;
    u8::try_from(byte).unwrap_or(u8::MAX)
}

/// The direction of a linear gradient: `<n>deg` (e.g. `135deg`, `-45.5deg`) or
/// `to <side>` / `to <side> <side>` (left/right/top/bottom, one per axis). Normalised
/// to lowercase with single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GradientDirection(String);

impl GradientDirection {
    /// Parses a gradient direction.
    pub fn parse(input: &str) -> Result<Self, String> {
        parse_direction(input)
            .map(Self)
            .ok_or_else(|| reason(DIRECTION_REASON))
    }
}

string_newtype!(GradientDirection);

fn parse_direction(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed.len() > MAX_DIRECTION_CHARS {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    if let Some(number) = lower.strip_suffix("deg") {
        let unsigned = number
            .strip_prefix('-')
            .or_else(|| number.strip_prefix('+'))
            .unwrap_or(number);
        parse_decimal(unsigned)?;
        return Some(lower);
    }
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        ["to", side] => side_axis(side).map(|_| ["to ", *side].concat()),
        ["to", first, second] => {
            let (a, b) = (side_axis(first)?, side_axis(second)?);
            (a != b).then(|| ["to ", *first, " ", *second].concat())
        }
        _ => None,
    }
}

/// `Some(false)` for a horizontal side, `Some(true)` for a vertical one.
fn side_axis(side: &str) -> Option<bool> {
    match side {
        "left" | "right" => Some(false),
        "top" | "bottom" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(input: &str) -> String {
        CssColor::parse(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .into_string()
    }

    #[test]
    fn hex_forms() {
        assert_eq!(norm("#fff"), "#fff");
        assert_eq!(norm("#FFF"), "#fff");
        assert_eq!(norm(" #1890BF "), "#1890bf");
        assert_eq!(norm("#11223344"), "#11223344");
        for bad in [
            "#ff000",
            "#ffff",
            "#",
            "#ggg",
            "#1234567",
            "#123456789",
            "fff",
            "#ff 0",
        ] {
            assert_eq!(CssColor::parse(bad).unwrap_err(), COLOR_REASON, "{bad}");
        }
    }

    #[test]
    fn rgb_comma_forms() {
        assert_eq!(norm("rgb(255, 0, 0)"), "rgb(255,0,0)");
        assert_eq!(norm("RGB( 1 ,2,  3 )"), "rgb(1,2,3)");
        assert_eq!(norm("rgba(0, 0, 0, 0.5)"), "rgba(0,0,0,0.5)");
        assert_eq!(norm("rgba(0,0,0,.5)"), "rgba(0,0,0,.5)");
        assert_eq!(norm("rgba(0,0,0,1)"), "rgba(0,0,0,1)");
        assert_eq!(norm("rgba(0,0,0,50%)"), "rgba(0,0,0,50%)");
        assert_eq!(norm("rgb(100%, 50%, 0%)"), "rgb(100%,50%,0%)");
        assert_eq!(norm("rgb(12.5%, 50%, 0%)"), "rgb(12.5%,50%,0%)");
        assert_eq!(norm("rgba(1,2,3)"), "rgba(1,2,3)");
        for bad in [
            "rgb(256,0,0)",
            "rgb(-1,0,0)",
            "rgb(1,2)",
            "rgb(1,2,3,4,5)",
            "rgb(1,,3)",
            "rgb(1.5,2,3)",
            "rgb(101%,0%,0%)",
            "rgb(50%,0,0)",
            "rgba(0,0,0,1.5)",
            "rgba(0,0,0,-0.1)",
            "rgba(0,0,0,1e0)",
            "rgba(0,0,0,nan)",
            "rgba(0,0,0,inf)",
            "rgb(1,2,3",
            "rgb 1,2,3)",
            "rgb (1,2,3)",
            "rgb(1,2,3);",
            "rgb(1,2,3) red",
            "rgb(1 2,3)",
            "rgb(calc(1),2,3)",
        ] {
            assert_eq!(CssColor::parse(bad).unwrap_err(), COLOR_REASON, "{bad}");
        }
    }

    #[test]
    fn rgb_space_forms() {
        assert_eq!(norm("rgb(1 2 3)"), "rgb(1 2 3)");
        assert_eq!(norm("rgb( 1   2 3 /  0.25 )"), "rgb(1 2 3 / 0.25)");
        assert_eq!(norm("rgb(10% 20 30 / 50%)"), "rgb(10% 20 30 / 50%)");
        for bad in [
            "rgb(1 2)",
            "rgb(1 2 3 4)",
            "rgb(1 2 3 /)",
            "rgb(1 2 3 / 0.5 / 1)",
            "rgb()",
        ] {
            assert_eq!(CssColor::parse(bad).unwrap_err(), COLOR_REASON, "{bad}");
        }
    }

    #[test]
    fn named_colors() {
        let names: Vec<&str> = named_colors::entries().map(|(name, _)| name).collect();
        assert_eq!(names.len(), 148, "one value per name");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(
            names
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase()))
        );
        assert_eq!(named_colors::lookup("aliceblue"), Some(0xF0F8FF));
        assert_eq!(named_colors::lookup("yellowgreen"), Some(0x9ACD32));
        assert_eq!(named_colors::lookup("rebeccapurple"), Some(0x663399));
        for name in names {
            assert_eq!(norm(name), name);
            assert_eq!(norm(&name.to_uppercase()), name);
        }
        assert_eq!(norm("RebeccaPurple"), "rebeccapurple");
        assert_eq!(norm("Transparent"), "transparent");
        for bad in ["reds", "currentcolor", "inherit", "none", "", "  "] {
            assert_eq!(CssColor::parse(bad).unwrap_err(), COLOR_REASON, "{bad:?}");
        }
    }

    #[test]
    fn hostile_strings() {
        for bad in [
            "red;background:url(x)",
            "red; background: url(javascript:alert(1))",
            "expression(alert(1))",
            "url(https://evil.example/x.png)",
            "var(--x)",
            "red !important",
            "#fff;",
            "#fff\"",
            "red</style><script>",
            "hsl(0, 100%, 50%)",
            "rgb(1,2,3)/**/",
            "rеd", // Cyrillic "е"
            "\u{0}red",
        ] {
            assert_eq!(CssColor::parse(bad).unwrap_err(), COLOR_REASON, "{bad:?}");
        }
        assert!(CssColor::parse(&"#".repeat(10_000)).is_err());
    }

    #[test]
    fn components() {
        let c = |s: &str| CssColor::parse(s).unwrap().to_rgba();
        assert_eq!(
            c("#fff"),
            Rgba {
                r: 255,
                g: 255,
                b: 255,
                a: 255
            }
        );
        assert_eq!(c("#1890bf").to_hex(), "#1890bf");
        assert_eq!(
            c("#11223344"),
            Rgba {
                r: 0x11,
                g: 0x22,
                b: 0x33,
                a: 0x44
            }
        );
        assert_eq!(c("rebeccapurple").to_hex(), "#663399");
        assert_eq!(c("transparent").a, 0);
        assert_eq!(
            c("rgb(100%,0%,50%)"),
            Rgba {
                r: 255,
                g: 0,
                b: 128,
                a: 255
            }
        );
        assert_eq!(c("rgba(1,2,3,0.5)").a, 128);
        assert_eq!(c("rgb(1 2 3 / 0%)").a, 0);
        // Fixed-point decimals: rounding half up, digits past the sixth decimal ignored.
        assert_eq!(c("rgba(1,2,3,.2)").a, 51);
        assert_eq!(c("rgba(1,2,3,0.0019608)").a, 0);
        assert_eq!(c("rgba(1,2,3,0.001961)").a, 1);
        assert_eq!(c("rgb(1 2 3 / 99.9%)").a, 255);
        assert_eq!(c("rgb(12.5% 0% 0%)").r, 32);
        assert_eq!(c("rgba(1,2,3,1.000000)").a, 255);
        let back = CssColor::from_rgba(Rgba {
            r: 1,
            g: 2,
            b: 3,
            a: 255,
        });
        assert_eq!(back.as_str(), "#010203");
        let translucent = CssColor::from_rgba(Rgba {
            r: 1,
            g: 2,
            b: 3,
            a: 4,
        });
        assert_eq!(translucent.as_str(), "#01020304");
    }

    #[test]
    fn normalised_form_is_stable() {
        for input in ["RGB( 1 ,2,  3 )", "rgb( 1   2 3 /  0.25 )", "#ABC", "Red"] {
            let once = norm(input);
            assert_eq!(norm(&once), once);
        }
    }

    #[test]
    fn serde_rejects_invalid_colors() {
        assert_eq!(
            serde_json::from_str::<CssColor>("\"#ABC\"")
                .unwrap()
                .as_str(),
            "#abc"
        );
        assert!(serde_json::from_str::<CssColor>("\"red;x\"").is_err());
    }

    #[test]
    fn gradient_directions() {
        let dir = |s: &str| {
            GradientDirection::parse(s)
                .unwrap_or_else(|e| panic!("{s}: {e}"))
                .into_string()
        };
        assert_eq!(dir("135deg"), "135deg");
        assert_eq!(dir("-45.5DEG"), "-45.5deg");
        assert_eq!(dir("+90deg"), "+90deg");
        assert_eq!(dir("0.5deg"), "0.5deg");
        assert_eq!(dir(".5deg"), ".5deg");
        assert_eq!(dir("to right"), "to right");
        assert_eq!(dir("  TO   Top  "), "to top");
        assert_eq!(dir("to top left"), "to top left");
        assert_eq!(dir("to left bottom"), "to left bottom");
        for bad in [
            "deg",
            "-deg",
            "135",
            "135 deg",
            "1e3deg",
            "--5deg",
            "5.deg",
            "to",
            "to middle",
            "to left right",
            "to top bottom",
            "to top top",
            "to top left right",
            "toright",
            "135deg;background:red",
            "right",
            "0.5turn",
        ] {
            assert_eq!(
                GradientDirection::parse(bad).unwrap_err(),
                DIRECTION_REASON,
                "{bad}"
            );
        }
    }
}
