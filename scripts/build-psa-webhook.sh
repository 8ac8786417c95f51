#!/usr/bin/env bash
# Builds the upstream Pod Security Admission webhook (the server under
# k8s.io/pod-security-admission/cmd/webhook, see the module's webhook/README.md) from source
# through the Go module proxy (never a prebuilt binary), into a cache folder keyed by version:
#
#   $PSS_HARNESS_CACHE/psa-webhook/pod-security-admission-<PSA_VERSION>/
#     pod-security-webhook   the webhook server
#     BUILD-INFO             version, go version, build seconds, disk use
#
# A second run with the same version reuses the folder and prints the binary at once.
# Prints the binary's path on the last line.
#
# The webhook's flags (read from cmd/webhook/server/options in the module):
#   --kubeconfig FILE  --config PodSecurityConfiguration-FILE
#   --tls-cert-file F  --tls-private-key-file F  --secure-port N  --bind-address IP
# It validates at "/" and answers /readyz once its namespace informer has synced.
#
# Usage: scripts/build-psa-webhook.sh [--print-path]
#   PSA_VERSION  (default v0.37.2: the staging line of the v1.37.2 control plane)
set -euo pipefail

PSA_VERSION=${PSA_VERSION:-v0.37.2}
NAME=build-psa-webhook
. "$(dirname "$0")/lib/go-build.sh"
OUT="$CACHE/psa-webhook/pod-security-admission-$PSA_VERSION"
BIN="$OUT/pod-security-webhook"

if [ "${1:-}" = "--print-path" ]; then
  echo "$BIN"
  exit 0
fi

if [ -x "$BIN" ] && [ -f "$OUT/BUILD-INFO" ]; then
  echo "psa webhook: reusing $OUT" >&2
  echo "$BIN"
  exit 0
fi

go_build_begin

# The published staging module has no replace directives, so a wrapper module that
# requires it builds its cmd/webhook as released.
k8s_minor=$(echo "$PSA_VERSION" | cut -d. -f2)
k8s_version="v1.${PSA_VERSION#v0.}"
echo "psa webhook: building k8s.io/pod-security-admission $PSA_VERSION" >&2
wrapper_module "$work/psa-webhook" k8s.io/pod-security-admission "$PSA_VERSION" \
  k8s.io/pod-security-admission/cmd/webhook </dev/null
(cd "$work/psa-webhook" && go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$k8s_version \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$k8s_minor" \
  -o "$OUT.partial/pod-security-webhook" k8s.io/pod-security-admission/cmd/webhook)
end=$(date +%s)

go_build_publish \
  "pod-security-webhook k8s.io/pod-security-admission $PSA_VERSION (cmd/webhook)" \
  "build seconds: $((end - start))"
echo "$BIN"
