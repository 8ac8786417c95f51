//! Pod Security policy versions: `latest` or `v1.<minor>`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The error text upstream PSA gives for a version that does not parse.
pub const VERSION_PARSE_ERROR: &str = "must be \"latest\" or \"v1.x\"";

/// The newest policy version any check defines (upstream `maxVersion`).
pub const NEWEST_MINOR: u32 = 37;

/// A policy version. `Latest` is newer than every concrete version, future ones included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    Latest,
    /// `v1.<minor>`. The minor fits a Go `int` (64-bit), as upstream requires.
    V1(u64),
}

/// A version string that is not `latest` or `v1.<minor>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{VERSION_PARSE_ERROR}")]
pub struct InvalidVersion {
    /// The rejected input, as given.
    pub value: String,
}

impl Version {
    /// The newest version known to this evaluator, as a concrete version.
    pub const NEWEST: Version = Version::V1(NEWEST_MINOR as u64);

    /// The minor at which checks are evaluated: the requested one clamped to
    /// `max_minor` (`latest` and future versions evaluate as the newest).
    pub fn evaluated_minor(self, max_minor: u32) -> u32 {
        match self {
            Version::Latest => max_minor,
            Version::V1(minor) => minor.min(u64::from(max_minor)) as u32,
        }
    }
}

impl FromStr for Version {
    type Err = InvalidVersion;

    /// Accepts exactly `latest` or `^v1\.(0|[1-9][0-9]*)$` with a minor that fits `i64`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidVersion {
            value: s.to_owned(),
        };
        if s == "latest" {
            return Ok(Version::Latest);
        }
        let minor = s.strip_prefix("v1.").ok_or_else(invalid)?;
        let canonical = minor == "0" || (!minor.starts_with('0') && !minor.is_empty());
        if !canonical || !minor.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let minor: i64 = minor.parse().map_err(|_| invalid())?;
        Ok(Version::V1(minor as u64))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::V1(minor) => write!(f, "v1.{minor}"),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Latest, Version::Latest) => Ordering::Equal,
            (Version::Latest, _) => Ordering::Greater,
            (_, Version::Latest) => Ordering::Less,
            (Version::V1(a), Version::V1(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("latest", Version::Latest)]
    #[case("v1.0", Version::V1(0))]
    #[case("v1.22", Version::V1(22))]
    #[case("v1.10000", Version::V1(10000))]
    #[case("v1.9223372036854775807", Version::V1(i64::MAX as u64))]
    fn parses(#[case] input: &str, #[case] want: Version) {
        assert_eq!(input.parse::<Version>(), Ok(want));
        assert_eq!(want.to_string(), input);
    }

    #[rstest]
    #[case("v1.01")]
    #[case("v1.00")]
    #[case("V1.2")]
    #[case("v2.0")]
    #[case("v1")]
    #[case("v1.")]
    #[case("1.1")]
    #[case("v1.2.3")]
    #[case("")]
    #[case("Latest")]
    #[case(" latest")]
    #[case("v1.+2")]
    #[case("v1.9223372036854775808")]
    fn rejects_with_upstream_text(#[case] input: &str) {
        let err = input.parse::<Version>().unwrap_err();
        assert_eq!(err.to_string(), "must be \"latest\" or \"v1.x\"");
    }

    #[test]
    fn latest_is_newest_and_future_versions_clamp() {
        assert!(Version::Latest > Version::V1(u64::MAX));
        assert_eq!(Version::V1(99).evaluated_minor(NEWEST_MINOR), 37);
        assert_eq!(Version::Latest.evaluated_minor(33), 33);
        assert_eq!(Version::V1(20).evaluated_minor(NEWEST_MINOR), 20);
    }
}
