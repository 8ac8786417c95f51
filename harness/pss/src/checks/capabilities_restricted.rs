//! TODO(helper): implement per ../shared/spec/pod-security-standards.md section 2.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::result::{CheckOptions, Forbidden};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::overriding(22, unimplemented_check, &[super::CheckId::CapabilitiesBaseline])];

fn unimplemented_check(_meta: &ObjectMeta, _spec: &PodSpec, _opts: CheckOptions) -> Option<Forbidden> {
    None
}
