//! Mail templates: each mail has a plain-text part (`NAME.txt`, whose first line is
//! `Subject: …`) and an HTML part (`NAME.html`). The built-in ones are compiled in; a library
//! replaces any of them with a file of the same name in `mail.templates_dir`, read once at start
//! and checked there (an unknown `{{placeholder}}` or a missing subject is an error naming the
//! file). Values are inserted as given in the text part and HTML-escaped in the HTML part.
//!
//! Uses `config` only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every mail the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TemplateName {
    ResetLink,
    ResetTemporaryPassword,
    PinChanged,
    PasswordChanged,
    HardLock,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRenewed,
}

/// The placeholders every template may use.
const COMMON: &[&str] = &["library", "contact", "name", "card_end", "site", "when"];

impl TemplateName {
    const ALL: [TemplateName; 8] = [
        TemplateName::ResetLink,
        TemplateName::ResetTemporaryPassword,
        TemplateName::PinChanged,
        TemplateName::PasswordChanged,
        TemplateName::HardLock,
        TemplateName::TwoFactorEnabled,
        TemplateName::TwoFactorDisabled,
        TemplateName::RecoveryCodesRenewed,
    ];

    /// The file name without extension.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            TemplateName::ResetLink => "reset-link",
            TemplateName::ResetTemporaryPassword => "reset-temporary-password",
            TemplateName::PinChanged => "pin-changed",
            TemplateName::PasswordChanged => "password-changed",
            TemplateName::HardLock => "hard-lock",
            TemplateName::TwoFactorEnabled => "two-factor-enabled",
            TemplateName::TwoFactorDisabled => "two-factor-disabled",
            TemplateName::RecoveryCodesRenewed => "recovery-codes-renewed",
        }
    }

    /// Placeholders of this template beyond [`COMMON`].
    fn own(self) -> &'static [&'static str] {
        match self {
            TemplateName::ResetLink => &["credential", "link", "lifetime_minutes"],
            TemplateName::ResetTemporaryPassword => &["temporary_password", "lifetime_days"],
            _ => &[],
        }
    }

    fn built_in(self) -> (&'static str, &'static str) {
        macro_rules! pair {
            ($name:literal) => {
                (
                    include_str!(concat!("templates/", $name, ".txt")),
                    include_str!(concat!("templates/", $name, ".html")),
                )
            };
        }
        match self {
            TemplateName::ResetLink => pair!("reset-link"),
            TemplateName::ResetTemporaryPassword => pair!("reset-temporary-password"),
            TemplateName::PinChanged => pair!("pin-changed"),
            TemplateName::PasswordChanged => pair!("password-changed"),
            TemplateName::HardLock => pair!("hard-lock"),
            TemplateName::TwoFactorEnabled => pair!("two-factor-enabled"),
            TemplateName::TwoFactorDisabled => pair!("two-factor-disabled"),
            TemplateName::RecoveryCodesRenewed => pair!("recovery-codes-renewed"),
        }
    }
}

/// Why the templates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read mail template {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mail template {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// One mail's parts, as loaded.
#[derive(Debug, Clone)]
struct Parts {
    subject: String,
    text: String,
    html: String,
}

/// A rendered mail.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body may carry a reset link or a temporary password.
        f.debug_struct("Rendered")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Every template, built-in or the library's.
#[derive(Debug, Clone)]
pub(crate) struct Templates {
    parts: BTreeMap<TemplateName, Parts>,
}

impl Templates {
    /// The built-in templates, each replaced by its file in `dir` when there is one.
    pub(crate) fn load(dir: &Path) -> Result<Templates, TemplateError> {
        let mut parts = BTreeMap::new();
        for name in TemplateName::ALL {
            let (text, html) = name.built_in();
            let text = read_or(dir, name, "txt", text)?;
            let html = read_or(dir, name, "html", html)?;
            let path = dir.join(format!("{}.txt", name.as_str()));
            let (subject, body) = split_subject(&text.1).ok_or_else(|| TemplateError::Invalid {
                path: path.clone(),
                reason: "the first line must be `Subject: …`, then a blank line".into(),
            })?;
            for (file, body) in [(&text.0, body.as_str()), (&html.0, html.1.as_str())] {
                check_placeholders(name, body).map_err(|reason| TemplateError::Invalid {
                    path: file.clone(),
                    reason,
                })?;
            }
            check_placeholders(name, &subject).map_err(|reason| TemplateError::Invalid {
                path: path.clone(),
                reason,
            })?;
            parts.insert(
                name,
                Parts {
                    subject,
                    text: body,
                    html: html.1,
                },
            );
        }
        Ok(Templates { parts })
    }

