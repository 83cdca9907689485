//! Why a configuration was refused.

use std::fmt;
use std::path::PathBuf;

/// A configuration error; each names the key, variable or file at fault and what to write.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}: check the path given with --config or HERALD_CONFIG", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid TOML in {origin}: {message}: fix the syntax")]
    Parse { origin: String, message: String },
    #[error("unknown config key {key:?} in {origin}{suggestion}")]
    UnknownKey {
        key: String,
        origin: String,
        suggestion: Suggestion,
    },
    #[error("unknown environment variable {var}{suggestion}")]
    UnknownEnv { var: String, suggestion: Suggestion },
    #[error("config key {key}: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    /// The dotted key (or variable) the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key, .. } | Self::Invalid { key, .. } => Some(key),
            Self::UnknownEnv { var, .. } => Some(var),
            Self::Read { .. } | Self::Parse { .. } => None,
        }
    }
}

/// The closest known name to a misspelt one, shown as " (did you mean X?)".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Suggestion(pub Option<String>);

impl fmt::Display for Suggestion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(name) => write!(f, " (did you mean {name}?)"),
            None => {
                f.write_str(": remove it, or check the spelling against the documented settings")
            }
        }
    }
}
