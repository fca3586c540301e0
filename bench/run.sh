#!/usr/bin/env bash
# Benchmark: nsscope against syft and trivy, and against one inflate pass,
# on a generated Debian-based image of more than 500 MB with more than 20 Go
# binaries (from Debian packages, plus some built here with the machine's
# Go): cold scans (nothing cached), warm scans (the same image again, from
# each tool's layer cache), and a warm scan of a second image that shares
# the first two layers. Not part of CI; anyone can run it:
#
#   bash bench/run.sh            # work dir /tmp/nsscope-bench, 5 rounds
#   RUNS=7 WORK=/var/tmp/b bash bench/run.sh
#
# Needs: go, apt-get (Debian/Ubuntu, for `apt-get download`), dpkg-deb,
# gzip, tar, GNU time (/usr/bin/time), jq or python3, gcc and musl-gcc
# (for the cgo test binaries). syft v1.57.1 and trivy v0.74.0 are installed
# into a temporary GOBIN with `go install` (trivy with GOEXPERIMENT=jsonv2,
# built niced: it is a long build); they are never dependencies of the
# module. trivy scans offline (no vulnerability database: an SBOM only).
set -euo pipefail

RUNS=${RUNS:-5}
WORK=${WORK:-/tmp/nsscope-bench}
SYFT_VERSION=${SYFT_VERSION:-v1.57.1}
TRIVY_VERSION=${TRIVY_VERSION:-v0.74.0}
# SYFT=0 leaves syft out (its build is long).
SYFT=${SYFT:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The distribution's Go toolchain package (golang-1.19-go on Debian 12) and
# packages that ship Go programs; names missing from the distribution are
# skipped, and the script checks that at least 20 Go binaries result.
GO_TOOLCHAIN=${GO_TOOLCHAIN:-$(apt-cache depends golang-go 2>/dev/null | awk '/Depends: golang-1\./ {print $2; exit}')}
PKGS=${PKGS:-"$GO_TOOLCHAIN rclone restic hugo gh git-lfs containerd runc age etcd-server caddy kubernetes-client micro fzf"}

mkdir -p "$WORK"/{debs,base,tools,layer1,layer2,layer3,out}
cd "$WORK"

log() { printf '== %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------
log "building nsscope"
(cd "$ROOT" && go build -o "$WORK/tools/nsscope" ./cmd/nsscope)
if [ "$SYFT" = 1 ] && [ ! -x "$WORK/tools/syft" ]; then
	log "installing syft $SYFT_VERSION into a temporary GOBIN"
	GOBIN="$WORK/tools" GOFLAGS=-mod=mod nice -n 10 go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION"
fi
if [ ! -x "$WORK/tools/trivy" ]; then
	log "installing trivy $TRIVY_VERSION into a temporary GOBIN (niced)"
	GOEXPERIMENT=jsonv2 GOBIN="$WORK/tools" GOFLAGS=-mod=mod nice -n 10 go install "github.com/aquasecurity/trivy/cmd/trivy@$TRIVY_VERSION"
fi
(cd "$ROOT" && go build -o "$WORK/tools/inflate" ./bench/inflate)
TIME=/usr/bin/time

# --- the image ---------------------------------------------------------------
if [ ! -f image.tar ]; then
	log "downloading Debian packages with Go binaries: $PKGS"
	for p in $PKGS; do
		(cd debs && apt-get download "$p" >/dev/null 2>&1) || log "package $p not available: skipped"
	done

	log "layer 1: a Debian base (the Priority: required packages and their dependencies) + the Go toolchain package"
	apt-cache dumpavail | awk '/^Package:/ {p = $2} /^Priority: required/ {print p}' | sort -u >base/required.txt
	apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances \
		$(cat base/required.txt) 2>/dev/null | grep -E '^[a-z0-9]' | sort -u >base/packages.txt
	(cd base && apt-get download $(cat packages.txt) >/dev/null 2>&1 || apt-get download $(cat packages.txt))
	for d in base/*.deb; do dpkg-deb -x "$d" layer1; done
	for d in debs/golang-*.deb; do dpkg-deb -x "$d" layer1; done

	log "layer 2: the other packages"
	for d in debs/*.deb; do
		case $d in debs/golang-*) continue ;; esac
		dpkg-deb -x "$d" layer2
	done

	log "layer 3: Go binaries built here (cgo, static, netgo, stripped, musl cgo) and nsscope"
	src=$(mktemp -d)
	cat >"$src/main.go" <<'EOF'
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	addrs, err := net.LookupHost(os.Args[1])
	fmt.Println(addrs, err)
}
EOF
	printf 'module example.com/probe\n\ngo 1.22\n' >"$src/go.mod"
	mkdir -p layer3/usr/local/bin
	(cd "$src" &&
		CGO_ENABLED=1 go build -o "$WORK/layer3/usr/local/bin/probe-cgo" . &&
		CGO_ENABLED=0 go build -o "$WORK/layer3/usr/local/bin/probe-static" . &&
		CGO_ENABLED=1 go build -tags netgo -o "$WORK/layer3/usr/local/bin/probe-netgo" . &&
		CGO_ENABLED=1 go build -ldflags='-s -w' -o "$WORK/layer3/usr/local/bin/probe-stripped" . &&
		{ CC=musl-gcc CGO_ENABLED=1 go build -o "$WORK/layer3/usr/local/bin/probe-musl" . || true; })
	rm -rf "$src"
	cp "$WORK/tools/nsscope" layer3/usr/local/bin/nsscope

	for i in 1 2 3; do
		log "compressing layer $i"
		tar -C "layer$i" -cf - . | gzip -6 >"out/layer$i.tar.gz"
	done
	log "assembling the image (docker save archive)"
	(cd "$ROOT" && go run ./bench/mkimage -out "$WORK/image.tar" -entrypoint /usr/local/bin/probe-static \
		"$WORK/out/layer1.tar.gz" "$WORK/out/layer2.tar.gz" "$WORK/out/layer3.tar.gz")
fi
if [ ! -f image2.tar ]; then
	log "a second image on the same two lower layers, with its own top layer"
	mkdir -p layer4/usr/local/bin
	cp layer3/usr/local/bin/probe-static layer4/usr/local/bin/app
	tar -C layer4 -cf - . | gzip -6 >out/layer4.tar.gz
	(cd "$ROOT" && go run ./bench/mkimage -out "$WORK/image2.tar" -tag nsscope-bench2:latest -entrypoint /usr/local/bin/app \
		"$WORK/out/layer1.tar.gz" "$WORK/out/layer2.tar.gz" "$WORK/out/layer4.tar.gz")
fi

UNCOMPRESSED=$(for i in 1 2 3; do gzip -dc "out/layer$i.tar.gz" | wc -c; done | awk '{s+=$1} END {print s}')
COMPRESSED=$(stat -c %s image.tar)
log "image: $(numfmt --to=iec "$COMPRESSED") archive, $(numfmt --to=iec "$UNCOMPRESSED") uncompressed"

# --- same Go binaries, same versions -----------------------------------------
log "comparing the Go binaries found"
[ "$SYFT" = 1 ] || echo '{"artifacts": []}' >syft.json
[ "$SYFT" = 1 ] && SYFT_CHECK_FOR_APP_UPDATE=false ./tools/syft scan "docker-archive:$WORK/image.tar" -o syft-json=syft.json -q
./tools/nsscope inspect --all --format json --no-cache --in image.tar >nsscope.json
python3 - <<'EOF' >compare.txt
import json
syft = set()
for a in json.load(open("syft.json"))["artifacts"]:
    if a.get("type") != "go-module":
        continue
    v = (a.get("metadata") or {}).get("goCompiledVersion", "")
    for loc in a.get("locations", []):
        syft.add((loc["path"], v))
ns = set()
for r in json.load(open("nsscope.json")):
    g = (r.get("binary") or {}).get("go")
    if g:
        ns.add((r["path"], g["version"]))
print(f"syft Go binaries: {len(syft)}; nsscope Go binaries: {len(ns)}")
print("only syft:", sorted(syft - ns))
print("only nsscope:", sorted(ns - syft))
print("SAME" if syft == ns else "DIFFERENT")
if len(ns) < 20:
    print(f"WARNING: only {len(ns)} Go binaries; the benchmark wants at least 20")
EOF
cat compare.txt >&2

# --- warm scans give the cold scan's findings ---------------------------------
log "comparing warm and cold nsscope scans"
rm -rf cache-check
./tools/nsscope scan --runtime none --format json --no-cache image.tar >scan-nocache.json || true
./tools/nsscope scan --runtime none --format json --cache-dir cache-check image.tar >scan-cold.json || true
./tools/nsscope scan --runtime none --format json --cache-dir cache-check image.tar >scan-warm.json || true
./tools/nsscope scan --runtime none --format json --no-cache image2.tar >scan2-nocache.json || true
./tools/nsscope scan --runtime none --format json --cache-dir cache-check image2.tar >scan2-warm.json || true
{
	cmp -s scan-nocache.json scan-cold.json && cmp -s scan-cold.json scan-warm.json && echo "nsscope warm scan: SAME findings as cold" || echo "nsscope warm scan: DIFFERENT from cold"
	cmp -s scan2-nocache.json scan2-warm.json && echo "nsscope scan of the image sharing two layers: SAME findings as cold" || echo "nsscope shared-base scan: DIFFERENT from cold"
} | tee -a compare.txt >&2
LARGEST=$(ls -S out/layer1.tar.gz out/layer2.tar.gz out/layer3.tar.gz | head -1)
log "largest layer: $LARGEST ($(numfmt --to=iec "$(stat -c %s "$LARGEST")"))"

# --- timing, interleaved ------------------------------------------------------
LAYERS=(out/layer1.tar.gz out/layer2.tar.gz out/layer3.tar.gz)
: >times.txt
TRIVY=(env TRIVY_DISABLE_VEX_NOTICE=true ./tools/trivy image --input image.tar --offline-scan --skip-db-update --skip-java-db-update --format cyclonedx -q)
# Warm caches, filled once before the timed rounds.
rm -rf cache-nsscope cache-trivy
./tools/nsscope scan --runtime none --format json --cache-dir cache-nsscope image.tar >/dev/null 2>&1 || true
"${TRIVY[@]}" --cache-dir cache-trivy >/dev/null 2>&1 || echo "trivy failed: $("${TRIVY[@]}" --cache-dir cache-trivy 2>&1 | tail -3)" >&2
measure() { # name, command...
	local name=$1
	shift
	$TIME -f "$name %e %M %U %S" -a -o times.txt "$@" >/dev/null 2>&1 || echo "$name exited non-zero" >&2
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$RUNS"); do
	log "round $r/$RUNS"
	measure nsscope ./tools/nsscope inspect --all --format json --no-cache --in image.tar
	measure nsscope-scan ./tools/nsscope scan --runtime none --format json --no-cache image.tar
	[ "$SYFT" = 1 ] && measure syft env SYFT_CHECK_FOR_APP_UPDATE=false ./tools/syft scan "docker-archive:$WORK/image.tar" -o syft-json -q
	[ "$SYFT" = 1 ] && measure syft-go-only env SYFT_CHECK_FOR_APP_UPDATE=false ./tools/syft scan "docker-archive:$WORK/image.tar" -o syft-json -q --override-default-catalogers go-module-binary-cataloger
	measure gzip-dc sh -c "gzip -dc ${LAYERS[*]} >/dev/null"
	measure inflate-largest ./tools/inflate "$LARGEST"
	measure inflate-all ./tools/inflate "${LAYERS[@]}"
	rm -rf cold-n cold-t cold-s
	measure nsscope-cold ./tools/nsscope scan --runtime none --format json --cache-dir cold-n image.tar
	measure nsscope-warm ./tools/nsscope scan --runtime none --format json --cache-dir cache-nsscope image.tar
	cp -r cache-nsscope cold-s
	measure nsscope-shared ./tools/nsscope scan --runtime none --format json --cache-dir cold-s image2.tar
	measure trivy-cold "${TRIVY[@]}" --cache-dir cold-t
	measure trivy-warm "${TRIVY[@]}" --cache-dir cache-trivy
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
python3 - "$UNCOMPRESSED" "$COMPRESSED" "$RUNS" "$LOAD_BEFORE" "$LOAD_AFTER" <<'EOF' | tee results.md
import statistics, sys, collections
unc, comp, runs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
names = ("nsscope", "nsscope-scan", "nsscope-cold", "nsscope-warm", "nsscope-shared", "syft", "syft-go-only",
         "trivy-cold", "trivy-warm", "gzip-dc", "inflate-largest", "inflate-all")
t = collections.defaultdict(list); m = collections.defaultdict(list); c = collections.defaultdict(list)
for line in open("times.txt"):
    p = line.split()
    if len(p) == 5 and p[0] in names:
        t[p[0]].append(float(p[1])); m[p[0]].append(int(p[2])); c[p[0]].append(float(p[3]) + float(p[4]))
med = {k: statistics.median(v) for k, v in t.items()}
print(f"image: {comp/1e6:.0f} MB docker save archive, {unc/1e6:.0f} MB uncompressed, 3 gzip layers; "
      f"median of {runs} interleaved runs; load average before {sys.argv[4]}, after {sys.argv[5]}")
print()
print("| command | median wall time | median CPU (user+sys) | peak RSS (max) | wall time / nsscope's |")
print("|---|---|---|---|---|")
for k in names:
    if k in med:
        print(f"| {k} | {med[k]:.2f} s | {statistics.median(c[k]):.2f} s | {max(m[k])/1024:.0f} MB | {med[k]/med['nsscope']:.2f}x |")
print()
def ratio(a, b):
    return f"{med[a]/med[b]:.2f}x" if a in med and b in med else "n/a"
print(f"cold scan (nsscope-scan, --no-cache) / one inflate of the largest layer: {ratio('nsscope-scan', 'inflate-largest')}")
print(f"CPU floor on 2 cores, inflate-all CPU / 2: {statistics.median(c['inflate-all'])/2:.2f} s; nsscope-scan wall: {med.get('nsscope-scan', 0):.2f} s")
print(f"syft / nsscope-scan: {ratio('syft', 'nsscope-scan')}; trivy-cold / nsscope-scan: {ratio('trivy-cold', 'nsscope-scan')}")
print(f"nsscope cold / warm: {ratio('nsscope-cold', 'nsscope-warm')}; trivy-warm / nsscope-warm: {ratio('trivy-warm', 'nsscope-warm')}")
print()
print("all runs (wall s):", {k: t[k] for k in names if k in t})
EOF
cat compare.txt
