//! The languages of the patron pages: Fluent catalogues, English and Spanish built in
//! (`src/http/locales/*.ftl`), then the files `LANG.ftl` of `web.locales_dir` (read once at
//! start: each overrides messages of its language or adds a language), then `[web.texts.LANG]`
//! (one message each). A page speaks the language chosen on the page (`?lang=`, remembered in a
//! cookie), else the best of `Accept-Language`, else English; a message missing from a
//! language falls back to English.
//!
//! Uses `config` only.

use std::path::Path;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::config::WebConfig;

const BUILT_IN: [(&str, &str); 2] = [
    ("en", include_str!("../locales/en.ftl")),
    ("es", include_str!("../locales/es.ftl")),
];

/// Why the catalogues could not be loaded (at start-up).
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{source_name}: not a valid Fluent catalogue ({reason})")]
    Syntax { source_name: String, reason: String },
}

struct Language {
    id: LanguageIdentifier,
    tag: String,
    bundle: FluentBundle<FluentResource>,
}

/// Every language the pages speak; the first is English.
pub(crate) struct Catalogues {
    languages: Vec<Language>,
}

/// The language of one page.
#[derive(Clone, Copy)]
pub(crate) struct Lang<'a> {
    chosen: &'a Language,
    english: &'a Language,
}

fn resource(source_name: &str, text: String) -> Result<FluentResource, CatalogueError> {
    FluentResource::try_new(text).map_err(|(_, errors)| CatalogueError::Syntax {
        source_name: source_name.to_owned(),
        reason: format!("{} error(s), the first {:?}", errors.len(), errors.first()),
    })
}

impl Catalogues {
    /// The built-in catalogues with the library's files and texts over them.
    pub(crate) fn load(web: &WebConfig) -> Result<Catalogues, CatalogueError> {
        let mut catalogues = Catalogues {
            languages: Vec::new(),
        };
        for (tag, text) in BUILT_IN {
            catalogues.add(tag, resource(tag, text.to_owned())?);
        }
        if !web.locales_dir.as_os_str().is_empty() {
            catalogues.add_files(&web.locales_dir)?;
        }
        for (tag, texts) in &web.texts {
            let source: String = texts
                .iter()
                .map(|(id, value)| format!("{id} = {value}\n"))
                .collect();
            catalogues.add(tag, resource(&format!("web.texts.{tag}"), source)?);
        }
        Ok(catalogues)
    }

    fn add_files(&mut self, dir: &Path) -> Result<(), CatalogueError> {
        let read_error = |reason: std::io::Error| CatalogueError::Read {
            path: dir.display().to_string(),
            reason: reason.to_string(),
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_error)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "ftl"))
            .collect();
        files.sort();
        for path in files {
            let Some(tag) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| CatalogueError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let parsed = resource(&path.display().to_string(), text)?;
            self.add(tag, parsed);
        }
        Ok(())
    }

    /// Adds messages to a language (overriding its own), or a new language.
    fn add(&mut self, tag: &str, messages: FluentResource) {
        let Ok(id) = tag.parse::<LanguageIdentifier>() else {
            return;
        };
        if let Some(language) = self.languages.iter_mut().find(|l| l.id == id) {
            language.bundle.add_resource_overriding(messages);
            return;
        }
        let mut bundle = FluentBundle::new_concurrent(vec![id.clone()]);
        // Plain text pages: no bidi isolation marks around values.
        bundle.set_use_isolating(false);
        bundle.add_resource_overriding(messages);
        self.languages.push(Language {
            tag: id.to_string(),
            id,
            bundle,
        });
    }

    /// The tag of a language the pages speak, if `tag` names one.
    pub(crate) fn known(&self, tag: &str) -> Option<&str> {
        let id = tag.parse::<LanguageIdentifier>().ok()?;
        self.languages
            .iter()
            .find(|l| l.id == id)
            .map(|l| l.tag.as_str())
    }

    /// The language for a page: `chosen` (the page's switch or its cookie) if known, else the
    /// best match of `accept_language`, else English.
    pub(crate) fn negotiate(
        &self,
        chosen: Option<&str>,
        accept_language: Option<&str>,
    ) -> Lang<'_> {
        let english = &self.languages[0];
        let by_tag = |tag: &str| {
            let id = tag.parse::<LanguageIdentifier>().ok()?;
            self.languages.iter().find(|l| l.id == id)
        };
        let picked = chosen.and_then(by_tag).or_else(|| {
            let requested = fluent_langneg::accepted_languages::parse(accept_language?);
            let available: Vec<LanguageIdentifier> =
                self.languages.iter().map(|l| l.id.clone()).collect();
            let best = fluent_langneg::negotiate_languages(
                &requested,
                &available,
                None,
                fluent_langneg::NegotiationStrategy::Filtering,
            );
            let best = best.first()?;
            self.languages.iter().find(|l| &&l.id == best)
        });
        Lang {
            chosen: picked.unwrap_or(english),
            english,
        }
    }

    /// Every language as (tag, its own name), for the switch on every page.
    pub(crate) fn choices(&self) -> Vec<(String, String)> {
        self.languages
            .iter()
            .map(|l| {
                let lang = Lang {
                    chosen: l,
                    english: l,
                };
                (l.tag.clone(), lang.t("language-name"))
            })
            .collect()
    }
}

