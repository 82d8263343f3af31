//! Reading and validating single values; every failure names its key.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use super::keys;

/// A configuration error: the key and what is wrong with it, printed as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { key: key.into(), problem: problem.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}: {}", self.key, self.problem)
    }
}

impl std::error::Error for ConfigError {}

pub(super) struct Source<'a> {
    vars: &'a HashMap<String, String>,
}

impl<'a> Source<'a> {
    pub fn new(vars: &'a HashMap<String, String>) -> Self {
        Self { vars }
    }

    /// The trimmed value, or the registry default when unset. Reading a key that is not in
    /// the registry is a programming error: it would be missing from `.env.example`.
    pub fn raw(&self, key: &str) -> String {
        let spec = keys::spec(key);
        debug_assert!(spec.is_some(), "config key {key} is not in config::keys::KEYS");
        match self.vars.get(key) {
            Some(v) => v.trim().to_string(),
            None => spec.map(|s| s.default.to_string()).unwrap_or_default(),
        }
    }

    pub fn opt(&self, key: &str) -> Option<String> {
        Some(self.raw(key)).filter(|v| !v.is_empty())
    }

    pub fn non_empty(&self, key: &str) -> Result<String, ConfigError> {
        self.opt(key).ok_or_else(|| ConfigError::new(key, "must not be empty"))
    }

    pub fn parse<T: FromStr>(&self, key: &str, expected: &str) -> Result<T, ConfigError> {
        let raw = self.raw(key);
        raw.parse().map_err(|_| ConfigError::new(key, format!("expected {expected}, got {raw:?}")))
    }

    /// An integer within `[min, max]`.
    pub fn range(&self, key: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
        let expected = format!("an integer from {min} to {max}");
        let n: u64 = self.parse(key, &expected)?;
        if n < min || n > max {
            return Err(ConfigError::new(key, format!("expected {expected}, got {n}")));
        }
        Ok(n)
    }

    pub fn bool(&self, key: &str) -> Result<bool, ConfigError> {
        match self.raw(key).to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            other => Err(ConfigError::new(key, format!("expected true or false, got {other:?}"))),
        }
    }
}
