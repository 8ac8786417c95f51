//! A level paired with a version, printed `<level>:<version>` as PSA does in messages.

use std::fmt;
use std::str::FromStr;

use crate::level::{InvalidLevel, Level};
use crate::version::{InvalidVersion, Version};

/// A level and the version it is evaluated at, e.g. `baseline:latest`. The version is kept
/// as configured: `v1.99` prints as `v1.99` even though it is evaluated as the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LevelVersion {
    pub level: Level,
    pub version: Version,
}

/// A `level:version` string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidLevelVersion {
    #[error("expected <level>:<version>, e.g. baseline:latest, got {0:?}")]
    Shape(String),
    #[error("invalid level {value:?}: {source}", value = .0.value, source = .0)]
    Level(#[from] InvalidLevel),
    #[error("invalid version {value:?}: {source}", value = .0.value, source = .0)]
    Version(#[from] InvalidVersion),
}

impl LevelVersion {
    pub const fn new(level: Level, version: Version) -> Self {
        LevelVersion { level, version }
    }

    pub const PRIVILEGED_LATEST: LevelVersion =
        LevelVersion::new(Level::Privileged, Version::Latest);

    /// Upstream `Equivalent`: both privileged (versions ignored), or equal.
    pub fn is_equivalent(&self, other: &LevelVersion) -> bool {
        (self.level == Level::Privileged && other.level == Level::Privileged) || self == other
    }
}

impl FromStr for LevelVersion {
    type Err = InvalidLevelVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (level, version) = s
            .split_once(':')
            .ok_or_else(|| InvalidLevelVersion::Shape(s.to_owned()))?;
        Ok(LevelVersion {
            level: level.parse::<Level>()?,
            version: version.parse::<Version>()?,
        })
    }
}

impl fmt::Display for LevelVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_configured_version() {
        let lv: LevelVersion = "baseline:v1.99".parse().unwrap();
        assert_eq!(lv.to_string(), "baseline:v1.99");
        assert!("baseline".parse::<LevelVersion>().is_err());
        assert!("Baseline:latest".parse::<LevelVersion>().is_err());
        assert!("baseline:v1.01".parse::<LevelVersion>().is_err());
    }

    #[test]
    fn equivalence_ignores_privileged_versions() {
        let a: LevelVersion = "privileged:v1.2".parse().unwrap();
        let b: LevelVersion = "privileged:latest".parse().unwrap();
        assert!(a.is_equivalent(&b));
        let c: LevelVersion = "baseline:latest".parse().unwrap();
        let d: LevelVersion = "baseline:v1.37".parse().unwrap();
        assert!(!c.is_equivalent(&d));
    }
}
