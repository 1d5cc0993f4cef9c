//! Validation problems, each tied to the key path that caused it.

use std::fmt;

/// One problem: the dotted key path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub key: String,
    pub message: String,
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// A writer that prefixes keys with `section.`.
    pub(crate) fn at(&mut self, section: &str) -> Section<'_> {
        Section {
            prefix: section.to_string(),
            problems: self,
        }
    }

    /// Records a problem at a full key path.
    pub(crate) fn push_at(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Appends every problem of `other`.
    pub(crate) fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in &self.0 {
            writeln!(f, "  {}: {}", problem.key, problem.message)?;
        }
        Ok(())
    }
}

/// Problems under one key prefix.
pub(crate) struct Section<'a> {
    prefix: String,
    problems: &'a mut Problems,
}

impl Section<'_> {
    /// Records a problem at `prefix.key`.
    pub(crate) fn push(&mut self, key: &str, message: impl Into<String>) {
        self.problems.0.push(Problem {
            key: format!("{}.{}", self.prefix, key),
            message: message.into(),
        });
    }

    /// A nested section (`prefix.name`).
    pub(crate) fn at(&mut self, name: &str) -> Section<'_> {
        Section {
            prefix: format!("{}.{}", self.prefix, name),
            problems: self.problems,
        }
    }
}
