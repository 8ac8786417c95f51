//! Whether a rule applies to a request: Kyverno's `MatchesResourceDescription`. A rule that
//! does not match (or is excluded) produces no rule response at all.

use std::collections::BTreeMap;

use crate::label_selector::selects;
use crate::request::{AdmissionRequest, Operation, RequestUser};
use crate::resource_filter::{
    MatchResources, ResourceDescription, ResourceFilter, Subject, UserInfo,
};
use crate::wildcard;

static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// The facts about the requested resource that matching looks at.
#[derive(Debug, Clone)]
pub(crate) struct Resource<'a> {
    pub kind: &'a str,
    pub group: &'a str,
    pub version: &'a str,
    /// `metadata.name`, or `generateName` when the name is empty.
    pub name: &'a str,
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub operation: Operation,
    pub namespace_labels: &'a BTreeMap<String, String>,
    pub user: Option<&'a RequestUser>,
}

impl<'a> Resource<'a> {
    pub fn of(request: &AdmissionRequest<'a>) -> Self {
        let object = request.object;
        let meta = object.metadata();
        let kind = object.kind();
        let (group, version) = match kind.api_version().split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", kind.api_version()),
        };
        let name = match object.name() {
            "" => meta.generate_name.as_deref().unwrap_or(""),
            n => n,
        };
        Resource {
            kind: kind.as_str(),
            group,
            version,
            name,
            namespace: request.resource_namespace(),
            labels: meta.labels.as_ref().unwrap_or(&EMPTY),
            annotations: meta.annotations.as_ref().unwrap_or(&EMPTY),
            operation: request.operation,
            namespace_labels: request.namespace_labels.unwrap_or(&EMPTY),
            user: request.user,
        }
    }
}

/// Whether a rule with these blocks applies. `policy_namespace` is the namespace of a
/// namespaced `Policy` (which only sees resources of its own namespace).
pub(crate) fn rule_applies(
    match_resources: &MatchResources,
    exclude: Option<&MatchResources>,
    policy_namespace: Option<&str>,
    res: &Resource<'_>,
) -> bool {
    if policy_namespace.is_some_and(|ns| ns != res.namespace) {
        return false;
    }
    matches_block(match_resources, res) && !exclude.is_some_and(|e| excludes_block(e, res))
}

fn matches_block(m: &MatchResources, res: &Resource<'_>) -> bool {
    if !m.any.is_empty() {
        m.any.iter().any(|f| match_filter(f, res))
    } else if !m.all.is_empty() {
        m.all.iter().all(|f| match_filter(f, res))
    } else {
        match_filter(
            &ResourceFilter {
                resources: m.resources.clone(),
                user_info: m.user_info.clone(),
            },
            res,
        )
    }
}

fn excludes_block(e: &MatchResources, res: &Resource<'_>) -> bool {
    if !e.any.is_empty() {
        e.any.iter().any(|f| exclude_filter(f, res))
    } else if !e.all.is_empty() {
        e.all.iter().all(|f| exclude_filter(f, res))
    } else {
        exclude_filter(
            &ResourceFilter {
                resources: e.resources.clone(),
                user_info: e.user_info.clone(),
            },
            res,
        )
    }
}

/// A match filter: without a known user its user part is dropped; an empty filter matches
/// nothing ("match cannot be empty").
fn match_filter(f: &ResourceFilter, res: &Resource<'_>) -> bool {
    let user_info = if res.user.is_some() {
        f.user_info.clone()
    } else {
        UserInfo::default()
    };
    if f.resources.is_empty() && user_info.is_empty() {
        return false;
    }
    condition_holds(&f.resources, &user_info, res)
}

/// An exclude filter excludes when it is not empty and all its conditions hold (its user
/// part is kept even without a known user, so it then never holds).
fn exclude_filter(f: &ResourceFilter, res: &Resource<'_>) -> bool {
    if f.resources.is_empty() && f.user_info.is_empty() {
        return false;
    }
    condition_holds(&f.resources, &f.user_info, res)
}

/// `doesResourceMatchConditionBlock`: every set attribute must hold.
fn condition_holds(d: &ResourceDescription, user_info: &UserInfo, res: &Resource<'_>) -> bool {
    let op_ok = d.operations.is_empty() || d.operations.iter().any(|o| o == res.operation.as_str());
    let kind_ok = d.kinds.is_empty() || d.kinds.iter().any(|k| kind_matches(k, res));
    let name_ok = d.name.is_empty() || wildcard::matches(&d.name, res.name);
    let names_ok = d.names.is_empty() || wildcard::any_matches(&d.names, res.name);
    let ns_ok = d.namespaces.is_empty() || wildcard::any_matches(&d.namespaces, res.namespace);
    let ann_ok = d
        .annotations
        .as_ref()
        .is_none_or(|a| a.is_empty() || annotations_match(a, res.annotations));
    let sel_ok = d
        .selector
        .as_ref()
        .is_none_or(|s| selects(Some(s), res.labels));
    let ns_sel_ok = d
        .namespace_selector
        .as_ref()
        .is_none_or(|s| selects(Some(s), res.namespace_labels));
    op_ok
        && kind_ok
        && name_ok
        && names_ok
        && ns_ok
        && ann_ok
        && sel_ok
        && ns_sel_ok
        && user_holds(user_info, res.user)
}

