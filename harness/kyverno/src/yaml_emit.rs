//! The YAML Kyverno prints in denials: a two-level mapping `{policy: {rule: message}}`,
//! emitted as go-yaml does (keys sorted with go-yaml's natural order, scalar style chosen
//! by its analysis, 2-space indentation). yaml.v2 (Kyverno <= v1.18) folds plain, single-
//! and double-quoted scalars past column 80; yaml v3 (v1.19+) is set to never fold.
//!
//! This is a port of the parts of go-yaml's emitter that such a document reaches, state
//! variables included, because folding depends on the exact column bookkeeping.

use std::cmp::Ordering;

/// go-yaml's default best width.
const BEST_WIDTH: usize = 80;
const BEST_INDENT: isize = 2;

/// Emit `entries` (sorted here) as a YAML document.
pub fn marshal(entries: &[(String, Vec<(String, String)>)], fold: bool) -> String {
    let mut sorted: Vec<(&str, Vec<(&str, &str)>)> = entries
        .iter()
        .map(|(k, rules)| {
            let mut rules: Vec<(&str, &str)> = rules
                .iter()
                .map(|(r, m)| (r.as_str(), m.as_str()))
                .collect();
            rules.sort_by(|a, b| key_cmp(a.0, b.0));
            (k.as_str(), rules)
        })
        .collect();
    sorted.sort_by(|a, b| key_cmp(a.0, b.0));
    let mut e = Emitter::new(fold);
    e.block_mapping(&sorted, |e, rules| {
        e.block_mapping(rules, |e, message| e.scalar(message, false))
    });
    e.document_end();
    e.out
}

