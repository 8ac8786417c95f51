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
CACHE=${PSS_HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pss-harness}
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

command -v go >/dev/null || { echo "build-kyverno: go is not installed" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
export CGO_ENABLED=0
start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/pss-kyverno-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$OUT.partial"
mkdir -p "$OUT.partial"

# Kyverno's go.mod replaces k8s.io/pod-security-admission with its fork; a dependent
# module must repeat its replace directives, read from the release's own go.mod.
mod=$(cd "$work" && go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
dir=$(cd "$work" && go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
{
  echo "module pss-harness.local/kyverno"
  echo
  echo "go 1.26"
  echo
  echo "require github.com/kyverno/kyverno $KYVERNO_VERSION"
  echo
  grep '^replace ' "$mod" || true
} >"$work/go.mod"
cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "github.com/kyverno/kyverno/cmd/kyverno"
GO
echo "kyverno: building github.com/kyverno/kyverno $KYVERNO_VERSION cmd/kyverno" >&2
(cd "$work" && go mod tidy -e >/dev/null 2>"$work/tidy.log" || { cat "$work/tidy.log" >&2; exit 1; })
tidy_done=$(date +%s)
(cd "$work" && go build -trimpath -ldflags "-s -w" -o "$OUT.partial/kyverno" \
  github.com/kyverno/kyverno/cmd/kyverno)
end=$(date +%s)
cp -r "$dir/config/crds" "$OUT.partial/crds"
chmod -R u+w "$OUT.partial/crds"

{
  echo "kyverno $KYVERNO_VERSION (github.com/kyverno/kyverno/cmd/kyverno)"
  echo "$(go version)"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores"
  echo "module download + tidy seconds: $((tidy_done - start))"
  echo "build seconds: $((end - tidy_done))"
  echo "binary: $(du -sh "$OUT.partial/kyverno" | cut -f1)"
  echo "go module cache: $(du -sh "$(go env GOMODCACHE)" 2>/dev/null | cut -f1)"
  echo "go build cache: $(du -sh "$(go env GOCACHE)" 2>/dev/null | cut -f1)"
} >"$OUT.partial/BUILD-INFO"
rm -rf "$OUT"
mv "$OUT.partial" "$OUT"
cat "$OUT/BUILD-INFO" >&2
echo "$BIN"
