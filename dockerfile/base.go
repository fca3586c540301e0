package dockerfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nsscope/nsscope/model"
)

// TableVersion identifies the built-in base-image table; reports print it so
// a verdict can be traced to the facts it used. Change it whenever a row
// changes.
const TableVersion = "2026-11-26.1"

// latestGo is the Go release a tag without a version (golang:alpine,
// golang:latest) stands for when the table was written.
var latestGo = model.V(1, 26, -1)

// NSSKind says whether /etc/nsswitch.conf exists.
type NSSKind int

const (
	NSSUnknown NSSKind = iota // not known: unknown base, or changed in a way nsscope cannot follow
	NSSMissing                // the file does not exist
	NSSPresent                // the file exists with Data
)

func (k NSSKind) String() string {
	switch k {
	case NSSMissing:
		return "missing"
	case NSSPresent:
		return "present"
	}
	return "unknown"
}

// NSSwitch is the state of /etc/nsswitch.conf in a stage's filesystem.
type NSSwitch struct {
	Kind NSSKind
	Data []byte
	// Origin says what decided the state: the base-image table row or the
	// Dockerfile line (see Line).
	Origin string
	// Line is the Dockerfile line that created, overwrote or removed the
	// file; 0 when it comes from the base image.
	Line int
	// Note is a caveat about the state ("depends on the 3.16 patch
	// release").
	Note string
	// NoHosts, for an unknown file, says it has no hosts line (a sed
	// deleted them): what is appended next is its hosts line.
	NoHosts bool
}

// HostsLine returns the sources of the hosts: lines ("files dns"), "" when
// there are none or the file is not present.
func (n NSSwitch) HostsLine() string {
	if n.Kind != NSSPresent {
		return ""
	}
	var srcs []string
	for _, l := range strings.Split(string(n.Data), "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(k) == "hosts" {
			srcs = append(srcs, strings.Fields(v)...)
		}
	}
	return strings.Join(srcs, " ")
}

func (n NSSwitch) String() string {
	switch n.Kind {
	case NSSPresent:
		if h := n.HostsLine(); h != "" {
			return "present, hosts: " + h
		}
		return "present, no hosts: line"
	case NSSMissing:
		return "missing"
	}
	return "unknown"
}

// Base is what the table knows about a base image.
type Base struct {
	// Ref is the image reference as written (after ARG expansion).
	Ref string
	// Repo, Tag and Digest are its parts, Repo normalised (no docker.io/,
	// no library/).
	Repo, Tag, Digest string
	// Known reports that the table has a row for it; the other fields are
	// then facts, else guesses or zero.
	Known bool
	// Family is the table row family ("alpine", "debian", "golang", ...).
	Family   string
	NSSwitch NSSwitch
	Libc     model.Libc
	// Shell reports that /bin/sh exists, so RUN works.
	Shell bool
	// Go is the Go toolchain of golang images (zero otherwise).
	Go model.Version
	// CC reports that a C compiler is installed (it decides cgo's default).
	CC bool
	// Evidence cites where the row's facts come from.
	Evidence string
	// Reason explains an unknown base.
	Reason string
}

// Description is a short human description: "alpine:3.12 (musl 1.1.24, no
// /etc/nsswitch.conf)".
func (b Base) Description() string {
	if !b.Known {
		return fmt.Sprintf("%s (unknown base: %s)", b.Ref, b.Reason)
	}
	parts := []string{}
	if b.Libc.Known() {
		parts = append(parts, b.Libc.String())
	} else if b.Family == "scratch" || strings.HasPrefix(b.Family, "distroless-static") {
		parts = append(parts, "no libc")
	}
	if !b.Go.IsZero() {
		parts = append(parts, "Go "+b.Go.String())
	}
	switch b.NSSwitch.Kind {
	case NSSMissing:
		parts = append(parts, "no /etc/nsswitch.conf")
	case NSSPresent:
		parts = append(parts, "/etc/nsswitch.conf hosts: "+b.NSSwitch.HostsLine())
	}
	return fmt.Sprintf("%s (%s)", b.Ref, strings.Join(parts, ", "))
}

