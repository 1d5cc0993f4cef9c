//! Reading an ILS export whose columns are not ours: a [`Mapping`] from their column names to
//! ours, and from their status values to ours, built from a built-in profile
//! ([`super::profile`]), a mapping file (`--map FILE`, TOML), or both (the file overrides the
//! profile it names or is given with).
//!
//! Mapping file:
//! ```toml
//! profile = "koha"          # optional: start from a built-in profile
//! [columns]                 # our column = their column
//! card = "Barcode"
//! family_name = "Last name"
//! status = "State"
//! [status]                  # their status value = ours (active, blocked or lost)
//! "A" = "active"
//! "S" = "blocked"
//! ```
//! Uses [`super::column`] and [`super::profile`]; nothing else in the crate.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::column::{column_names, COLUMNS};
use super::profile::{profile, profile_names, Profile};

/// Our status words, the values a status map may give.
pub(super) const STATUS_WORDS: [&str; 3] = ["active", "blocked", "lost"];

/// Which of their columns feed ours, and what their status values mean.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mapping {
    /// Where the mapping comes from, for messages: `profile koha`, `map file x.toml`.
    pub source: String,
    /// (their column, lowercased; our column). One of their columns may feed several of ours.
    columns: Vec<(String, &'static str)>,
    /// Their status value, lowercased and trimmed -> our status word.
    status: BTreeMap<String, &'static str>,
}

/// The TOML of a mapping file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    profile: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    status: BTreeMap<String, String>,
}

impl Mapping {
    /// The mapping of a built-in profile.
    pub(crate) fn of_profile(name: &str) -> Result<Mapping, String> {
        let found = profile(name).ok_or_else(|| {
            format!(
                "unknown profile {name:?}: choose one of {}",
                profile_names()
            )
        })?;
        let mut mapping = Mapping {
            source: format!("profile {}", found.name),
            ..Mapping::default()
        };
        mapping.add_profile(found)?;
        Ok(mapping)
    }

    /// Reads a mapping file (TOML); `base` is the profile given on the command line, if any
    /// (the file's own `profile` key takes its place).
    pub(crate) fn from_toml(
        text: &str,
        source: &str,
        base: Option<Mapping>,
    ) -> Result<Mapping, String> {
        let file: MapFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut mapping = match &file.profile {
            Some(name) => Mapping::of_profile(name)?,
            None => base.unwrap_or_default(),
        };
        mapping.source = if mapping.source.is_empty() {
            format!("map file {source}")
        } else {
            format!("{} with map file {source}", mapping.source)
        };
        for (ours, theirs) in &file.columns {
            let ours = our_column(ours).ok_or_else(|| {
                format!(
                    "[columns] {ours:?} is not one of our columns ({})",
                    column_names()
                )
            })?;
            // The file's line replaces what the profile said for that column of ours.
            mapping.columns.retain(|(_, o)| *o != ours);
            mapping.columns.push((theirs.trim().to_lowercase(), ours));
        }
        for (theirs, ours) in &file.status {
            mapping.add_status(theirs, ours)?;
        }
        Ok(mapping)
    }

    fn add_profile(&mut self, profile: &Profile) -> Result<(), String> {
        for (ours, theirs) in profile.columns {
            let ours = our_column(ours).ok_or_else(|| format!("profile column {ours:?}"))?;
            self.columns.push((theirs.to_lowercase(), ours));
        }
        for (theirs, ours) in profile.status {
            self.add_status(theirs, ours)?;
        }
        Ok(())
    }

    fn add_status(&mut self, theirs: &str, ours: &str) -> Result<(), String> {
        let word = STATUS_WORDS
            .iter()
            .find(|w| w.eq_ignore_ascii_case(ours.trim()))
            .ok_or_else(|| {
                format!("[status] {theirs:?} = {ours:?}: the value must be active, blocked or lost")
            })?;
        self.status.insert(theirs.trim().to_lowercase(), word);
        Ok(())
    }

    /// Our columns read from their column `name` (lowercased); empty when it is not mapped.
    pub(super) fn ours_for(&self, name: &str) -> Vec<&'static str> {
        self.columns
            .iter()
            .filter(|(theirs, _)| theirs == name)
            .map(|(_, ours)| *ours)
            .collect()
    }

    /// Their column that feeds `ours`, for messages about a missing column.
    pub(super) fn theirs_for(&self, ours: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(_, o)| *o == ours)
            .map(|(theirs, _)| theirs.as_str())
    }

    /// Our status word for their value, when the mapping gives one.
    pub(super) fn status_of(&self, value: &str) -> Option<&'static str> {
        self.status.get(&value.trim().to_lowercase()).copied()
    }
}

fn our_column(name: &str) -> Option<&'static str> {
    let name = name.trim().to_ascii_lowercase();
    COLUMNS.iter().find(|c| c.name == name).map(|c| c.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::import::profile::PROFILES;

    #[test]
    fn every_profile_maps_our_required_columns_with_valid_status_words() {
        for profile in PROFILES {
            let mapping = Mapping::of_profile(profile.name).expect("profile maps");
            for required in COLUMNS.iter().filter(|c| c.required) {
                assert!(
                    mapping.theirs_for(required.name).is_some(),
                    "{} lacks {}",
                    profile.name,
                    required.name
                );
            }
        }
    }

    #[test]
    fn a_map_file_overrides_its_profile_and_checks_its_names() {
        let text = "profile = \"koha\"\n[columns]\ncard = \"Barcode\"\n[status]\nS = \"blocked\"\n";
        let mapping = Mapping::from_toml(text, "m.toml", None).expect("valid");
        assert_eq!(mapping.ours_for("barcode"), vec!["card"]);
        assert!(mapping.ours_for("cardnumber").is_empty());
        assert_eq!(mapping.status_of(" s "), Some("blocked"));
        assert_eq!(mapping.status_of("1"), Some("lost"));
        let bad = Mapping::from_toml("[columns]\nsurname = \"x\"\n", "m.toml", None);
        assert!(bad.unwrap_err().contains("not one of our columns"));
        let bad = Mapping::from_toml("[status]\nX = \"frozen\"\n", "m.toml", None);
        assert!(bad.unwrap_err().contains("active, blocked or lost"));
        assert!(Mapping::from_toml("colums = 1\n", "m.toml", None).is_err());
    }
}
