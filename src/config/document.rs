//! TOML text -> [`Config`], collecting every problem with its key path.
//!
//! serde stops at the first error, so an unknown key or a value of the wrong type would hide the
//! rest. Each failure is recorded at its key path (`server.lisen`), that key is taken out of the
//! document (so it falls back to its default), and deserialisation runs again, until the document
//! deserialises; then the typed validation adds its own problems. Uses nothing outside `config`.

use serde_path_to_error::{Path as KeyPath, Segment};
use toml::{Table, Value};

use super::problems::Problems;
use super::Config;

/// Every key of a document is at most this many removals away from deserialising.
const MAX_PROBLEMS: usize = 256;

/// Why a document could not be read at all.
pub(super) enum Refusal {
    /// Not TOML.
    Syntax(String),
    /// TOML, with these problems.
    Invalid(Problems),
}

/// Parses, deserialises and validates TOML text.
pub(super) fn read(text: &str) -> Result<Config, Refusal> {
    let mut table: Table = text
        .parse()
        .map_err(|err: toml::de::Error| Refusal::Syntax(err.to_string().trim_end().to_owned()))?;
    let mut problems = Problems::default();
    for _ in 0..MAX_PROBLEMS {
        match serde_path_to_error::deserialize::<_, Config>(Value::Table(table.clone())) {
            Ok(config) => {
                problems.extend(config.problems());
                return if problems.is_empty() {
                    Ok(config)
                } else {
                    Err(Refusal::Invalid(problems))
                };
            }
            Err(err) => {
                // toml adds an "in `section`" line; the key path already says where.
                let full = err.inner().to_string();
                let message = full.lines().next().unwrap_or_default().trim();
                let keys = keys_of(err.path());
                problems.push_at(&keys.join("."), describe(message));
                if keys.is_empty() || !remove(&mut table, &keys) {
                    break;
                }
            }
        }
    }
    Err(Refusal::Invalid(problems))
}

fn keys_of(path: &KeyPath) -> Vec<String> {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(key.clone()),
            Segment::Seq { index } => Some(index.to_string()),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// serde words unknown keys as "unknown field `NAME`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn describe(message: &str) -> String {
    match unknown_field(message) {
        Some(_) => format!(
            "unknown key ({})",
            message
                .split_once(", ")
                .map_or("", |(_, expected)| expected)
        ),
        None => plain(message),
    }
}

/// serde's words for numbers and addresses ("invalid value: integer `-1`, expected u32") in
/// the administrator's words.
fn plain(message: &str) -> String {
    const UNSIGNED: [(&str, u64); 5] = [
        ("u8", u8::MAX as u64),
        ("u16", u16::MAX as u64),
        ("u32", u32::MAX as u64),
        ("u64", u64::MAX),
        ("usize", u64::MAX),
    ];
    let expected = message.rsplit_once(", expected ").map(|(_, e)| e.trim());
    let got = message
        .strip_prefix("invalid value: ")
        .or_else(|| message.strip_prefix("invalid type: "))
        .and_then(|rest| rest.split_once(", expected"))
        .map(|(got, _)| got.replace('`', ""));
    if let Some((_, max)) = UNSIGNED.iter().find(|(name, _)| expected == Some(*name)) {
        let range = if *max == u64::MAX {
            "a whole number, 0 or more".to_string()
        } else {
            format!("a whole number from 0 to {max}")
        };
        return match got {
            Some(got) => format!("must be {range} (got {got})"),
            None => format!("must be {range}"),
        };
    }
    if message.contains("invalid socket address") || message.contains("invalid port") {
        return "must be an address and port such as \"0.0.0.0:6001\" (port 1-65535)".into();
    }
    message.to_owned()
}

/// Removes the value at `keys`; false when there is nothing there to remove.
fn remove(table: &mut Table, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut current = table;
    for key in parents {
        match current.get_mut(key) {
            Some(Value::Table(inner)) => current = inner,
            _ => return false,
        }
    }
    current.remove(last).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<(String, String)> {
        match read(text) {
            Ok(_) => Vec::new(),
            Err(Refusal::Syntax(message)) => vec![("<syntax>".into(), message)],
            Err(Refusal::Invalid(problems)) => problems
                .iter()
                .map(|p| (p.key.clone(), p.message.clone()))
                .collect(),
        }
    }

    #[test]
    fn unknown_keys_wrong_types_and_bad_values_are_all_reported() {
        let found = problems_of(
            "[server]\nlisen = \"0.0.0.0:6001\"\nmax_frame_bytes = \"big\"\nidle_timeout = \"0s\"\n\
             [database]\nurl = \"mysql://x\"\n[security.pin]\nstrictt = true\n",
        );
        let keys: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
        for key in [
            "server.lisen",
            "server.max_frame_bytes",
            "server.idle_timeout",
            "database.url",
            "security.pin.strictt",
        ] {
            assert!(keys.contains(&key), "{key} missing from {found:?}");
        }
        let unknown = found
            .iter()
            .find(|(k, _)| k == "server.lisen")
            .expect("lisen");
        assert!(
            unknown.1.contains("listen"),
            "{unknown:?} should list the expected keys"
        );
    }

    #[test]
    fn a_syntax_error_is_reported_as_such() {
        let found = problems_of("[server\nlisten = 1");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "<syntax>");
    }

    #[test]
    fn an_unknown_section_is_reported_at_its_path() {
        let found = problems_of("[sever]\nlisten = \"0.0.0.0:6001\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "sever");
    }
}
