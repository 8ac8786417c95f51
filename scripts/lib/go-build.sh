# Shared by scripts/build-*.sh: build a Go command from the module proxy (never a prebuilt
# binary) through a throwaway wrapper module, into "$OUT.partial", then publish it as
# "$OUT" with a BUILD-INFO file. Source it after setting NAME (for messages) and OUT.

# The cache root every build script keys its folders under.
CACHE=${PSS_HARNESS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pss-harness}

# go_build_begin: check for go, set the build environment, make "$work" (removed on exit)
# and an empty "$OUT.partial".
go_build_begin() {
  command -v go >/dev/null || { echo "$NAME: go is not installed" >&2; exit 1; }
  export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
  export CGO_ENABLED=0
  start=$(date +%s)
  work=$(mktemp -d "${TMPDIR:-/tmp}/pss-$NAME.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  rm -rf "$OUT.partial"
  mkdir -p "$OUT.partial"
}

# wrapper_module DIR MODULE VERSION PACKAGE: a module in DIR requiring MODULE@VERSION with
# PACKAGE imported (so `go mod tidy` resolves what PACKAGE needs); go.mod lines read from
# stdin are appended (replace directives).
wrapper_module() {
  local dir=$1 module=$2 version=$3 package=$4
  mkdir -p "$dir"
  {
    printf 'module pss-harness.local/%s\n\ngo 1.26\n\nrequire %s %s\n\n' \
      "$(basename "$dir")" "$module" "$version"
    cat
  } >"$dir/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >"$dir/tools.go"
  (cd "$dir" && go mod tidy -e >/dev/null 2>"$work/tidy.log") || {
    cat "$work/tidy.log" >&2
    exit 1
  }
}

# module_file MODULE@VERSION FIELD: a field of `go mod download -json` (GoMod, Dir, ...).
module_file() {
  (cd "$work" && go mod download -json "$1") |
    sed -n 's/^[[:space:]]*"'"$2"'": "\(.*\)",$/\1/p'
}

# go_build_publish LINE...: write BUILD-INFO (the given lines, then the toolchain, date
# and disk use), move "$OUT.partial" to "$OUT", print BUILD-INFO to stderr.
go_build_publish() {
  {
    printf '%s\n' "$@"
    go version
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores"
    echo "files: $(du -sh "$OUT.partial" | cut -f1)"
    echo "go module cache: $(du -sh "$(go env GOMODCACHE)" 2>/dev/null | cut -f1)"
    echo "go build cache: $(du -sh "$(go env GOCACHE)" 2>/dev/null | cut -f1)"
  } >"$OUT.partial/BUILD-INFO"
  rm -rf "$OUT"
  mv "$OUT.partial" "$OUT"
  cat "$OUT/BUILD-INFO" >&2
}
