//! An offer as one user sees it ([`personalize`]): the best translation for the user's
//! language, field by field over the offer's own, then its merge tags filled in.
//!
//! The server runs this per user (the widget never renders merge tags); its answer becomes
//! the feed's [`crate::FeedOffer::personalized`].

use crate::campaign::Variant;
use crate::language::{LanguageTag, best_translation};
use crate::merge::{
    MergeText, MergeVars, MissingVariable, Piece, has_merge_tags, render_link_query,
};
use crate::model::{BodyText, ButtonText, HttpUrl, OfferSpec, Title};
use crate::text::{BODY_MAX_CHARS, BUTTON_MAX_CHARS, TITLE_MAX_CHARS};

/// The fields of an offer that differ per user, as sent to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Personalized {
    /// The translation used (`None`: the offer's own texts).
    pub language: Option<LanguageTag>,
    /// The title, merge tags filled in.
    pub title: Option<Title>,
    /// The body text, merge tags filled in.
    pub text: Option<BodyText>,
    /// The button text, merge tags filled in.
    pub link_text: Option<ButtonText>,
    /// The link, merge tags of its query filled in (percent-encoded).
    pub link: HttpUrl,
    /// The picture.
    pub pic: Option<HttpUrl>,
}

/// `spec` for the user of `vars`: the best translation for `vars.language`
/// ([`best_translation`]: exact, then shorter forms, else the offer's own) with each field
/// it leaves out taken from the offer, then every merge tag rendered with its field's limit
/// (title 23, text 180, button 80 characters; the link's query percent-encoded).
///
/// `Err` when a tag has neither a value for this user nor a fallback (or a text would be
/// blank, or the link too long, once filled in): the offer is then not shown to this user.
pub fn personalize(
    spec: &OfferSpec,
    vars: &MergeVars<'_>,
) -> Result<Personalized, MissingVariable> {
    let translation = best_translation(&spec.translations, vars.language);
    let own = translation.map(|(_, t)| t);
    let title = own.and_then(|t| t.title.as_ref()).or(spec.title.as_ref());
    let text = own.and_then(|t| t.text.as_ref()).or(spec.text.as_ref());
    let link_text = own
        .and_then(|t| t.link_text.as_ref())
        .or(spec.link_text.as_ref());
    let pic = own.and_then(|t| t.pic.as_ref()).or(spec.pic.as_ref());
    Ok(Personalized {
        language: translation.map(|(language, _)| language.clone()),
        title: render(title, vars, TITLE_MAX_CHARS, Title::parse)?,
        text: render(text, vars, BODY_MAX_CHARS, BodyText::parse)?,
        link_text: render(link_text, vars, BUTTON_MAX_CHARS, ButtonText::parse)?,
        link: render_link_query(&spec.link, vars)?,
        pic: pic.cloned(),
    })
}

/// A variant's content for the user of `vars`: each text it gives rendered like the offer's
/// (merge tags filled in; a variant's texts are not translated), each field it leaves out the
/// offer's own as `shown` to this user ([`personalize`]).
pub fn personalize_variant(
    variant: &Variant,
    shown: &Personalized,
    vars: &MergeVars<'_>,
) -> Result<Personalized, MissingVariable> {
    Ok(Personalized {
        language: shown.language.clone(),
        title: or(
            render(
                variant.content.title.as_ref(),
                vars,
                TITLE_MAX_CHARS,
                Title::parse,
            )?,
            &shown.title,
        ),
        text: or(
            render(
                variant.content.text.as_ref(),
                vars,
                BODY_MAX_CHARS,
                BodyText::parse,
            )?,
            &shown.text,
        ),
        link_text: or(
            render(
                variant.content.link_text.as_ref(),
                vars,
                BUTTON_MAX_CHARS,
                ButtonText::parse,
            )?,
            &shown.link_text,
        ),
        link: shown.link.clone(),
        pic: variant.content.pic.clone().or_else(|| shown.pic.clone()),
    })
}

/// `own`, or else `fallback`.
fn or<T: Clone>(own: Option<T>, fallback: &Option<T>) -> Option<T> {
    own.or_else(|| fallback.clone())
}

