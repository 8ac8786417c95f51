#!/usr/bin/env bash
# Builds Kyverno's admission controller (github.com/kyverno/kyverno/cmd/kyverno) from the Go
# module proxy (never a prebuilt binary) into a cache folder keyed by version, for running
# it out of cluster against the local control plane (its --kubeconfig and --serverIP flags):
#
#   $PSS_HARNESS_CACHE/kyverno/kyverno-<KYVERNO_VERSION>/
#     kyverno      the admission controller
#     crds/        the module's config/crds (CustomResourceDefinitions to --install)
#     BUILD-INFO   version, go version, build seconds, disk use
#
# Heavy: Kyverno's module requires ~400 modules (cloud SDKs, sigstore, notation). See
# docs/certify.md for the measured time and size. Prints the binary's path on the last line.
#
# Usage: scripts/build-kyverno.sh [--print-path]
#   KYVERNO_VERSION (default v1.19.1: the newest release of the kyverno@v1.19 line)
set -euo pipefail

KYVERNO_VERSION=${KYVERNO_VERSION:-v1.19.1}
NAME=build-kyverno
. "$(dirname "$0")/lib/go-build.sh"
OUT="$CACHE/kyverno/kyverno-$KYVERNO_VERSION"
BIN="$OUT/kyverno"

if [ "${1:-}" = "--print-path" ]; then
  echo "$BIN"
  exit 0
fi
if [ -x "$BIN" ] && [ -f "$OUT/BUILD-INFO" ]; then
  echo "kyverno: reusing $OUT" >&2
  echo "$BIN"
  exit 0
fi

go_build_begin

# Kyverno's go.mod replaces k8s.io/pod-security-admission with its fork; a dependent
# module must repeat its replace directives, read from the release's own go.mod.
mod=$(module_file "github.com/kyverno/kyverno@$KYVERNO_VERSION" GoMod)
dir=$(module_file "github.com/kyverno/kyverno@$KYVERNO_VERSION" Dir)
echo "kyverno: building github.com/kyverno/kyverno $KYVERNO_VERSION cmd/kyverno" >&2
{ grep '^replace ' "$mod" || true; } |
  wrapper_module "$work/kyverno" github.com/kyverno/kyverno "$KYVERNO_VERSION" \
    github.com/kyverno/kyverno/cmd/kyverno
tidy_done=$(date +%s)
(cd "$work/kyverno" && go build -trimpath -ldflags "-s -w" -o "$OUT.partial/kyverno" \
  github.com/kyverno/kyverno/cmd/kyverno)
end=$(date +%s)
cp -r "$dir/config/crds" "$OUT.partial/crds"
chmod -R u+w "$OUT.partial/crds"

go_build_publish \
  "kyverno $KYVERNO_VERSION (github.com/kyverno/kyverno/cmd/kyverno)" \
  "module download + tidy seconds: $((tidy_done - start))" \
  "build seconds: $((end - tidy_done))"
echo "$BIN"