// File contents the table gives images that ship /etc/nsswitch.conf. Only
// the hosts line matters; the comments say where it came from.
const (
	nssAlpine = "# musl itself does not support NSS, however some third-party DNS\n" +
		"# implementations use the nsswitch.conf file to determine what\n" +
		"# policy to follow.\n" +
		"# Editing this file is not recommended.\n" +
		"hosts: files dns\n"
	nssFilesDNS          = "hosts:          files dns\n"
	nssFilesDNSHostname  = "hosts:      files dns myhostname\n"
	nssGolangAlpineImage = "hosts: files dns\n"
)

// alpineMusl is the musl release of each Alpine minor release.
var alpineMusl = map[int]model.Version{
	6: model.V(1, 1, 16), 7: model.V(1, 1, 18), 8: model.V(1, 1, 19), 9: model.V(1, 1, 20),
	10: model.V(1, 1, 22), 11: model.V(1, 1, 24), 12: model.V(1, 1, 24), 13: model.V(1, 2, 2),
	14: model.V(1, 2, 2), 15: model.V(1, 2, 2), 16: model.V(1, 2, 3), 17: model.V(1, 2, 3),
	18: model.V(1, 2, 4), 19: model.V(1, 2, 4), 20: model.V(1, 2, 5), 21: model.V(1, 2, 5),
	22: model.V(1, 2, 5),
}

// latestAlpine is the minor release alpine:latest pointed to when the
// table was written.
const latestAlpine = 22

// debianGlibc maps Debian code names and numbers to glibc releases.
var debianGlibc = map[string]model.Version{
	"jessie": model.V(2, 19, -1), "8": model.V(2, 19, -1),
	"stretch": model.V(2, 24, -1), "9": model.V(2, 24, -1),
	"buster": model.V(2, 28, -1), "10": model.V(2, 28, -1),
	"bullseye": model.V(2, 31, -1), "11": model.V(2, 31, -1),
	"bookworm": model.V(2, 36, -1), "12": model.V(2, 36, -1),
	"trixie": model.V(2, 41, -1), "13": model.V(2, 41, -1),
	"latest": model.V(2, 41, -1), "stable": model.V(2, 41, -1),
}

// ubuntuGlibc maps Ubuntu releases to glibc releases.
var ubuntuGlibc = map[string]model.Version{
	"14.04": model.V(2, 19, -1), "trusty": model.V(2, 19, -1),
	"16.04": model.V(2, 23, -1), "xenial": model.V(2, 23, -1),
	"18.04": model.V(2, 27, -1), "bionic": model.V(2, 27, -1),
	"20.04": model.V(2, 31, -1), "focal": model.V(2, 31, -1),
	"22.04": model.V(2, 35, -1), "jammy": model.V(2, 35, -1),
	"24.04": model.V(2, 39, -1), "noble": model.V(2, 39, -1),
	"latest": model.V(2, 39, -1), "rolling": model.V(2, 39, -1),
}

// ubiGlibc maps UBI major releases to glibc releases.
var ubiGlibc = map[int]model.Version{7: model.V(2, 17, -1), 8: model.V(2, 28, -1), 9: model.V(2, 34, -1), 10: model.V(2, 39, -1)}

// splitRef splits an image reference into a normalised repository, tag and
// digest. "docker.io/library/alpine:3.12" → "alpine", "3.12", "".
func splitRef(ref string) (repo, tag, digest string) {
	repo = ref
	if i := strings.IndexByte(repo, '@'); i >= 0 {
		repo, digest = repo[:i], repo[i+1:]
	}
	if i := strings.LastIndexByte(repo, ':'); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	repo = strings.ToLower(repo)
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		repo = strings.TrimPrefix(repo, p)
	}
	repo = strings.TrimPrefix(repo, "library/")
	return repo, tag, digest
}

