//! Kyverno's wildcard matching (`ext/wildcard`): `*` matches any run of bytes (also the
//! empty one), `?` exactly one byte; every other byte matches itself. Used for images,
//! names, namespaces, annotations, exclusion values and failure-action overrides.

/// Whether `pattern` matches the whole of `text`.
pub fn matches(pattern: &str, text: &str) -> bool {
    if pattern.is_empty() {
        return text.is_empty();
    }
    if pattern == "*" || pattern == text {
        return true;
    }
    match_bytes(pattern.as_bytes(), text.as_bytes())
}

/// Whether any of `patterns` matches `text` (Kyverno's `CheckPatterns`).
pub fn any_matches<S: AsRef<str>>(patterns: &[S], text: &str) -> bool {
    patterns.iter().any(|p| matches(p.as_ref(), text))
}

/// Whether `text` contains a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// The linear matcher with backtracking to the last `*`, as Kyverno writes it.
fn match_bytes(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<usize> = None;
    let mut star_text = 0;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some(p);
                star_text = t;
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some(s) => {
                    p = s + 1;
                    star_text += 1;
                    t = star_text;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("*", "", true)]
    #[case("", "", true)]
    #[case("", "a", false)]
    #[case("nginx", "nginx", true)]
    #[case("nginx", "nginx:1", false)]
    #[case("nginx*", "nginx:1.25", true)]
    #[case("*nginx*", "docker.io/nginx:1", true)]
    #[case("ngin?", "nginx", true)]
    #[case("ngin?", "ngin", false)]
    #[case("my-bucket/mnop*?and", "my-bucket/mnopand", false)]
    #[case("my-bucket/mnop*?and", "my-bucket/mnopqand", true)]
    #[case("nginx:1.2", "nginx:1x2", false)]
    #[case("a*b*c", "aXXbYYc", true)]
    #[case("a*b*c", "aXXbYY", false)]
    fn matches_like_kyverno(#[case] pattern: &str, #[case] text: &str, #[case] want: bool) {
        assert_eq!(matches(pattern, text), want, "{pattern} vs {text}");
    }

    #[test]
    fn any_of_several_patterns() {
        assert!(any_matches(&["busybox", "nginx*"], "nginx:latest"));
        assert!(!any_matches::<&str>(&[], "nginx"));
        assert!(has_wildcard("a*") && has_wildcard("a?") && !has_wildcard("a"));
    }
}