    /// The mail `name` with `values` filled in.
    pub(crate) fn render(&self, name: TemplateName, values: &[(&str, &str)]) -> Rendered {
        let Some(parts) = self.parts.get(&name) else {
            // `load` inserts every name.
            return Rendered {
                subject: String::new(),
                text: String::new(),
                html: String::new(),
            };
        };
        let subject = fill(&parts.subject, values, |v| v.replace(['\r', '\n'], " "));
        Rendered {
            subject,
            text: fill(&parts.text, values, str::to_owned),
            html: wrap_html(&fill(&parts.html, values, escape_html)),
        }
    }
}

/// The template's file in `dir` (with its path), or the built-in text.
fn read_or(
    dir: &Path,
    name: TemplateName,
    extension: &str,
    built_in: &str,
) -> Result<(PathBuf, String), TemplateError> {
    let path = dir.join(format!("{}.{extension}", name.as_str()));
    if dir.as_os_str().is_empty() || !path.is_file() {
        return Ok((path, built_in.to_owned()));
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(source) => Err(TemplateError::Read { path, source }),
    }
}

fn split_subject(text: &str) -> Option<(String, String)> {
    let (first, rest) = text.split_once('\n')?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Subject:")?
        .trim();
    let body = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    (!subject.is_empty()).then(|| (subject.to_owned(), body.to_owned()))
}

/// Every `{{name}}` in `body`, in order.
fn placeholders(body: &str) -> impl Iterator<Item = &str> {
    body.split("{{")
        .skip(1)
        .map(|after| after.split_once("}}").map_or(after, |(name, _)| name))
}

fn check_placeholders(name: TemplateName, body: &str) -> Result<(), String> {
    for found in placeholders(body) {
        let known = COMMON.contains(&found.trim()) || name.own().contains(&found.trim());
        if !known {
            let mut allowed: Vec<&str> = COMMON.iter().chain(name.own()).copied().collect();
            allowed.sort_unstable();
            return Err(format!(
                "unknown placeholder {{{{{found}}}}}; this mail knows {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

fn fill(body: &str, values: &[(&str, &str)], encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some((name, tail)) = after.split_once("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = values
            .iter()
            .find(|(key, _)| *key == name.trim())
            .map_or("", |(_, value)| value);
        out.push_str(&encode(value));
        rest = tail;
    }
    out.push_str(rest);
    out
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn wrap_html(body: &str) -> String {
    format!("<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_load_and_fill_every_part() {
        let templates = Templates::load(Path::new("")).unwrap();
        let mail = templates.render(
            TemplateName::ResetLink,
            &[
                ("library", "Springfield <Library>"),
                ("credential", "PIN"),
                ("link", "https://x.example/reset/abc"),
            ],
        );
        assert_eq!(mail.subject, "Reset your PIN at Springfield <Library>");
        assert!(mail.text.contains("https://x.example/reset/abc"));
        assert!(mail.html.contains("Springfield &lt;Library&gt;"));
        assert!(!mail.text.contains("{{") && !mail.html.contains("{{"));
    }

    #[test]
    fn a_library_template_replaces_the_built_in_one_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pin-changed.txt"),
            "Subject: PIN nuevo\n\nHola {{name}}\n",
        )
        .unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        let mail = templates.render(TemplateName::PinChanged, &[("name", "Ana")]);
        assert_eq!(mail.subject, "PIN nuevo");
        assert_eq!(mail.text, "Hola Ana\n");
        std::fs::write(dir.path().join("hard-lock.html"), "<p>{{link}}</p>").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("hard-lock.html") && err.contains("{{link}}"),
            "{err}"
        );
        std::fs::write(dir.path().join("hard-lock.html"), "<p>ok</p>").unwrap();
        std::fs::write(dir.path().join("hard-lock.txt"), "no subject\n").unwrap();
        let err = Templates::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("Subject:"), "{err}");
    }

    #[test]
    fn a_subject_never_takes_a_line_break_from_a_value() {
        let templates = Templates::load(Path::new("")).unwrap();
        let mail = templates.render(TemplateName::HardLock, &[("library", "A\r\nBcc: x@y")]);
        assert!(!mail.subject.contains('\n'), "{}", mail.subject);
    }
}
