//! Warnings when a namespace update tightens its enforce level (§3.6; upstream
//! `EvaluatePodsInNamespace`).
//!
//! The existing pods are dry-run against the new enforce level-version and summarised as
//! warnings; the namespace update itself is never denied. The check is bounded: pods with
//! an exempt runtime class are skipped, one pod per controller is checked before the other
//! replicas, at most [`TighteningLimits::max_pods`] are checked, and checking stops after
//! the pod during which the time budget ran out. The clock is injected so the deadline can
//! be tested without sleeping.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::exemptions::Exemptions;
use super::request::{PodListing, pod_spec};
use crate::evaluator::Evaluator;
use crate::format::go_quote;
use crate::policy::LevelVersion;

/// The only warning when the pods could not be listed.
pub const LIST_FAILED_WARNING: &str =
    "failed to list pods while checking new PodSecurity enforce level";

/// Upstream's bounds: 3,000 pods, one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TighteningLimits {
    /// The most pods checked.
    pub max_pods: usize,
    /// The budget, cut to half the request's remaining time when that is smaller.
    pub timeout: Duration,
}

impl Default for TighteningLimits {
    fn default() -> Self {
        TighteningLimits {
            max_pods: 3000,
            timeout: Duration::from_secs(1),
        }
    }
}

/// A monotonic clock: the time elapsed since some fixed origin.
pub trait Clock {
    /// The current time, as an offset from the clock's origin.
    fn now(&self) -> Duration;
}

/// The system's monotonic clock, counted from when it was started.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock(Instant);

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        MonotonicClock(Instant::now())
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// Evaluates one pod at a level-version: `Some(reason list)` when it fails (§3.1, reasons
/// joined with `, `), `None` when allowed. Injectable so upstream's fake-evaluator test
/// strings can be reproduced.
pub type ReasonFn<'a> = dyn FnMut(&LevelVersion, &ObjectMeta, &PodSpec) -> Option<String> + 'a;

/// The [`ReasonFn`] of a real evaluator.
pub fn evaluator_reasons(
    evaluator: &Evaluator,
) -> impl FnMut(&LevelVersion, &ObjectMeta, &PodSpec) -> Option<String> + '_ {
    move |lv, meta, spec| {
        let result = evaluator.evaluate(lv.level, lv.version, meta, spec);
        (!result.allowed()).then(|| result.reasons())
    }
}

/// One tightening check: the namespace, its new enforce level and the bounds.
pub struct Tightening<'a> {
    /// The namespace name (printed in the header).
    pub namespace: &'a str,
    /// The new enforce level-version.
    pub enforce: &'a LevelVersion,
    /// Pods with an exempt runtime class are skipped.
    pub exemptions: &'a Exemptions,
    /// The pod and time bounds.
    pub limits: &'a TighteningLimits,
    /// Time left until the request's deadline, if it has one.
    pub remaining: Option<Duration>,
    /// The clock the budget is measured with.
    pub clock: &'a dyn Clock,
}

impl Tightening<'_> {
    /// The warnings, in upstream's order: the partial-check note, the header, then one
    /// decorated line per distinct reason list, sorted.
    pub fn warnings(&self, pods: &PodListing, reasons: &mut ReasonFn<'_>) -> Vec<String> {
        let deadline = self.clock.now() + self.budget();
        let Ok(pods) = pods else {
            return vec![LIST_FAILED_WARNING.to_owned()];
        };
        let mut queue = prioritize(pods, self.exemptions);
        let total = queue.len();
        queue.truncate(self.limits.max_pods);
        let mut groups = Groups::default();
        let mut checked = queue.len();
        for (i, pod) in queue.iter().enumerate() {
            if let Some(reason) = reasons(self.enforce, &pod.metadata, pod_spec(pod)) {
                groups.add(reason, pod.metadata.name.as_deref().unwrap_or_default());
            }
            if self.clock.now() >= deadline {
                checked = i + 1;
                break;
            }
        }
        self.render(checked, total, groups)
    }

    fn budget(&self) -> Duration {
        match self.remaining {
            Some(remaining) => self.limits.timeout.min(remaining / 2),
            None => self.limits.timeout,
        }
    }

    fn render(&self, checked: usize, total: usize, groups: Groups) -> Vec<String> {
        let mut warnings = Vec::new();
        if checked < total {
            warnings.push(format!(
                "new PodSecurity enforce level only checked against the first {checked} of \
                 {total} existing pods"
            ));
        }
        if !groups.0.is_empty() {
            warnings.push(format!(
                "existing pods in namespace {} violate the new PodSecurity enforce level {}",
                go_quote(self.namespace),
                go_quote(&self.enforce.to_string()),
            ));
        }
        let mut lines: Vec<String> = groups.0.iter().map(Group::decorate).collect();
        lines.sort();
        warnings.extend(lines);
        warnings
    }
}