// LookupBase returns what the table knows about an image reference. A
// digest-pinned reference is unknown (the digest, not the tag, decides
// what is pulled), as is any image without a row.
func LookupBase(ref string) Base {
	repo, tag, digest := splitRef(ref)
	b := Base{Ref: ref, Repo: repo, Tag: tag, Digest: digest}
	switch {
	case ref == "":
		b.Reason = "FROM names no image after ARG expansion (pass --build-arg)"
		return b
	case digest != "":
		b.Reason = "pinned by digest; the table knows tags only"
		if tag != "" {
			if t := LookupBase(strings.TrimSuffix(ref, "@"+digest)); t.Known {
				facts := strings.TrimSuffix(strings.TrimPrefix(t.Description(), t.Ref+" ("), ")")
				b.Reason += fmt.Sprintf("; the tag alone would mean %s", facts)
			}
		}
		return b
	case strings.Contains(ref, "$"):
		b.Reason = "the image name uses a variable that has no value"
		return b
	}
	if tag == "" {
		tag = "latest"
	}
	switch {
	case repo == "scratch":
		b.Known, b.Family = true, "scratch"
		b.NSSwitch = NSSwitch{Kind: NSSMissing}
		b.Evidence = "scratch is the empty image"
	case repo == "alpine":
		alpineRow(&b, tag)
	case repo == "busybox":
		busyboxRow(&b, tag)
	case repo == "debian":
		debianRow(&b, tag)
	case repo == "ubuntu":
		ubuntuRow(&b, tag)
	case repo == "fedora":
		b.Known, b.Family, b.Shell = true, "fedora", true
		b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNSHostname)}
		b.Libc = model.Libc{Kind: "glibc"}
		b.Evidence = "authselect writes hosts: files dns myhostname (authselect#47)"
	case strings.HasPrefix(repo, "registry.access.redhat.com/ubi") || strings.HasPrefix(repo, "redhat/ubi"):
		ubiRow(&b, repo)
	case strings.HasPrefix(repo, "gcr.io/distroless/"):
		distrolessRow(&b, strings.TrimPrefix(repo, "gcr.io/distroless/"), tag)
	case repo == "golang":
		golangRow(&b, tag)
	default:
		b.Reason = "not in nsscope's base-image table " + TableVersion
	}
	if b.Known && b.NSSwitch.Origin == "" {
		b.NSSwitch.Origin = fmt.Sprintf("base image %s (nsscope base-image table %s)", ref, TableVersion)
	}
	return b
}

// parseMinor parses "3.12", "3.12.1" into (3, 12, patch or -1).
func parseMinor(s string) (major, minor, patch int, ok bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	n := make([]int, 3)
	n[2] = -1
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 1000 {
			return 0, 0, 0, false
		}
		n[i] = v
	}
	return n[0], n[1], n[2], true
}

func alpineRow(b *Base, tag string) {
	minor, patch := latestAlpine, -1
	if tag != "latest" && tag != "edge" {
		// Tags like 3.12, 3.12.1, 20240606 (edge snapshots).
		maj, mi, pa, ok := parseMinor(tag)
		if !ok || maj != 3 {
			b.Reason = fmt.Sprintf("alpine tag %q is not a 3.x release", tag)
			return
		}
		minor, patch = mi, pa
	}
	alpineFacts(b, minor, patch, tag == "latest" || tag == "edge")
}

// alpineFacts fills b for Alpine 3.minor (patch -1: the tag without a
// patch, i.e. the newest rebuild).
func alpineFacts(b *Base, minor, patch int, latest bool) {
	b.Known, b.Family, b.Shell = true, "alpine", true
	b.Libc = model.Libc{Kind: "musl", Version: alpineMusl[minor]}
	switch {
	case minor < 16:
		b.NSSwitch = NSSwitch{Kind: NSSMissing}
		b.Evidence = "Alpine shipped no /etc/nsswitch.conf before 3.16 (gliderlabs/docker-alpine#367)"
	case minor == 16 && patch >= 0 && patch < 3:
		b.NSSwitch = NSSwitch{Kind: NSSMissing}
		b.Evidence = "alpine-baselayout-data added /etc/nsswitch.conf in 3.16.3 (aports 348653a9, Alpine 3.16.3 release notes)"
	case minor == 16:
		b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssAlpine),
			Note: "alpine:3.16 images built before 3.16.3 have no /etc/nsswitch.conf; the tag now points to a rebuild that has it"}
		b.Evidence = "alpine-baselayout-data ships /etc/nsswitch.conf from 3.16.3 (aports 348653a9; docker-library/golang#441)"
	default:
		b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssAlpine)}
		b.Evidence = "alpine-baselayout-data ships /etc/nsswitch.conf with hosts: files dns from 3.17 (temporalio/docker-builds#97)"
	}
	if latest {
		b.Evidence += fmt.Sprintf("; latest taken as 3.%d", minor)
	}
}

