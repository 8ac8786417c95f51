#!/usr/bin/env bash
# Certifies the upstream Pod Security Admission webhook (k8s.io/pod-security-admission's
# cmd/webhook, built from source) behind a local control plane whose built-in PodSecurity
# plugin is off, so only the webhook judges; then checks what certify wrote:
#
#   1. builds (or reuses) kube-apiserver + etcd and the webhook (scripts/build-*.sh);
#   2. pss-harness certify --require-messages: exit 0 only when every decision and every
#      judged message conforms (messages compared without the API server's
#      'admission webhook "<name>" denied the request: ' envelope);
#   3. pss-harness diff in-process vs the webhook: exit 0 only when no scenario differs;
#   4. the reports parse (report.json against schema/certification-report.schema.json,
#      report.xml as JUnit) and report.html renders in headless Chromium (installed with
#      apt-get when missing), through the certify test's saved-reports trial.
#
# Usage: scripts/certify-upstream.sh [--full] [--out DIR]
#   default: the scenarios at `latest` (every control and kind, ~1500 trials, ~30 s in a
#            debug build);
#   --full:  the whole suite, every version and the golden snapshots (~45000 trials,
#            ~9 min in a debug build on 2 busy cores).
#   --out DIR keeps the reports there (default: a temporary folder, removed).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
scope=(--version latest)
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --full) scope=() ;;
    --out) out="$2"; shift ;;
    *) echo "certify-upstream: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/pss-certify.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
# Absolute: the render check runs under `cargo test`, whose working directory is the
# test's crate (harness/runner), not where this script was called from.
mkdir -p "$out"
out=$(cd "$out" && pwd)

assets=$("$here/scripts/build-control-plane.sh" | tail -n 1)
webhook=$("$here/scripts/build-psa-webhook.sh" | tail -n 1)
(cd "$here" && cargo build -q --workspace --bins)
pss="$here/target/debug/pss-harness"

engine_cmd="$webhook --kubeconfig {kubeconfig} --config {psa-config} --tls-cert-file {cert} \
--tls-private-key-file {key} --bind-address {host} --secure-port {port}"
cluster=(--target cluster --cluster local --control-plane-bin "$assets" --builtin-psa off
  --engine-cmd "$engine_cmd")
psa_version=$(basename "$(dirname "$webhook")")

echo "certify-upstream: certify (${scope[*]:-full suite})" >&2
"$pss" certify --profile psa "${scope[@]}" "${cluster[@]}" --require-messages \
  --engine-name "Upstream PSA webhook" --engine-version "k8s.io/${psa_version/-v/ v}" \
  --out "$out"

echo "certify-upstream: diff in-process vs the webhook" >&2
"$pss" diff --target in-process "${scope[@]}" "${cluster[@]}" | tail -n 5

if ! command -v chromium >/dev/null && [ -z "${CHROMIUM:-}" ]; then
  echo "certify-upstream: installing chromium for the render check" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "certify-upstream: the reports parse and render" >&2
(cd "$here" && PSS_HARNESS_REPORTS="$out" PSS_HARNESS_REQUIRE_CHROMIUM=1 \
  cargo test -q --workspace --test certify -- reports::saved_reports_parse_and_render)
echo "certify-upstream: ok (reports in $out)" >&2
