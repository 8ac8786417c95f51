#!/usr/bin/env bash
# Seed the fuzz corpora at run time (corpora are not committed; see fuzz/README.md):
#   case_loader       the bundled case files (cases/**/*.yaml)
#   manifest_eval     the upstream PSA fixtures (../shared/upstream-psa-fixtures, or $FIXTURES)
#                     and the bundled manifests
#   admission_review  AdmissionReview v1 requests wrapping a sample of the fixtures
#                     (CREATE and UPDATE; needs python3 with PyYAML)
#   kyverno_policy    the bundled policies (cases/policies, cases/autogen/_policies)
# Existing corpus files are kept (libFuzzer names them by content hash).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures=${FIXTURES:-$root/../shared/upstream-psa-fixtures}
corpus=$here/corpus

copy() { # copy FILES... into corpus dir $1, named by content hash
  local dir=$1; shift
  mkdir -p "$dir"
  for f in "$@"; do cp "$f" "$dir/$(sha1sum "$f" | cut -c1-40)"; done
}

mapfile -t cases < <(find "$root/cases" -name '*.yaml' -not -path '*/_*' -not -path '*/policies/*')
copy "$corpus/case_loader" "${cases[@]}"

mapfile -t manifests < <(find "$root/cases" -path '*/_manifests/*.yaml')
copy "$corpus/manifest_eval" "${manifests[@]}"
if [ -d "$fixtures" ]; then
  mapfile -t fixture_files < <(find "$fixtures" -name '*.yaml' | sort)
  copy "$corpus/manifest_eval" "${fixture_files[@]}"
else
  echo "seed.sh: no fixtures at $fixtures; manifest_eval starts from the bundled manifests" >&2
fi

mapfile -t policies < <(find "$root/cases/policies" "$root/cases/autogen/_policies" -name '*.yaml')
copy "$corpus/kyverno_policy" "${policies[@]}"

mkdir -p "$corpus/admission_review"
if [ -d "$fixtures" ] && python3 -c 'import yaml' 2>/dev/null; then
  python3 - "$fixtures" "$corpus/admission_review" <<'PY'
import hashlib, json, pathlib, sys, yaml
fixtures, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
groups = {"Deployment": ("apps", "deployments"), "CronJob": ("batch", "cronjobs")}
# Every fixture of the newest version of both levels, plus every 10th of the rest.
files = sorted(fixtures.rglob("*.yaml"))
for i, path in enumerate(files):
    if "/v1.37/" not in str(path) and i % 10:
        continue
    obj = yaml.safe_load(path.read_text())
    group, resource = groups.get(obj.get("kind"), ("", "pods"))
    for op in ("CREATE", "UPDATE"):
        request = {"uid": "0f1e-%d" % i, "operation": op, "namespace": "team",
                   "resource": {"group": group, "version": "v1", "resource": resource},
                   "userInfo": {"username": "alice"}, "object": obj}
        if op == "UPDATE":
            request["oldObject"] = obj
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "request": request}).encode()
        (out / hashlib.sha1(body).hexdigest()).write_bytes(body)
PY
else
  echo "seed.sh: no fixtures or no python3+PyYAML; admission_review starts from one review" >&2
  printf '%s' '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","operation":"CREATE","namespace":"team","resource":{"group":"","version":"v1","resource":"pods"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","securityContext":{"privileged":true}}]}}}}' \
    > "$corpus/admission_review/seed"
fi

for t in case_loader manifest_eval admission_review kyverno_policy; do
  echo "$t: $(find "$corpus/$t" -type f | wc -l) seeds"
done
