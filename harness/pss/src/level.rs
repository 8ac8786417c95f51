//! Pod Security levels: `privileged < baseline < restricted`.

use std::fmt;
use std::str::FromStr;

/// The error text upstream PSA gives for a level that does not parse.
pub const LEVEL_PARSE_ERROR: &str = "must be one of privileged, baseline, restricted";

/// A Pod Security Standards level. The derived order is the strictness order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

/// A level string that is not exactly `privileged`, `baseline` or `restricted`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{LEVEL_PARSE_ERROR}")]
pub struct InvalidLevel {
    /// The rejected input, as given.
    pub value: String,
}

impl Level {
    /// All levels, least strict first.
    pub const ALL: [Level; 3] = [Level::Privileged, Level::Baseline, Level::Restricted];

    /// The level upstream falls back to for an unparsable `enforce` label (fail closed).
    pub const ENFORCE_FALLBACK: Level = Level::Restricted;

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

impl FromStr for Level {
    type Err = InvalidLevel;

    /// Case-sensitive and exact, as upstream: `Baseline` and ` baseline` are errors.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(Level::Privileged),
            "baseline" => Ok(Level::Baseline),
            "restricted" => Ok(Level::Restricted),
            _ => Err(InvalidLevel {
                value: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("privileged", Level::Privileged)]
    #[case("baseline", Level::Baseline)]
    #[case("restricted", Level::Restricted)]
    fn parses_exact_names(#[case] input: &str, #[case] want: Level) {
        assert_eq!(input.parse::<Level>(), Ok(want));
        assert_eq!(want.to_string(), input);
    }

    #[rstest]
    #[case("Baseline")]
    #[case("")]
    #[case(" baseline")]
    #[case("foo")]
    fn rejects_others_with_upstream_text(#[case] input: &str) {
        let err = input.parse::<Level>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "must be one of privileged, baseline, restricted"
        );
    }

    #[test]
    fn strictness_order() {
        assert!(Level::Privileged < Level::Baseline && Level::Baseline < Level::Restricted);
    }
}