func busyboxRow(b *Base, tag string) {
	variant := "glibc"
	for _, v := range []string{"musl", "uclibc", "glibc"} {
		if tag == v || strings.HasSuffix(tag, "-"+v) {
			variant = v
		}
	}
	b.Known, b.Family, b.Shell = true, "busybox-"+variant, true
	switch variant {
	case "glibc":
		b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNS)}
		b.Libc = model.Libc{Kind: "glibc", Distro: "debian"}
		b.Evidence = "docker-library/busybox copies Debian's /etc/nsswitch.conf into the glibc variant; untagged variants are glibc on amd64 (versions.json order)"
	case "musl":
		b.NSSwitch = NSSwitch{Kind: NSSMissing}
		b.Libc = model.Libc{Kind: "musl"}
		b.Evidence = "docker-library/busybox musl variant ships no /etc/nsswitch.conf"
	case "uclibc":
		b.NSSwitch = NSSwitch{Kind: NSSMissing}
		b.Evidence = "docker-library/busybox uclibc variant ships no /etc/nsswitch.conf (uClibc itself is not modelled)"
	}
}

func debianRow(b *Base, tag string) {
	t := strings.TrimSuffix(tag, "-slim")
	if i := strings.IndexByte(t, '-'); i >= 0 { // bookworm-20240612
		t = t[:i]
	}
	if maj, _, _, ok := parseMinor(t); ok { // 12.5
		t = strconv.Itoa(maj)
	}
	g, ok := debianGlibc[t]
	if !ok {
		b.Reason = fmt.Sprintf("debian tag %q is not in the table", tag)
		return
	}
	b.Known, b.Family, b.Shell = true, "debian", true
	b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNS)}
	b.Libc = model.Libc{Kind: "glibc", Version: g, Distro: "debian"}
	b.Evidence = "Debian images ship /etc/nsswitch.conf with hosts: files dns (libc-bin; influxdata-docker#76)"
}

func ubuntuRow(b *Base, tag string) {
	t := tag
	if i := strings.IndexByte(t, '-'); i >= 0 { // jammy-20240530
		t = t[:i]
	}
	g, ok := ubuntuGlibc[t]
	if !ok {
		b.Reason = fmt.Sprintf("ubuntu tag %q is not in the table", tag)
		return
	}
	b.Known, b.Family, b.Shell = true, "ubuntu", true
	b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNS)}
	b.Libc = model.Libc{Kind: "glibc", Version: g, Distro: "debian"}
	b.Evidence = "Ubuntu images ship /etc/nsswitch.conf with hosts: files dns (ubuntu:jammy file, linuxserver/docker-baseimage-kasmvnc#6)"
}

func ubiRow(b *Base, repo string) {
	r := strings.TrimPrefix(strings.TrimPrefix(repo, "registry.access.redhat.com/"), "redhat/")
	// ubi8, ubi8/ubi, ubi8/ubi-minimal, ubi9-minimal
	head, rest, _ := strings.Cut(r, "/")
	head, minimal := strings.CutSuffix(head, "-minimal")
	if strings.Contains(rest, "micro") {
		b.Reason = "ubi-micro is not in the table"
		return
	}
	n, err := strconv.Atoi(strings.TrimPrefix(head, "ubi"))
	g, ok := ubiGlibc[n]
	if err != nil || !ok {
		b.Reason = fmt.Sprintf("%s is not in the table", repo)
		return
	}
	b.Known, b.Family, b.Shell = true, "ubi", true
	if minimal || strings.Contains(rest, "minimal") {
		b.Family = "ubi-minimal"
	}
	b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNSHostname),
		Note: "UBI's exact hosts: line is not verified; RHEL's authselect default is assumed"}
	b.Libc = model.Libc{Kind: "glibc", Version: g}
	b.Evidence = "RHEL images get /etc/nsswitch.conf from authselect (authselect#47)"
}