fn annotations_match(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| {
        have.iter()
            .any(|(hk, hv)| wildcard::matches(k, hk) && wildcard::matches(v, hv))
    })
}

fn user_holds(info: &UserInfo, user: Option<&RequestUser>) -> bool {
    let empty = RequestUser::default();
    let user = user.unwrap_or(&empty);
    let roles_ok = info.roles.is_empty() || user.roles.iter().any(|r| info.roles.contains(r));
    let cluster_ok = info.cluster_roles.is_empty()
        || user
            .cluster_roles
            .iter()
            .any(|r| info.cluster_roles.contains(r));
    let subjects_ok =
        info.subjects.is_empty() || info.subjects.iter().any(|s| subject_matches(s, user));
    roles_ok && cluster_ok && subjects_ok
}

fn subject_matches(s: &Subject, user: &RequestUser) -> bool {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = s.namespace.as_deref().unwrap_or("");
            wildcard::matches(
                &format!("system:serviceaccount:{ns}:{}", s.name),
                &user.username,
            )
        }
        "Group" => user.groups.iter().any(|g| wildcard::matches(&s.name, g)),
        "User" => wildcard::matches(&s.name, &user.username),
        _ => false,
    }
}

/// `CheckKind` with `ParseKindSelector`: `Kind`, `version/Kind`, `group/version/Kind`,
/// optionally `/subresource`; each part may hold wildcards. Requests here never target a
/// subresource.
fn kind_matches(selector: &str, res: &Resource<'_>) -> bool {
    let Some((group, version, kind, sub)) = parse_kind_selector(selector) else {
        return false;
    };
    wildcard::matches(group, res.group)
        && wildcard::matches(version, res.version)
        && wildcard::matches(kind, res.kind)
        && wildcard::matches(sub, "")
}

/// Kyverno's `ParseKindSelector`: `(group, version, kind, subresource)`.
pub(crate) fn parse_kind_selector(input: &str) -> Option<(&str, &str, &str, &str)> {
    let (head, last) = match input.rsplit_once('/') {
        Some((h, l)) => (Some(h), l),
        None => (None, input),
    };
    let mut parts: Vec<&str> = head.map(|h| h.split('/').collect()).unwrap_or_default();
    parts.extend(last.split('.'));
    match parts.as_slice() {
        [kind] => Some(("*", "*", kind, "")),
        ["*", "*"] => Some(("*", "*", "*", "*")),
        ["*", sub] if sub.to_lowercase() == *sub => Some(("*", "*", "*", sub)),
        [v, kind] if is_version(v) => Some(("*", v, kind, "")),
        [kind, sub] => Some(("*", "*", kind, sub)),
        [v, kind, sub] if is_version(v) => Some(("*", v, kind, sub)),
        [group, version, kind] => Some((group, version, kind, "")),
        [group, version, kind, sub] => Some((group, version, kind, sub)),
        _ => None,
    }
}