/// go-yaml's `keyList.Less` for string keys: letters compare by code point, a non-letter
/// sorts before a letter, and digit runs compare as numbers.
pub fn key_cmp(a: &str, b: &str) -> Ordering {
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn key_less(a: &str, b: &str) -> bool {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let digits = |s: &[char], mut n: i64| {
            let mut k = i;
            while k < s.len() && s[k].is_ascii_digit() {
                n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(s[k] as u8 - b'0'));
                k += 1;
            }
            (n, k)
        };
        let (an, ai) = digits(&ar, an);
        let (bn, bi) = digits(&br, bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// The facts `yaml_emitter_analyze_scalar` derives from a scalar.
#[derive(Debug, Clone, Copy)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `is_printable` in code points (4-byte UTF-8 is not printable there).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let last = i + 1 == chars.len();
        let followed_by_whitespace = chars
            .get(i + 1)
            .is_none_or(|&n| n == ' ' || n == '\t' || is_break(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= last;
            break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= last;
            space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// The encoder's request (`stringv`) refined by the emitter (`select_scalar_style`).
fn choose_style(value: &str, simple_key: bool) -> Style {
    let mut style = if value.contains('\n') {
        Style::Literal
    } else if resolves_to_string(value) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    let a = analyze(value);
    if simple_key && a.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !a.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// Whether a plain scalar would read back as a string (go-yaml's `resolve`), and is not a
/// base-60 float or YAML 1.1 boolean either.
fn resolves_to_string(s: &str) -> bool {
    const SPECIAL: [&str; 33] = [
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N",
        "no", "No", "NO", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False", "FALSE",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
    ];
    if SPECIAL.contains(&s) || s == "<<" || is_signed_inf(s) || is_base60_float(s) {
        return false;
    }
    match s.as_bytes().first() {
        Some(b'.') => s.parse::<f64>().is_err(),
        Some(b'+' | b'-' | b'0'..=b'9') => {
            !(is_timestamp(s) || is_int(&s.replace('_', "")) || is_float(&s.replace('_', "")))
        }
        _ => true,
    }
}

fn is_signed_inf(s: &str) -> bool {
    matches!(s, "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF")
}

fn all_digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint` acceptance (range aside: out-of-range
/// decimals still resolve as floats).
fn is_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return all_digits(hex, 16);
    }
    if let Some(oct) = lower.strip_prefix("0o") {
        return all_digits(oct, 8);
    }
    if let Some(bin) = lower.strip_prefix("0b") {
        return all_digits(bin, 2);
    }
    if body.len() > 1 && body.starts_with('0') {
        return all_digits(body, 8);
    }
    all_digits(body, 10)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => all_digits(frac, 10),
        Some((int, frac)) => all_digits(int, 10) && (frac.is_empty() || all_digits(frac, 10)),
        None => all_digits(mantissa, 10),
    };
    let exponent_ok =
        exponent.is_none_or(|e| all_digits(e.strip_prefix(['+', '-']).unwrap_or(e), 10));
    mantissa_ok && exponent_ok
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.chars().all(|c| c.is_ascii_digit() || c == '_');
    let sexagesimal: Vec<&str> = parts.collect();
    let tail_ok = !sexagesimal.is_empty()
        && sexagesimal.iter().all(|p| match p.as_bytes() {
            [d] => d.is_ascii_digit(),
            [a, d] => (b'0'..=b'5').contains(a) && d.is_ascii_digit(),
            _ => false,
        });
    let frac_ok = frac.is_none_or(|f| f.chars().all(|c| c.is_ascii_digit() || c == '_'));
    head_ok && tail_ok && frac_ok
}

/// go-yaml's timestamp forms: `YYYY-M-D`, optionally followed by `T`, `t` or a space and a
/// time `H:M:S` with optional fraction and zone.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let date_ok = date.split('-').count() == 3
        && date
            .split('-')
            .skip(1)
            .all(|p| (1..=2).contains(&p.len()) && all_digits(p, 10));
    let time_ok = time.is_none_or(|t| {
        let core = t.trim_end_matches('Z');
        let core = core.split(['+', '-']).next().unwrap_or("");
        let core = core.split('.').next().unwrap_or("");
        core.split(':').count() == 3
            && core
                .split(':')
                .all(|p| (1..=2).contains(&p.len()) && all_digits(p, 10))
    });
    date_ok && time_ok
}

/// The emitter state go-yaml keeps while writing.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    indent: isize,
    best_width: usize,
}

impl Emitter {
    fn new(fold: bool) -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
            indent: -1,
            best_width: if fold { BEST_WIDTH } else { usize::MAX },
        }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in indicator.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// `increase_indent(flow, indentless=false)`.
    fn increase_indent(&mut self, flow: bool) {
        self.indent = if self.indent < 0 {
            if flow { BEST_INDENT } else { 0 }
        } else {
            self.indent + BEST_INDENT
        };
    }

    /// A block mapping of string keys; keys longer than 128 bytes are complex (`? key`).
    fn block_mapping<V>(&mut self, entries: &[(&str, V)], mut value: impl FnMut(&mut Self, &V)) {
        let saved = self.indent;
        self.increase_indent(false);
        for (key, v) in entries {
            self.write_indent();
            if key.len() <= 128 && !analyze(key).multiline {
                self.scalar(key, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.scalar(key, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            value(self, v);
        }
        self.indent = saved;
    }

    fn scalar(&mut self, value: &str, simple_key: bool) {
        let style = choose_style(value, simple_key);
        let saved = self.indent;
        self.increase_indent(true);
        let allow_breaks = !simple_key;
        match style {
            Style::Plain => self.plain(value, allow_breaks),
            Style::SingleQuoted => self.single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(value, allow_breaks),
            Style::Literal => self.literal(value),
        }
        self.indent = saved;
    }

    fn plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > self.best_width && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                self.indention = false;
                spaces = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let fold = allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' ';
                if fold {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                self.escape(c);
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i != 0
                    && i + 1 != chars.len()
                {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{07}' => Some('a'),
            '\u{08}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{0B}' => Some('v'),
            '\u{0C}' => Some('f'),
            '\r' => Some('r'),
            '\u{1B}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(s) = short {
            self.put(s);
            return;
        }
        let v = c as u32;
        let (letter, width) = if v <= 0xFF {
            ('x', 2)
        } else if v <= 0xFFFF {
            ('u', 4)
        } else {
            ('U', 8)
        };
        self.put(letter);
        for k in (0..width).rev() {
            let digit = (v >> (k * 4)) & 0xF;
            self.put(char::from_digit(digit, 16).map_or('0', |d| d.to_ascii_uppercase()));
        }
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        self.block_scalar_hints(value);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    /// Indentation hint for a leading space or break, and chomping: `-` without a final
    /// break, `+` with two, none (clip) with exactly one.
    fn block_scalar_hints(&mut self, value: &str) {
        if value.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        self.open_ended = false;
        let mut rev = value.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(prev)) if is_break(prev) => Some("+"),
            _ => None,
        };
        if let Some(hint) = chomp {
            self.open_ended = hint == "+" && !value.is_empty();
            self.write_indicator(hint, false, false, false);
        }
    }

    fn document_end(&mut self) {
        self.indent = -1;
        self.write_indent();
        if self.open_ended {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn doc(policy: &str, rules: &[(&str, &str)]) -> Vec<(String, Vec<(String, String)>)> {
        vec![(
            policy.to_owned(),
            rules
                .iter()
                .map(|(r, m)| ((*r).to_owned(), (*m).to_owned()))
                .collect(),
        )]
    }

    #[test]
    fn plain_messages_and_sorted_rules() {
        let d = doc(
            "test",
            &[
                ("rule-fail", "message fail"),
                ("rule-error", "message error"),
            ],
        );
        assert_eq!(
            marshal(&d, true),
            "test:\n  rule-error: message error\n  rule-fail: message fail\n"
        );
    }

    #[test]
    fn single_quoted_folding_at_80_columns() {
        let msg = concat!(
            "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": ",
            "(Forbidden reason: privileged, field error list: ",
            "[spec.containers[0].securityContext.privileged is forbidden, ",
            "forbidden values found: true])",
        );
        let d = doc("baseline-policy", &[("baseline", msg)]);
        assert_eq!(
            marshal(&d, true),
            concat!(
                "baseline-policy:\n",
                "  baseline: 'Validation rule ''baseline'' failed. ",
                "It violates PodSecurity \"baseline:latest\":\n",
                "    (Forbidden reason: privileged, field error list: ",
                "[spec.containers[0].securityContext.privileged\n",
                "    is forbidden, forbidden values found: true])'\n",
            )
        );
        assert_eq!(
            marshal(&d, false),
            format!(
                "baseline-policy:\n  baseline: '{}'\n",
                msg.replace('\'', "''")
            )
        );
    }

    #[test]
    fn literal_block_keeps_the_final_newline() {
        let msg = "line one: x\nline two\n";
        assert_eq!(
            marshal(&doc("p", &[("r", msg)]), true),
            "p:\n  r: |\n    line one: x\n    line two\n"
        );
        assert_eq!(
            marshal(&doc("p", &[("r", "a\nb")]), true),
            "p:\n  r: |-\n    a\n    b\n"
        );
        assert_eq!(
            marshal(&doc("p", &[("r", "a\n\n")]), true),
            "p:\n  r: |+\n    a\n\n...\n"
        );
    }

    #[rstest]
    #[case::empty("r", "", "p:\n  r: \"\"\n")]
    #[case::bool_like("r", "true", "p:\n  r: \"true\"\n")]
    #[case::int_like("r", "80", "p:\n  r: \"80\"\n")]
    #[case::int_like_key("1", "x", "p:\n  \"1\": x\n")]
    #[case::tab("r", "tab\there", "p:\n  r: \"tab\\there\"\n")]
    #[case::dash("r", "- x", "p:\n  r: '- x'\n")]
    #[case::comment("r", "a # b", "p:\n  r: 'a # b'\n")]
    #[case::hash_inside("r", "a#b", "p:\n  r: a#b\n")]
    #[case::trailing_space("r", "trailing ", "p:\n  r: 'trailing '\n")]
    #[case::astral("r", "emoji \u{1F600}", "p:\n  r: \"emoji \\U0001F600\"\n")]
    fn quoting_choices(#[case] key: &str, #[case] value: &str, #[case] want: &str) {
        assert_eq!(marshal(&doc("p", &[(key, value)]), true), want);
    }

    #[test]
    fn plain_scalars_fold_too() {
        let long = "word ".repeat(20) + "end";
        let out = marshal(&doc("p", &[("r", &long)]), true);
        assert!(out.contains("\n    word"), "{out}");
        assert!(!marshal(&doc("p", &[("r", &long)]), false).contains("\n    "));
    }

    #[test]
    fn long_keys_are_complex() {
        let key = "k".repeat(129);
        assert_eq!(
            marshal(&doc(&key, &[("r", "m")]), true),
            format!("? {key}\n: r: m\n")
        );
    }

    #[rstest]
    #[case("rule-9", "rule-10")]
    #[case("a", "b")]
    #[case("rule-a", "rulea")]
    #[case("_x", "Ax")]
    #[case("a", "ab")]
    #[case("autogen-baseline", "baseline")]
    fn natural_key_order(#[case] first: &str, #[case] second: &str) {
        assert_eq!(key_cmp(first, second), Ordering::Less, "{first} < {second}");
        assert_eq!(key_cmp(second, first), Ordering::Greater);
    }

    #[rstest]
    #[case("yes", false)]
    #[case("0x1F", false)]
    #[case("1_000", false)]
    #[case("1.5e3", false)]
    #[case("1:20", false)]
    #[case("2001-12-14", false)]
    #[case("2001-12-14t21:59:43.10-05:00", false)]
    #[case("-.inf", false)]
    #[case(".5", false)]
    #[case("1-rule", true)]
    #[case("09", false)]
    #[case("baseline", true)]
    #[case(".hidden", true)]
    fn resolution(#[case] s: &str, #[case] is_string: bool) {
        assert_eq!(resolves_to_string(s), is_string, "{s}");
    }
}