func distrolessRow(b *Base, image, tag string) {
	// static, static-debian12, base, base-nossl-debian12, cc-debian12,
	// java17-debian12, python3-debian12, nodejs20-debian12.
	name, deb, _ := strings.Cut(image, "-debian")
	name = strings.TrimSuffix(name, "-nossl")
	if strings.Contains(name, "/") {
		b.Reason = fmt.Sprintf("distroless image %q is not in the table", image)
		return
	}
	b.Known = true
	b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNS)}
	b.Evidence = "distroless images carry static/nsswitch.conf (hosts: files dns) since distroless PR #180 (2018)"
	// The debug tags add busybox, but at /busybox/sh, not /bin/sh.
	b.Shell = false
	if name == "static" {
		b.Family = "distroless-static"
		return
	}
	b.Family = "distroless-" + name
	g := model.Version{}
	switch deb {
	case "11":
		g = model.V(2, 31, -1)
	case "12", "":
		g = model.V(2, 36, -1)
	case "13":
		g = model.V(2, 41, -1)
	}
	b.Libc = model.Libc{Kind: "glibc", Version: g, Distro: "debian"}
}

// golangRow handles the official golang images: golang:1.15, 1.15.7,
// 1.15-alpine, 1.15-alpine3.12, 1.21-bookworm, alpine, latest.
func golangRow(b *Base, tag string) {
	ver, variant, _ := strings.Cut(tag, "-")
	var gv model.Version
	if v, err := model.ParseVersion(ver); err == nil && v.Major == 1 {
		gv = v
	} else {
		// golang:alpine, golang:bookworm, golang:latest.
		variant, gv = ver, latestGo
		if variant == "latest" {
			variant = ""
		}
	}
	b.Go = gv
	b.Family = "golang"
	switch {
	case strings.HasPrefix(variant, "alpine"):
		b.Known, b.Shell = true, true
		b.Family = "golang-alpine"
		minor := -1
		if a := strings.TrimPrefix(variant, "alpine"); a != "" {
			if _, mi, _, ok := parseMinor(a); ok {
				minor = mi
			}
		}
		b.Libc = model.Libc{Kind: "musl", Version: alpineMusl[minor]}
		// The official golang Alpine images write the file themselves
		// (docker-library/golang#217, May 2018, Go 1.10 images on), and
		// check it instead from Alpine 3.16 on (#441).
		if gv.AtLeast(1, 10, 0) {
			b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssGolangAlpineImage)}
			b.Evidence = "the official golang Alpine images write hosts: files dns to /etc/nsswitch.conf (docker-library/golang#217, #441); they have no C compiler"
		} else {
			b.NSSwitch = NSSwitch{Kind: NSSUnknown, Note: "golang Alpine images before Go 1.10 predate docker-library/golang#217"}
			b.Evidence = "the official golang Alpine images have no C compiler"
		}
		b.CC = false
	case variant == "" || variant == "buster" || variant == "bullseye" || variant == "bookworm" ||
		variant == "trixie" || variant == "stretch" || variant == "jessie":
		b.Known, b.Shell, b.CC = true, true, true
		d := variant
		if d == "" {
			d = "latest"
		}
		b.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(nssFilesDNS)}
		b.Libc = model.Libc{Kind: "glibc", Version: debianGlibc[d], Distro: "debian"}
		if variant == "" {
			// The Debian release under an untagged golang image moved with
			// time; the glibc version is not needed for the verdict.
			b.Libc.Version = model.Version{}
		}
		b.Evidence = "the official golang images without a variant are Debian-based (hosts: files dns) and include gcc"
	default:
		b.Reason = fmt.Sprintf("golang variant %q is not in the table", variant)
	}
}
