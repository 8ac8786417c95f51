//! apimachinery's RFC 1123 name checks, with their exact messages, for validating the
//! exempt namespaces (labels) and runtime classes (subdomains) of a configuration.

const LABEL_MAX: usize = 63;
const SUBDOMAIN_MAX: usize = 253;
const LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
                         characters or '-', and must start and end with an alphanumeric character";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
                             alphanumeric characters, '-' or '.', and must start and end with an \
                             alphanumeric character";

/// `ValidateNamespaceName` (`IsDNS1123Label`): the problems with `name`, none when valid.
pub(crate) fn namespace_name_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > LABEL_MAX {
        errs.push(max_len(LABEL_MAX));
    }
    if !is_label(name) {
        if is_subdomain(name) {
            errs.push("must not contain dots".to_owned());
        } else {
            errs.push(regex_error(LABEL_MSG, LABEL_FMT, &["my-name", "123-abc"]));
        }
    }
    errs
}

/// `IsDNS1123Subdomain`: the problems with `name`, none when valid.
pub(crate) fn subdomain_errors(name: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if name.len() > SUBDOMAIN_MAX {
        errs.push(max_len(SUBDOMAIN_MAX));
    }
    if !is_subdomain(name) {
        let fmt = format!("{LABEL_FMT}(\\.{LABEL_FMT})*");
        errs.push(regex_error(SUBDOMAIN_MSG, &fmt, &["example.com"]));
    }
    errs
}

fn max_len(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// apimachinery `RegexError`: examples are each followed by `, ` and joined by ` or `.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let examples: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        examples.join(" or ")
    )
}

/// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` (length is checked separately).
fn is_label(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|&b| alnum(b) || b == b'-')
        }
        _ => false,
    }
}

/// Labels separated by single dots.
fn is_subdomain(s: &str) -> bool {
    s.split('.').all(is_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(namespace_name_errors("kube-system").is_empty());
        assert!(namespace_name_errors("a").is_empty());
        assert_eq!(namespace_name_errors("a.b"), ["must not contain dots"]);
        assert_eq!(
            namespace_name_errors("-x"),
            [
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
              '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
              '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
        assert_eq!(namespace_name_errors("").len(), 1);
        let long = "a".repeat(64);
        assert_eq!(
            namespace_name_errors(&long),
            ["must be no more than 63 characters"]
        );
    }

    #[test]
    fn subdomains() {
        assert!(subdomain_errors("kata.example.com").is_empty());
        assert_eq!(
            subdomain_errors("a..b"),
            [
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                 characters, '-' or '.', and must start and end with an alphanumeric character \
                 (e.g. 'example.com', regex used for validation is \
                 '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert_eq!(
            subdomain_errors(&"a".repeat(254)),
            ["must be no more than 253 characters"]
        );
    }
}
