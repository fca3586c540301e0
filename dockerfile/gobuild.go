package dockerfile

// This file reads go build and go install commands: the Go version (image
// tag, GOTOOLCHAIN, golang.org/dl wrappers), cgo and the netgo tag, and
// where the binary is written.

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/nsscope/nsscope/model"
)

var goVersionCmd = regexp.MustCompile(`^go(1\.[0-9]+(\.[0-9]+)?)$`)

func isGoCommand(w string) bool {
	base := path.Base(w)
	return base == "go" || goVersionCmd.MatchString(base)
}

// isDLInstall reports "go install golang.org/dl/goX.Y.Z@latest": it
// installs a toolchain wrapper, not the program.
func isDLInstall(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "golang.org/dl/") {
			return true
		}
	}
	return false
}

// installsCC reports a package-manager command installing a C compiler.
func installsCC(w []string) bool {
	install := false
	for _, x := range w[1:] {
		switch x {
		case "add", "install":
			install = true
		case "gcc", "build-base", "build-essential", "clang", "gcc-c++", "cc", "musl-gcc", "g++":
			if install {
				return true
			}
		}
	}
	return false
}

// goBuild records one go build/install command.
func (s *StageState) goBuild(a *Analysis, in Instr, c simpleCmd, env func(string) (string, bool)) {
	w := c.Words
	b := &GoBuild{Stage: s.Stage.Label(), Line: in.Line, Command: strings.Join(w, " ")}
	s.buildVersion(a, in, b, w[0], env)
	s.buildFlags(a.File.Name, in, b, w, env)
	if len(b.Outputs) == 0 {
		b.Outputs = []string{s.defaultOutput(w[1], env)}
	}
	s.buildCgo(a, in, b, c, env)
	if b.Cgo && !b.Netgo {
		b.Libc = s.Image.Libc
	}
	s.Builds = append(s.Builds, b)
}

// buildVersion sets the build's Go version: a goX.Y.Z command
// (golang.org/dl), else GOTOOLCHAIN, else the stage's toolchain; and
// where a fix would change it.
func (s *StageState) buildVersion(a *Analysis, in Instr, b *GoBuild, goCmd string, env func(string) (string, bool)) {
	b.Version, b.VersionFrom = s.Go, s.GoFrom
	if m := goVersionCmd.FindStringSubmatch(path.Base(goCmd)); m != nil {
		v, _ := model.ParseVersion(m[1])
		b.Version = v
		b.VersionFrom = fmt.Sprintf("%s:%d: built with %s (golang.org/dl)", a.File.Name, in.Line, path.Base(goCmd))
		b.VersionEdit = &versionSite{Line: in.Line, Old: path.Base(goCmd), Kind: "toolchain"}
	} else if tc, ok := firstOf(env, s.GoEnv, "GOTOOLCHAIN"); ok {
		s.applyToolchain(a, in, b, tc)
	} else if b.Version.IsZero() {
		b.Assumed = append(b.Assumed, "Go version unknown (the stage's image is not a golang image in the table)")
	} else if s.Parent == nil || s.Parent.Go.IsZero() || s.GoFrom != s.Parent.GoFrom {
		b.VersionEdit = s.fromVersionSite(a)
	} else {
		b.VersionEdit = rootFromVersionSite(a, s)
	}
}

// buildFlags reads the outputs (-o) and the netgo tag (-tags, or GOFLAGS)
// of the go command w.
func (s *StageState) buildFlags(name string, in Instr, b *GoBuild, w []string, env func(string) (string, bool)) {
	for i := 2; i < len(w); i++ {
		arg := w[i]
		switch {
		case arg == "-o" && i+1 < len(w):
			b.Outputs = append(b.Outputs, resolvePath(s.Workdir, w[i+1]))
			i++
		case strings.HasPrefix(arg, "-o="):
			b.Outputs = append(b.Outputs, resolvePath(s.Workdir, arg[3:]))
		case (arg == "-tags" || arg == "--tags") && i+1 < len(w):
			if hasTag(w[i+1], "netgo") {
				b.Netgo, b.NetgoFrom = true, fmt.Sprintf("%s:%d: -tags %s", name, in.Line, w[i+1])
			}
			i++
		case strings.HasPrefix(arg, "-tags=") || strings.HasPrefix(arg, "--tags="):
			_, v, _ := strings.Cut(arg, "=")
			if hasTag(v, "netgo") {
				b.Netgo, b.NetgoFrom = true, fmt.Sprintf("%s:%d: %s", name, in.Line, arg)
			}
		}
	}
	if gf, ok := firstOf(env, s.GoEnv, "GOFLAGS"); ok && !b.Netgo {
		for _, f := range strings.Fields(gf) {
			if _, v, ok := strings.Cut(f, "-tags="); ok && hasTag(v, "netgo") {
				b.Netgo, b.NetgoFrom = true, fmt.Sprintf("%s:%d: GOFLAGS=%s", name, in.Line, gf)
			}
		}
	}
}

// defaultOutput is where a go build or install without -o puts its
// binary: $GOBIN (or $GOPATH/bin, /root/go/bin by default) for install,
// the working directory for build.
func (s *StageState) defaultOutput(verb string, env func(string) (string, bool)) string {
	if verb != "install" {
		return strings.TrimSuffix(s.Workdir, "/") + "/"
	}
	gobin, ok := env("GOBIN")
	if !ok {
		gp, ok := env("GOPATH")
		if !ok {
			gp = "/root/go"
		}
		gobin = path.Join(gp, "bin")
	}
	return strings.TrimSuffix(gobin, "/") + "/"
}

