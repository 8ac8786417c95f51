//! The string helpers upstream PSA builds every message with. Each reproduces a Go helper
//! exactly, because messages are compared byte for byte.

use std::fmt::Write as _;

/// `pluralize`: the singular when `n == 1`, otherwise (zero included) the plural.
pub fn noun(n: usize, singular: &'static str, plural: &'static str) -> &'static str {
    if n == 1 { singular } else { plural }
}

/// `joinQuote`: each item wrapped in `"` (no escaping), joined by `", "`; empty for no items.
pub fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    push_join_quote(&mut out, items);
    out
}

/// [`join_quote`] appended to an existing buffer.
pub fn push_join_quote<S: AsRef<str>>(out: &mut String, items: &[S]) {
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i == 0 { "\"" } else { ", \"" });
        out.push_str(item.as_ref());
        out.push('"');
    }
}

/// Upstream's "bad setters" detail: `pod`, then `container "a"` / `containers "a", "b"`,
/// joined with ` and `, then `tail` (what they must not set). Built in one allocation,
/// because details are on the hot path of every denied pod.
pub fn setters(pod: bool, containers: &[&str], tail: &str) -> String {
    let mut out = String::with_capacity(capacity(containers, tail));
    if pod {
        out.push_str("pod");
    }
    if !containers.is_empty() {
        if pod {
            out.push_str(" and ");
        }
        push_containers(&mut out, containers);
    }
    out.push_str(tail);
    out
}

/// The implicit-offender detail: `pod or container "a" <tail>` (or `containers "a", "b"`).
pub fn pod_or(containers: &[&str], tail: &str) -> String {
    let mut out = String::with_capacity(capacity(containers, tail));
    out.push_str("pod or ");
    push_containers(&mut out, containers);
    out.push_str(tail);
    out
}

/// Appends `container "a"` or `containers "a", "b"`: upstream's pluralised, quoted names.
pub fn push_containers(out: &mut String, names: &[&str]) {
    out.push_str(noun(names.len(), "container", "containers"));
    out.push(' ');
    push_join_quote(out, names);
}

/// Room for the quoted `names`, `tail` and up to 64 bytes of other text (a sorted value
/// list, say), so that a detail takes one allocation.
pub fn capacity(names: &[&str], tail: &str) -> usize {
    names.iter().map(|n| n.len() + 4).sum::<usize>() + tail.len() + 64
}

/// Deduplicate and sort byte-wise (Go `sort.Strings` order).
pub fn sorted_unique<S: AsRef<str> + Ord>(mut items: Vec<S>) -> Vec<S> {
    items.sort_unstable();
    items.dedup_by(|a, b| a.as_ref() == b.as_ref());
    items
}

/// Go's `%q` for a string (`strconv.Quote`): escapes `"`, `\` and non-printable runes with
/// Go's escape forms; printable non-ASCII is kept. Rust strings are valid UTF-8, so the
/// `\xNN` form for invalid bytes cannot arise here.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    // Fast path: names and policies are almost always plain printable ASCII.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(s);
        out.push('"');
        return out;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0B}' => out.push_str("\\v"),
            c if go_is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space. Rust's standard library has no Unicode category tables,
/// so non-ASCII is judged by the ranges Go treats as non-printable that matter in
/// practice: C0/C1 controls, soft hyphen, format and separator characters, surrogates
/// and private use, noncharacters.
fn go_is_printable(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !(matches!(u,
        0x80..=0xa0            // C1 controls and no-break space (Zs)
        | 0xad                 // soft hyphen (Cf)
        | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e
        | 0x1680               // ogham space mark (Zs)
        | 0x2000..=0x200f      // spaces and zero-width format characters
        | 0x2028..=0x202f      // separators and bidi controls, narrow no-break space
        | 0x205f..=0x206f      // medium math space, invisible operators, bidi isolates
        | 0x3000               // ideographic space
        | 0xd800..=0xf8ff      // surrogates and private use
        | 0xfdd0..=0xfdef
        | 0xfeff               // byte order mark
        | 0xfff9..=0xfffb
        | 0xe0000..=0xe007f    // tags
        | 0xf0000..=0x10ffff   // supplementary private use
    ) || (u & 0xfffe) == 0xfffe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn noun_is_plural_for_zero_and_many() {
        assert_eq!(noun(0, "container", "containers"), "containers");
        assert_eq!(noun(1, "container", "containers"), "container");
        assert_eq!(noun(2, "container", "containers"), "containers");
    }

    #[test]
    fn join_quote_does_not_escape() {
        assert_eq!(join_quote::<&str>(&[]), "");
        assert_eq!(join_quote(&["a"]), "\"a\"");
        assert_eq!(join_quote(&["a", "b\"c"]), "\"a\", \"b\"c\"");
    }

    #[test]
    fn sorted_unique_sorts_numbers_as_strings() {
        assert_eq!(
            sorted_unique(vec!["80", "443", "10000", "80"]),
            vec!["10000", "443", "80"]
        );
    }

    #[rstest]
    #[case("unconfined", "\"unconfined\"")]
    #[case("a\"b\\c", "\"a\\\"b\\\\c\"")]
    #[case("tab\tnl\n", "\"tab\\tnl\\n\"")]
    #[case("\u{0}", "\"\\x00\"")]
    #[case("\u{7f}", "\"\\x7f\"")]
    #[case("\u{ad}", "\"\\u00ad\"")]
    #[case("héllo ✓", "\"héllo ✓\"")]
    #[case("\u{feff}", "\"\\ufeff\"")]
    #[case("\u{f0000}", "\"\\U000f0000\"")]
    fn go_quote_matches_strconv_quote(#[case] input: &str, #[case] want: &str) {
        assert_eq!(go_quote(input), want);
    }
}
