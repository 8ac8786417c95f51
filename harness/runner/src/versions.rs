//! Version ranges: which policy versions a case runs at.
//!
//! Syntax (see docs/cases.md): `all`, `latest`, a single version `v1.19`, a comparison
//! `>=v1.19` / `>v1.19` / `<v1.19` / `<=v1.19`, an inclusive range `v1.19..v1.26` (or an
//! open one `v1.19..`), or a list of those (their union). Ranges whose upper end is open
//! include `latest`. Only versions this evaluator knows (`v1.0` to `v1.37`, `latest`) exist.

use pss::Version;
use pss::version::NEWEST_MINOR;

/// Every version a case can run at, oldest first, `latest` last.
pub fn known_versions() -> Vec<Version> {
    (0..=u64::from(NEWEST_MINOR))
        .map(Version::V1)
        .chain([Version::Latest])
        .collect()
}

/// The default range of a control that starts at `first_minor`: from there to the newest
/// version, plus `latest`.
pub fn from_minor(first_minor: u32) -> Vec<Version> {
    known_versions()
        .into_iter()
        .filter(|v| *v >= Version::V1(u64::from(first_minor)))
        .collect()
}

/// A version expression that does not parse or selects nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RangeError(pub String);

/// Parse one expression into the versions it selects (sorted, deduplicated).
pub fn parse_expr(expr: &str) -> Result<Vec<Version>, RangeError> {
    let expr = expr.trim();
    let (lo, hi) = bounds(expr)?;
    if lo > hi {
        return Err(RangeError(format!(
            "bad range {expr:?}: {lo} is newer than {hi}"
        )));
    }
    Ok(known_versions()
        .into_iter()
        .filter(|v| *v >= lo && *v <= hi)
        .collect())
}

