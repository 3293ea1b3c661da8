//! [`Secret`]: a configuration string that never leaves the process in clear.
//!
//! It deserializes from a plain YAML string. It serializes as [`REDACTED`] (or `""` when
//! unset) and its `Debug` shows the same, so `strata config dump`, logs and panics never
//! print a credential. Code that needs the value calls [`Secret::expose`].
//!
//! Invariant: a dumped config loads again, but a redacted secret then holds the literal
//! [`REDACTED`]; [`Secret::is_redacted`] lets validation refuse that.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a set secret shows as in dumps and `Debug` output.
pub const REDACTED: &str = "<redacted>";

/// A credential from the config (S3 secret key, Azure account key, …).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the one place that hands it to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the value is the placeholder a dump wrote, not a real credential.
    pub fn is_redacted(&self) -> bool {
        self.0 == REDACTED
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() {
            ""
        } else {
            REDACTED
        }
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_secret_is_hidden_in_yaml_and_debug() {
        let secret = Secret::from("hunter2");
        assert_eq!(secret.expose(), "hunter2");
        let yaml = serde_yaml_ng::to_string(&secret).unwrap();
        assert!(!yaml.contains("hunter2"), "{yaml}");
        assert!(yaml.contains(REDACTED), "{yaml}");
        let debug = format!("{secret:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn unset_secret_dumps_empty_and_round_trips() {
        let secret = Secret::default();
        let yaml = serde_yaml_ng::to_string(&secret).unwrap();
        let back: Secret = serde_yaml_ng::from_str(&yaml).unwrap();
        assert!(back.is_empty());
        let redacted: Secret =
            serde_yaml_ng::from_str(&serde_yaml_ng::to_string(&Secret::from("k")).unwrap())
                .unwrap();
        assert!(redacted.is_redacted());
    }
}