/// `^(v\d+((alpha|beta)\d+)?|\*)$`
pub(crate) fn is_version(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    if tail.is_empty() {
        return true;
    }
    let Some(n) = tail
        .strip_prefix("alpha")
        .or_else(|| tail.strip_prefix("beta"))
    else {
        return false;
    };
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pss::Workload;
    use rstest::rstest;
    use serde_json::json;

    fn deployment() -> Workload {
        Workload::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "prod",
                "labels": {"app": "web"},
                "annotations": {"team": "a"},
            },
            "spec": {"selector": {}, "template": {"spec": {"containers": []}}},
        }))
        .unwrap()
    }

    fn block(v: serde_json::Value) -> MatchResources {
        serde_json::from_value(v).unwrap()
    }

    fn applies(m: serde_json::Value, e: Option<serde_json::Value>) -> bool {
        let w = deployment();
        let req = AdmissionRequest::create(&w);
        let exclude = e.map(block);
        rule_applies(&block(m), exclude.as_ref(), None, &Resource::of(&req))
    }

    #[rstest]
    #[case("Deployment", true)]
    #[case("apps/v1/Deployment", true)]
    #[case("v1/Deployment", true)]
    #[case("apps/*/Deployment", true)]
    #[case("batch/v1/Deployment", false)]
    #[case("Deploy*", true)]
    #[case("*", true)]
    #[case("Pod", false)]
    #[case("Deployment/scale", false)]
    #[case("Deployment.scale", false)]
    fn kinds(#[case] kind: &str, #[case] want: bool) {
        assert_eq!(
            applies(json!({"resources": {"kinds": [kind]}}), None),
            want,
            "{kind}"
        );
    }

    #[test]
    fn parses_kind_selectors() {
        assert_eq!(parse_kind_selector("Pod"), Some(("*", "*", "Pod", "")));
        assert_eq!(parse_kind_selector("v1/Pod"), Some(("*", "v1", "Pod", "")));
        assert_eq!(
            parse_kind_selector("Pod/ephemeralcontainers"),
            Some(("*", "*", "Pod", "ephemeralcontainers"))
        );
        assert_eq!(
            parse_kind_selector("v2beta1/Pod/status"),
            Some(("*", "v2beta1", "Pod", "status"))
        );
        assert_eq!(
            parse_kind_selector("batch/v1/CronJob"),
            Some(("batch", "v1", "CronJob", ""))
        );
        assert_eq!(parse_kind_selector("*/*"), Some(("*", "*", "*", "*")));
    }

    #[test]
    fn any_all_and_legacy_blocks() {
        assert!(applies(
            json!({"any": [
                {"resources": {"kinds": ["Pod"]}},
                {"resources": {"kinds": ["Deployment"]}},
            ]}),
            None
        ));
        assert!(!applies(
            json!({"all": [
                {"resources": {"kinds": ["Pod"]}},
                {"resources": {"kinds": ["Deployment"]}},
            ]}),
            None
        ));
        assert!(applies(
            json!({"resources": {
                "kinds": ["Deployment"],
                "namespaces": ["pr*"],
                "names": ["w?b"],
            }}),
            None
        ));
        assert!(!applies(
            json!({"resources": {"kinds": ["Deployment"], "namespaces": ["dev"]}}),
            None
        ));
        assert!(!applies(json!({}), None), "an empty match matches nothing");
        assert!(applies(
            json!({"resources": {
                "kinds": ["Deployment"],
                "selector": {"matchLabels": {"app": "web"}},
                "annotations": {"team": "*"},
            }}),
            None
        ));
        assert!(!applies(
            json!({"resources": {"kinds": ["Deployment"], "operations": ["UPDATE"]}}),
            None
        ));
    }

    #[test]
    fn excludes() {
        let m = json!({"any": [{"resources": {"kinds": ["Deployment"]}}]});
        assert!(!applies(
            m.clone(),
            Some(json!({"any": [{"resources": {"namespaces": ["prod"]}}]}))
        ));
        assert!(applies(
            m.clone(),
            Some(json!({"any": [{"resources": {"namespaces": ["dev"]}}]}))
        ));
        assert!(
            applies(m.clone(), Some(json!({}))),
            "an empty exclude excludes nothing"
        );
        assert!(applies(
            m.clone(),
            Some(json!({"all": [
                {"resources": {"namespaces": ["prod"]}},
                {"resources": {"names": ["x"]}},
            ]}))
        ));
        assert!(!applies(
            m.clone(),
            Some(json!({"resources": {"kinds": ["Deployment"], "names": ["web"]}}))
        ));
    }

    #[test]
    fn user_filters_without_a_user() {
        let subjects = json!([{"kind": "User", "name": "admin"}]);
        // match ignores user filters when no user is known ...
        assert!(applies(
            json!({"any": [{"resources": {"kinds": ["Deployment"]}, "subjects": subjects}]}),
            None
        ));
        // ... and an exclude with a user filter never applies.
        assert!(applies(
            json!({"any": [{"resources": {"kinds": ["Deployment"]}}]}),
            Some(json!({"any": [{"subjects": subjects}]}))
        ));
    }

    #[test]
    fn user_filters_with_a_user() {
        let w = deployment();
        let user = RequestUser {
            username: "system:serviceaccount:ci:bot".into(),
            groups: vec!["devs".into()],
            ..Default::default()
        };
        let req = AdmissionRequest {
            user: Some(&user),
            ..AdmissionRequest::create(&w)
        };
        let res = Resource::of(&req);
        let m = block(json!({"any": [{"resources": {"kinds": ["Deployment"]}}]}));
        let sa = block(json!({"any": [{"subjects": [
            {"kind": "ServiceAccount", "name": "bot", "namespace": "ci"},
        ]}]}));
        let group = block(json!({"any": [{"subjects": [{"kind": "Group", "name": "ops"}]}]}));
        assert!(!rule_applies(&m, Some(&sa), None, &res));
        assert!(rule_applies(&m, Some(&group), None, &res));
        assert!(
            !rule_applies(&m, None, Some("other"), &res),
            "a Policy sees its own namespace only"
        );
        assert!(rule_applies(&m, None, Some("prod"), &res));
    }
}