// buildCgo decides whether cgo is on: CGO_ENABLED from the command, the
// RUN's exports, ENV/ARG or go env -w; else Go's default for the version
// and whether the stage has a C compiler.
func (s *StageState) buildCgo(a *Analysis, in Instr, b *GoBuild, c simpleCmd, env func(string) (string, bool)) {
	if v, ok := firstOf(env, s.GoEnv, "CGO_ENABLED"); ok {
		// The go command accepts only 0 and 1.
		src := "the RUN line"
		if _, inCmd := c.Assigns["CGO_ENABLED"]; !inCmd {
			src = s.cgoSource(a, in)
		}
		b.Cgo = strings.TrimSpace(v) == "1"
		b.CgoFrom = fmt.Sprintf("CGO_ENABLED=%s (%s)", v, src)
		return
	}
	s.defaultCgo(b)
}

// defaultCgo applies Go's default when CGO_ENABLED is not set: on with a
// C compiler in the stage; without one, off since Go 1.20 and on before
// (net's cgo resolver comes prebuilt with the standard library).
func (s *StageState) defaultCgo(b *GoBuild) {
	switch {
	case s.CC:
		b.Cgo = true
		b.CgoFrom = "CGO_ENABLED unset and a C compiler is present, so cgo is on (" + s.CCFrom + ")"
	case b.Version.IsZero():
		b.Cgo = false
		b.CgoFrom = "CGO_ENABLED unset, Go version unknown: cgo assumed off"
		b.Assumed = append(b.Assumed, "cgo assumed off")
	case b.Version.AtLeast(1, 20, 0):
		b.Cgo = false
		b.CgoFrom = fmt.Sprintf("CGO_ENABLED unset and no C compiler in the stage: Go %s (1.20+) turns cgo off", b.Version)
	default:
		b.Cgo = true
		b.CgoFrom = fmt.Sprintf("CGO_ENABLED unset: Go %s (before 1.20) keeps cgo on even without a C compiler, linking net's cgo resolver from its prebuilt standard library", b.Version)
	}
}

// applyToolchain applies GOTOOLCHAIN (Go 1.21+ only) to b.
func (s *StageState) applyToolchain(a *Analysis, in Instr, b *GoBuild, tc string) {
	name := a.File.Name
	tc = strings.TrimSpace(tc)
	mode, _, _ := strings.Cut(tc, "+")
	switch {
	case !b.Version.IsZero() && b.Version.Less(model.V(1, 21, 0)):
		b.Assumed = append(b.Assumed, fmt.Sprintf("GOTOOLCHAIN=%s ignored: Go %s predates toolchain switching (1.21)", tc, b.Version))
	case strings.HasPrefix(mode, "go"):
		v, err := model.ParseVersion(mode)
		if err != nil {
			b.Assumed = append(b.Assumed, fmt.Sprintf("GOTOOLCHAIN=%s not understood", tc))
			return
		}
		b.Version = v
		b.VersionFrom = fmt.Sprintf("%s:%d: GOTOOLCHAIN=%s", name, in.Line, tc)
		b.VersionEdit = nil
	case mode == "auto" || mode == "path":
		b.Assumed = append(b.Assumed, fmt.Sprintf("GOTOOLCHAIN=%s may switch to the newer toolchain go.mod names (never an older one)", tc))
	}
}

// firstOf looks a variable up in the command's environment, then in go env
// -w settings.
func firstOf(env func(string) (string, bool), goEnv map[string]string, k string) (string, bool) {
	if v, ok := env(k); ok {
		return v, true
	}
	v, ok := goEnv[k]
	return v, ok
}

// cgoSource says which instruction set CGO_ENABLED for a RUN at in.
func (s *StageState) cgoSource(a *Analysis, in Instr) string {
	if _, ok := s.Env["CGO_ENABLED"]; ok {
		return "ENV"
	}
	if _, ok := s.Args["CGO_ENABLED"]; ok {
		return "ARG"
	}
	if _, ok := s.GoEnv["CGO_ENABLED"]; ok {
		return "go env -w"
	}
	return "export in the RUN line"
}

func hasTag(list, tag string) bool {
	for _, t := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' }) {
		if t == tag {
			return true
		}
	}
	return false
}

// fromVersionSite says where the Go version of stage s is written: the
// FROM tag, or the ARG default it expands from.
func (s *StageState) fromVersionSite(a *Analysis) *versionSite {
	st := s.Stage
	raw := st.BaseRaw
	if !strings.Contains(raw, "$") {
		_, tag, _ := splitRef(raw)
		if tag == "" {
			return nil
		}
		return &versionSite{Line: st.From.Line, Old: tag, Kind: "from-tag"}
	}
	// FROM golang:${GO_VERSION}-alpine: the version is an ARG default.
	for _, in := range a.File.MetaArgs {
		for _, p := range in.Pairs {
			if p.HasValue && (strings.Contains(raw, "${"+p.Key+"}") || strings.Contains(raw, "$"+p.Key)) {
				if _, err := model.ParseVersion(p.Value); err == nil {
					return &versionSite{Line: in.Line, Old: p.Key + "=" + p.Value, Kind: "arg-default"}
				}
			}
		}
	}
	return nil
}

func rootFromVersionSite(a *Analysis, s *StageState) *versionSite {
	for s.Parent != nil {
		s = s.Parent
	}
	return s.fromVersionSite(a)
}
