#!/usr/bin/env bash
# Build (or reuse) the real kube-apiserver for the tests, from the Go module proxy.
#
#   bash .ci/kube-apiserver.sh 1.37.2        # prints the binary's path
#
# A throwaway module requires k8s.io/kubernetes at the release, replaces each
# k8s.io/* staging module (./staging/src/k8s.io/X in kubernetes' go.mod) by its
# published v0.MINOR.PATCH, adds kube-apiserver as a tool and builds it with
# CGO_ENABLED=0. The binary is cached by version in
# ${NSSCOPE_TEST_CACHE:-$HOME/.cache/nsscope-test}/kube-apiserver-vX.Y.Z,
# where the tests look for it. About 9 minutes cold on an idle 2-core
# machine (an hour niced on a busy one). Built with Go 1.26 here: 1.37.2 and
# 1.24.17 (whose module zip carries its generated OpenAPI code). A second
# build of the same version waits for the first (flock) and reuses it.
set -euo pipefail
ver="${1:?usage: kube-apiserver.sh VERSION (e.g. 1.37.2)}"
ver="${ver#v}"
cache="${NSSCOPE_TEST_CACHE:-$HOME/.cache/nsscope-test}"
out="$cache/kube-apiserver-v$ver"
if [ -x "$out" ]; then echo "$out"; exit 0; fi
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [ -x "$out" ]; then echo "$out"; exit 0; fi
work="$(mktemp -d "${TMPDIR:-/tmp}/nsscope-apiserver-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
go mod init nsscope.test/kube-apiserver >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@v$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[ -n "$gomod" ] || { echo "kube-apiserver.sh: cannot download k8s.io/kubernetes@v$ver" >&2; exit 1; }
minor="${ver#*.}"
staging="0.$minor"
grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$gomod" | awk '{print $1}' | sort -u |
while read -r m; do
  go mod edit -replace "$m=$m@v$staging"
done
go mod edit -require "k8s.io/kubernetes@v$ver"
go get -tool k8s.io/kubernetes/cmd/kube-apiserver@"v$ver" >&2
CGO_ENABLED=0 go build -trimpath -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$out.tmp" "$out"
echo "$out"