/// Non-exempt pods: uncontrolled pods and the first pod of each controller UID in list
/// order, then the remaining replicas.
fn prioritize<'p>(pods: &'p [Pod], exemptions: &Exemptions) -> Vec<&'p Pod> {
    let mut first = Vec::with_capacity(pods.len());
    let mut replicas = Vec::new();
    let mut seen_controllers: Vec<&str> = Vec::new();
    for pod in pods {
        if exemptions.runtime_class(pod_spec(pod)) {
            continue;
        }
        match controller_uid(pod) {
            Some(uid) if seen_controllers.contains(&uid) => replicas.push(pod),
            Some(uid) => {
                seen_controllers.push(uid);
                first.push(pod);
            }
            None => first.push(pod),
        }
    }
    first.extend(replicas);
    first
}

/// The UID of the first owner reference marked `controller: true`.
fn controller_uid(pod: &Pod) -> Option<&str> {
    let owners = pod.metadata.owner_references.as_deref()?;
    owners
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}

/// Pods sharing one reason list.
struct Group {
    reasons: String,
    /// The lexically smallest pod name with these reasons.
    pod_name: String,
    count: usize,
}

impl Group {
    fn decorate(&self) -> String {
        match self.count {
            1 => format!("{}: {}", self.pod_name, self.reasons),
            2 => format!("{} (and 1 other pod): {}", self.pod_name, self.reasons),
            n => format!(
                "{} (and {} other pods): {}",
                self.pod_name,
                n - 1,
                self.reasons
            ),
        }
    }
}

#[derive(Default)]
struct Groups(Vec<Group>);

impl Groups {
    fn add(&mut self, reasons: String, pod_name: &str) {
        match self.0.iter_mut().find(|g| g.reasons == reasons) {
            Some(g) => {
                g.count += 1;
                if pod_name < g.pod_name.as_str() {
                    pod_name.clone_into(&mut g.pod_name);
                }
            }
            None => self.0.push(Group {
                reasons,
                pod_name: pod_name.to_owned(),
                count: 1,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::test_support::FakeClock;

    fn pod(name: &str, owner: Option<&str>, runtime_class: Option<&str>) -> Pod {
        let mut value = serde_json::json!({"metadata": {"name": name}, "spec": {"containers": []}});
        if let Some(uid) = owner {
            value["metadata"]["ownerReferences"] = serde_json::json!([
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": uid,
                 "controller": true}]);
        }
        if let Some(rc) = runtime_class {
            value["spec"]["runtimeClassName"] = rc.into();
        }
        serde_json::from_value(value).unwrap()
    }

    fn names(pods: &[&Pod]) -> Vec<String> {
        pods.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect()
    }

    #[test]
    fn prioritizes_one_pod_per_controller_and_skips_exempt_runtime_classes() {
        let pods = vec![
            pod("a1", Some("A"), None),
            pod("a2", Some("A"), None),
            pod("x", None, Some("kata")),
            pod("b1", Some("B"), None),
            pod("u", None, Some("runc")),
            pod("a3", Some("A"), None),
        ];
        let ex = Exemptions {
            runtime_classes: vec!["kata".into()],
            ..Exemptions::default()
        };
        assert_eq!(
            names(&prioritize(&pods, &ex)),
            ["a1", "b1", "u", "a2", "a3"]
        );
    }

    #[test]
    fn budget_is_the_smaller_of_timeout_and_half_the_remaining_time() {
        let clock = FakeClock::default();
        let limits = TighteningLimits::default();
        let lv = LevelVersion::PRIVILEGED_LATEST;
        let ex = Exemptions::default();
        let mut t = Tightening {
            namespace: "ns",
            enforce: &lv,
            exemptions: &ex,
            limits: &limits,
            remaining: None,
            clock: &clock,
        };
        assert_eq!(t.budget(), Duration::from_secs(1));
        assert_eq!(limits.max_pods, 3000);
        t.remaining = Some(Duration::from_millis(600));
        assert_eq!(t.budget(), Duration::from_millis(300));
        t.remaining = Some(Duration::from_secs(10));
        assert_eq!(t.budget(), Duration::from_secs(1));
    }

    #[test]
    fn decorations() {
        let g = |count| Group {
            reasons: "r".into(),
            pod_name: "p".into(),
            count,
        };
        assert_eq!(g(1).decorate(), "p: r");
        assert_eq!(g(2).decorate(), "p (and 1 other pod): r");
        assert_eq!(g(3).decorate(), "p (and 2 other pods): r");
    }

    #[test]
    fn groups_keep_the_smallest_name() {
        let mut groups = Groups::default();
        groups.add("r".into(), "b");
        groups.add("r".into(), "a");
        groups.add("r".into(), "c");
        assert_eq!((groups.0[0].pod_name.as_str(), groups.0[0].count), ("a", 3));
    }
}