impl Lang<'_> {
    pub(crate) fn tag(&self) -> &str {
        &self.chosen.tag
    }

    pub(crate) fn is_english(&self) -> bool {
        std::ptr::eq(self.chosen, self.english)
    }

    /// The message `id` (English when this language lacks it; the id itself when none has it).
    pub(crate) fn t(&self, id: &str) -> String {
        self.t_with(id, &[])
    }

    /// The message `id` with its variables.
    pub(crate) fn t_with(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut values = FluentArgs::new();
        for (name, value) in args {
            values.set(*name, value.clone());
        }
        for language in [self.chosen, self.english] {
            let bundle = &language.bundle;
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&values), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }

    /// Whether this language itself (not the English fallback) has the message.
    pub(crate) fn has(&self, id: &str) -> bool {
        self.chosen.bundle.has_message(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> std::collections::BTreeSet<String> {
        text.lines()
            .filter_map(|line| line.split_once(" = ").map(|(id, _)| id.to_owned()))
            .filter(|id| !id.starts_with('#') && !id.starts_with("rule-"))
            .collect()
    }

    #[test]
    fn spanish_has_every_english_message() {
        let (en, es) = (ids(BUILT_IN[0].1), ids(BUILT_IN[1].1));
        let missing: Vec<_> = en.difference(&es).collect();
        assert!(missing.is_empty(), "missing in es.ftl: {missing:?}");
    }

    #[test]
    fn accept_language_picks_spanish_and_a_choice_wins() {
        let catalogues = Catalogues::load(&WebConfig::default()).expect("built in");
        let lang = catalogues.negotiate(None, Some("es-MX,es;q=0.9,en;q=0.5"));
        assert_eq!(lang.tag(), "es");
        assert_eq!(lang.t("log-out"), "Salir");
        assert_eq!(catalogues.negotiate(None, Some("fr")).tag(), "en");
        assert_eq!(catalogues.negotiate(Some("en"), Some("es")).tag(), "en");
        assert_eq!(catalogues.negotiate(None, None).tag(), "en");
    }

    #[test]
    fn texts_in_the_configuration_override_per_language() {
        let mut web = WebConfig::default();
        web.texts.insert(
            "es".into(),
            [("log-out".to_owned(), "Cerrar sesión".to_owned())].into(),
        );
        let catalogues = Catalogues::load(&web).expect("loads");
        assert_eq!(
            catalogues.negotiate(Some("es"), None).t("log-out"),
            "Cerrar sesión"
        );
        assert_eq!(
            catalogues.negotiate(Some("en"), None).t("log-out"),
            "Log out"
        );
    }

    #[test]
    fn a_file_adds_a_language_that_falls_back_to_english() {
        let dir = std::env::temp_dir().join(format!("sip2auth-locales-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("fr.ftl"),
            "language-name = Français\nlog-out = Déconnexion\n",
        )
        .expect("file");
        let web = WebConfig {
            locales_dir: dir.clone(),
            ..WebConfig::default()
        };
        let catalogues = Catalogues::load(&web).expect("loads");
        let french = catalogues.negotiate(None, Some("fr-CA"));
        assert_eq!(french.t("log-out"), "Déconnexion");
        assert_eq!(french.t("log-in-button"), "Log in", "English fallback");
        assert!(catalogues
            .choices()
            .contains(&("fr".into(), "Français".into())));
        let _ = std::fs::remove_dir_all(dir);
    }
}
