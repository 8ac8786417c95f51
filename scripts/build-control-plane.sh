#!/usr/bin/env bash
# Builds the real Kubernetes components the live tests run against, from source through the
# Go module proxy (never a prebuilt binary), into a cache folder keyed by version:
#
#   $PSS_HARNESS_CACHE/control-plane/k8s-<K8S_VERSION>-etcd-<ETCD_VERSION>/
#     kube-apiserver   from k8s.io/kubernetes/cmd/kube-apiserver
#     etcd             from go.etcd.io/etcd/server/v3 (the etcd binary's main package)
#     BUILD-INFO       versions, go version, build seconds, disk use
#
# The folder has the envtest layout (KUBEBUILDER_ASSETS=<that folder>). A second run with the
# same versions reuses it and prints its path at once. Prints the folder on the last line.
#
# Usage: scripts/build-control-plane.sh [--print-dir]
#   K8S_VERSION   (default v1.37.2: the newest k8s.io/kubernetes the proxy serves)
#   ETCD_VERSION  (default v3.7.3: the newest etcd 3.7, the line k8s 1.37 vendors)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.7.3}
NAME=build-control-plane
. "$(dirname "$0")/lib/go-build.sh"
OUT="$CACHE/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"

if [ "${1:-}" = "--print-dir" ]; then
  echo "$OUT"
  exit 0
fi

if [ -x "$OUT/kube-apiserver" ] && [ -x "$OUT/etcd" ] && [ -f "$OUT/BUILD-INFO" ]; then
  echo "control plane: reusing $OUT" >&2
  echo "$OUT"
  exit 0
fi

go_build_begin

# k8s.io/kubernetes: its go.mod replaces every staging module with ./staging/src/k8s.io/X,
# which a dependent module cannot see; the usual recipe replaces each with its published
# v0.<minor>.<patch> tag instead. The list is read from the release's own go.mod.
staging_version="v0.${K8S_VERSION#v1.}"
k8s_mod=$(module_file "k8s.io/kubernetes@$K8S_VERSION" GoMod)
echo "control plane: building kube-apiserver $K8S_VERSION (staging $staging_version)" >&2
{
  echo "replace ("
  sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging_version"'#p' "$k8s_mod"
  echo ")"
} | wrapper_module "$work/kube-apiserver" k8s.io/kubernetes "$K8S_VERSION" \
  k8s.io/kubernetes/cmd/kube-apiserver
(cd "$work/kube-apiserver" && go build -trimpath -ldflags "-s -w \
  -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
  -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
  -X k8s.io/component-base/version/verflag.programName=kube-apiserver \
  -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
  -o "$OUT.partial/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
apiserver_done=$(date +%s)

# etcd: the server module's root package is the etcd binary's main; its go.mod replaces
# sibling modules by path, so it is built from a wrapper module too.
echo "control plane: building etcd $ETCD_VERSION" >&2
wrapper_module "$work/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" \
  go.etcd.io/etcd/server/v3 </dev/null
(cd "$work/etcd" && go build -trimpath -ldflags "-s -w" -o "$OUT.partial/etcd" go.etcd.io/etcd/server/v3)
end=$(date +%s)

go_build_publish \
  "kube-apiserver $K8S_VERSION (k8s.io/kubernetes, staging modules $staging_version)" \
  "etcd $ETCD_VERSION (go.etcd.io/etcd/server/v3)" \
  "kube-apiserver build seconds: $((apiserver_done - start))" \
  "etcd build seconds: $((end - apiserver_done))"
echo "$OUT"