/// One text field rendered for the user and read back as its type.
fn render<T: Clone + AsRef<str>>(
    value: Option<&T>,
    vars: &MergeVars<'_>,
    limit: usize,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, MissingVariable> {
    let Some(value) = value else {
        return Ok(None);
    };
    let written = value.as_ref();
    if !has_merge_tags(written) {
        return Ok(Some(value.clone()));
    }
    // A stored text was validated, so its tags parse.
    let Ok(template) = MergeText::parse(written) else {
        return Ok(Some(value.clone()));
    };
    let rendered = template.render(vars, limit)?;
    parse(&rendered).map(Some).map_err(|_| MissingVariable {
        variable: template
            .pieces()
            .iter()
            .find_map(|p| match p {
                Piece::Tag { name, .. } => Some(name.clone()),
                Piece::Text(_) => None,
            })
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Template, Translation};
    use crate::profile::Profile;
    use serde_json::json;

    fn tag(s: &str) -> LanguageTag {
        LanguageTag::parse(s).unwrap()
    }

    fn offer() -> OfferSpec {
        let german = Translation {
            title: Some(Title::parse("Hallo {{firstName|du}}!").unwrap()),
            text: None,
            link_text: Some(ButtonText::parse("Los").unwrap()),
            pic: Some(HttpUrl::parse("https://a.example/de.png").unwrap()),
        };
        OfferSpec {
            template: Template::ImageAbove,
            title: Some(Title::parse("Hi {{firstName|there}}!").unwrap()),
            text: Some(BodyText::parse("You have {{points}} points").unwrap()),
            link_text: Some(ButtonText::parse("Go").unwrap()),
            link: HttpUrl::parse_link("https://a.example/?u={{id}}&l={{language|none}}").unwrap(),
            translations: [(tag("de"), german)].into_iter().collect(),
            ..OfferSpec::example()
        }
    }

    #[test]
    fn translation_then_merge_tags() {
        let spec = offer();
        assert!(spec.is_personalized());
        let ana = Profile::parse(
            &json!({"language": "de-AT", "attributes": {"firstName": "Ana", "points": 1200}}),
        )
        .unwrap();
        let shown = personalize(&spec, &MergeVars::new(Some("u1"), Some(&ana), None)).unwrap();
        assert_eq!(shown.language, Some(tag("de")));
        assert_eq!(shown.title.unwrap().as_str(), "Hallo Ana!");
        assert_eq!(
            shown.text.unwrap().as_str(),
            "You have 1200 points",
            "falls back to the offer's text"
        );
        assert_eq!(shown.link_text.unwrap().as_str(), "Los");
        assert_eq!(shown.link.as_str(), "https://a.example/?u=u1&l=de-AT");
        assert_eq!(shown.pic.unwrap().as_str(), "https://a.example/de.png");

        let english = tag("en");
        let bob = Profile::parse(&json!({"attributes": {"points": 3}})).unwrap();
        let shown = personalize(
            &spec,
            &MergeVars::new(Some("u2"), Some(&bob), Some(&english)),
        )
        .unwrap();
        assert_eq!(shown.language, None);
        assert_eq!(shown.title.unwrap().as_str(), "Hi there!");
        assert_eq!(shown.link.as_str(), "https://a.example/?u=u2&l=en");

        let err = personalize(&spec, &MergeVars::new(Some("u3"), None, None)).unwrap_err();
        assert_eq!(err.variable, "points");
    }

    #[test]
    fn rendered_texts_keep_their_limits() {
        let spec = OfferSpec {
            template: Template::Text,
            title: Some(Title::parse("Hi {{firstName}}").unwrap()),
            text: Some(BodyText::parse("x").unwrap()),
            link_text: Some(ButtonText::parse("Go").unwrap()),
            ..OfferSpec::example()
        };
        let long = Profile::parse(&json!({"attributes": {"firstName": "A".repeat(100)}})).unwrap();
        let shown = personalize(&spec, &MergeVars::new(Some("u"), Some(&long), None)).unwrap();
        assert_eq!(
            shown.title.unwrap().as_str().chars().count(),
            TITLE_MAX_CHARS
        );
        let plain = OfferSpec::example();
        assert!(!plain.is_personalized());
        let shown = personalize(&plain, &MergeVars::default()).unwrap();
        assert_eq!(shown.link, plain.link);
        assert_eq!(shown.pic, plain.pic);
    }
}