/// The union of several expressions, sorted.
pub fn parse_union<'a>(
    exprs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Version>, RangeError> {
    let mut out = Vec::new();
    for e in exprs {
        out.extend(parse_expr(e)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The inclusive bounds of an expression.
fn bounds(expr: &str) -> Result<(Version, Version), RangeError> {
    let first = Version::V1(0);
    let last = Version::Latest;
    let newest = Version::NEWEST;
    if expr == "all" {
        return Ok((first, last));
    }
    if let Some(v) = expr.strip_prefix(">=") {
        return Ok((version(v)?, last));
    }
    if let Some(v) = expr.strip_prefix("<=") {
        return Ok((first, version(v)?));
    }
    if let Some(v) = expr.strip_prefix('>') {
        let v = version(v)?;
        return Ok((next(v).ok_or_else(|| empty(expr))?, last));
    }
    if let Some(v) = expr.strip_prefix('<') {
        let v = version(v)?;
        return Ok((first, prev(v, newest).ok_or_else(|| empty(expr))?));
    }
    if let Some((a, b)) = expr.split_once("..") {
        let hi = if b.trim().is_empty() {
            last
        } else {
            version(b)?
        };
        return Ok((version(a)?, hi));
    }
    let v = version(expr)?;
    Ok((v, v))
}

fn empty(expr: &str) -> RangeError {
    RangeError(format!("version range {expr:?} selects no version"))
}

/// A known version: `latest` or `v1.0` to `v1.37`.
fn version(s: &str) -> Result<Version, RangeError> {
    let s = s.trim();
    let v: Version = s.parse().map_err(|_| {
        RangeError(format!(
            "invalid version {s:?}: expected latest, v1.N, or a range such as \
             >=v1.19, <v1.19, v1.19..v1.26, all"
        ))
    })?;
    if v > Version::NEWEST && v != Version::Latest {
        return Err(RangeError(format!(
            "version {v} is out of range: the newest known version is {}",
            Version::NEWEST
        )));
    }
    Ok(v)
}

fn next(v: Version) -> Option<Version> {
    match v {
        Version::V1(m) if m < u64::from(NEWEST_MINOR) => Some(Version::V1(m + 1)),
        Version::V1(_) => Some(Version::Latest),
        Version::Latest => None,
    }
}

fn prev(v: Version, newest: Version) -> Option<Version> {
    match v {
        Version::Latest => Some(newest),
        Version::V1(0) => None,
        Version::V1(m) => Some(Version::V1(m - 1)),
    }
}

/// A short label for a set of versions: contiguous runs of known versions as `first..last`,
/// joined with `, ` (`v1.5`, `v1.0..latest`, `v1.0, v1.25, latest`).
pub fn label(vs: &[Version]) -> String {
    runs(vs).join(", ")
}

/// The contiguous runs of `vs` (sorted) as labels.
pub fn runs(vs: &[Version]) -> Vec<String> {
    let known = known_versions();
    let index = |v: &Version| known.iter().position(|k| k == v);
    let mut out = Vec::new();
    let mut run: Vec<Version> = Vec::new();
    for v in vs {
        let adjacent = run
            .last()
            .is_some_and(|last| index(last).map(|i| i + 1) == index(v));
        if !adjacent && !run.is_empty() {
            out.push(run_label(&run));
            run.clear();
        }
        run.push(*v);
    }
    if !run.is_empty() {
        out.push(run_label(&run));
    }
    out
}

fn run_label(run: &[Version]) -> String {
    match run {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}..{last}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn names(vs: &[Version]) -> Vec<String> {
        vs.iter().map(Version::to_string).collect()
    }

    #[rstest]
    #[case("all", 39, "v1.0", "latest")]
    #[case("latest", 1, "latest", "latest")]
    #[case("v1.19", 1, "v1.19", "v1.19")]
    #[case(">=v1.19", 20, "v1.19", "latest")]
    #[case(">v1.36", 2, "v1.37", "latest")]
    #[case("<v1.19", 19, "v1.0", "v1.18")]
    #[case("<=v1.1", 2, "v1.0", "v1.1")]
    #[case("v1.19..v1.26", 8, "v1.19", "v1.26")]
    #[case("v1.35..", 4, "v1.35", "latest")]
    #[case("<latest", 38, "v1.0", "v1.37")]
    fn ranges(#[case] expr: &str, #[case] n: usize, #[case] first: &str, #[case] last: &str) {
        let vs = names(&parse_expr(expr).unwrap());
        assert_eq!(vs.len(), n, "{expr}: {vs:?}");
        assert_eq!((vs[0].as_str(), vs[n - 1].as_str()), (first, last));
    }

    #[rstest]
    #[case(
        "v1.38",
        "version v1.38 is out of range: the newest known version is v1.37"
    )]
    #[case(
        "v1.26..v1.19",
        "bad range \"v1.26..v1.19\": v1.26 is newer than v1.19"
    )]
    #[case("<v1.0", "version range \"<v1.0\" selects no version")]
    #[case(">latest", "version range \">latest\" selects no version")]
    #[case(
        "1.19",
        "invalid version \"1.19\": expected latest, v1.N, or a range such as \
         >=v1.19, <v1.19, v1.19..v1.26, all"
    )]
    fn errors(#[case] expr: &str, #[case] msg: &str) {
        assert_eq!(parse_expr(expr).unwrap_err().to_string(), msg);
    }

    #[test]
    fn unions_sort_and_dedupe() {
        let vs = parse_union(["latest", "v1.0", "v1.18", "v1.0"]).unwrap();
        assert_eq!(names(&vs), ["v1.0", "v1.18", "latest"]);
    }

    #[test]
    fn defaults_and_labels() {
        let vs = from_minor(34);
        assert_eq!(names(&vs), ["v1.34", "v1.35", "v1.36", "v1.37", "latest"]);
        assert_eq!(label(&vs), "v1.34..latest");
        assert_eq!(label(&vs[..1]), "v1.34");
        let gappy = parse_union(["v1.0", "v1.1", "v1.25", "latest"]).unwrap();
        assert_eq!(label(&gappy), "v1.0..v1.1, v1.25, latest");
        assert_eq!(known_versions().len(), 39);
    }
}
