package dockerfile

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/nsscope/nsscope/model"
)

// NSSwitchPath is the file this package follows.
const NSSwitchPath = "/etc/nsswitch.conf"

// Options steer Analyze.
type Options struct {
	// BuildArgs are --build-arg values; they override ARG defaults.
	BuildArgs map[string]string
	// Target is the stage to analyse (name or index, like docker build
	// --target); "" means the last stage.
	Target string
	// Context is the build context (the Dockerfile's directory), read for
	// COPY/ADD sources that land on /etc/nsswitch.conf. Nil: such files
	// are unknown.
	Context fs.FS
}

// Analysis is what Analyze found.
type Analysis struct {
	File   *File
	Stages []*StageState
	// Final is the stage the image is built from.
	Final *StageState
	// Programs are the programs that end up in the final image.
	Programs []*Program
	// Entrypoint is the final stage's ENTRYPOINT/CMD program, when known.
	Entrypoint string
	// Notes are things nsscope could not follow.
	Notes []string
}

// StageState is a stage after its instructions ran, as far as name
// resolution is concerned.
type StageState struct {
	Stage *Stage
	// Base is the FROM reference after ARG expansion.
	Base string
	// Parent is the stage this one is built FROM, when it names a stage.
	Parent *StageState
	// Image is the base image at the root of the FROM chain.
	Image Base
	// FromStageChain lists the stages from the root to this one.
	NSSwitch NSSwitch
	Shell    bool
	// CC reports a C compiler (from the image or installed by RUN).
	CC     bool
	CCFrom string
	// Go is the Go toolchain of the stage and where that came from.
	Go     model.Version
	GoFrom string
	// Env are ENV values; Args the ARG values in scope at the end.
	Env  map[string]string
	Args map[string]string
	// GoEnv are values written with go env -w.
	GoEnv map[string]string
	// Builds are the go build/install commands run in this stage (and
	// inherited from its parent stage).
	Builds []*GoBuild
	// Programs are the programs in this stage's filesystem.
	Programs []*Program
	// Workdir is the working directory at the end.
	Workdir string
	// Entry is the ENTRYPOINT/CMD program (first word).
	Entry     string
	EntryLine int
	EntryIsEP bool
	// User is the USER in effect at the end ("" for the image's default).
	User string
	// FromUser is the USER inherited at FROM (from a parent stage).
	FromUser string
}

// GoBuild is one go build or go install command.
type GoBuild struct {
	Stage string
	Line  int
	// Command is the command as nsscope read it.
	Command string
	// Outputs are the paths the binary is written to; a path ending in
	// "/" is a directory whose file name nsscope does not know.
	Outputs []string
	Version model.Version
	// VersionFrom says where the version came from.
	VersionFrom string
	// VersionEdit, when set, is how to bump the version: the line and the
	// text to replace in it.
	VersionEdit *versionSite
	Cgo         bool
	CgoFrom     string
	Netgo       bool
	NetgoFrom   string
	// Libc is the C library a cgo build links against.
	Libc model.Libc
	// Assumed lists facts that are guesses.
	Assumed []string
}

// versionSite is where the Go version is written in the Dockerfile.
type versionSite struct {
	Line int
	Old  string // the text holding the version
	Kind string // "from-tag", "arg-default", "toolchain"
}

// Program is one program in the final image.
type Program struct {
	// Path in the image; Line the Dockerfile line that put it there.
	Path string
	Line int
	// Build is the Go build it came from (nil for the base image's C
	// programs).
	Build *GoBuild
	// Libc is set for the base image's C programs.
	Libc model.Libc
	// FromStage names the stage it was copied from.
	FromStage string
	Main      bool
	// Reasons is how nsscope followed it, in order.
	Reasons []string
}

// Analyze follows the target stage of f.
func Analyze(f *File, opt Options) (*Analysis, error) {
	a := &Analysis{File: f}
	meta := metaArgs(f, opt.BuildArgs)
	for _, st := range f.Stages {
		s := newStageState(a, st, meta, opt)
		a.Stages = append(a.Stages, s)
		for _, in := range st.Instrs {
			s.apply(a, in, meta, opt)
		}
	}
	final, err := targetStage(a, opt.Target)
	if err != nil {
		return nil, &Error{File: f.Name, Msg: err.Error(), Err: err}
	}
	a.Final = final
	a.Entrypoint = final.Entry
	for _, p := range final.Programs {
		p := *p
		p.Main = final.Entry != "" && matchesEntry(p.Path, final.Entry, final.Workdir)
		a.Programs = append(a.Programs, &p)
	}
	// Programs built in the final stage itself or the stages it is built
	// FROM (a single-stage build).
	for _, b := range final.Builds {
		if slices.ContainsFunc(final.Programs, func(p *Program) bool { return p.Build == b }) {
			continue
		}
		out := b.Outputs[0]
		if dir, isDir := strings.CutSuffix(out, "/"); isDir {
			// go build without -o names the binary after the package:
			// the ENTRYPOINT tells it when it runs from that directory.
			if e := resolvePath(final.Workdir, final.Entry); final.Entry != "" && path.Dir(e) == path.Clean("/"+dir) {
				out = e
			} else {
				out += "(go build output)"
			}
		}
		p := &Program{Path: out, Line: b.Line, Build: b, FromStage: b.Stage,
			Reasons: []string{fmt.Sprintf("%s:%d: built in stage %s, which the image is built from: %s", f.Name, b.Line, b.Stage, b.Command)}}
		p.Main = final.Entry != "" && matchesEntry(p.Path, final.Entry, final.Workdir)
		a.Programs = append(a.Programs, p)
	}
	for _, p := range a.Programs {
		if b := p.Build; b != nil && b.Cgo && !b.Netgo && b.Libc.Known() && final.Image.Known && b.Libc.Kind != final.Image.Libc.Kind {
			a.Notes = append(a.Notes, fmt.Sprintf("%s is a cgo build linked against %s (stage %s) but the image has %s: it will not start unless that C library is installed", p.Path, b.Libc.Kind, b.Stage, orNone(final.Image.Libc.Kind)))
		}
	}
	if final.Image.Libc.Known() {
		a.Programs = append(a.Programs, &Program{
			Path: "C programs", Line: final.Stage.From.Line, Libc: final.Image.Libc,
			Reasons: []string{fmt.Sprintf("%s:%d: base image %s uses %s", f.Name, final.Stage.From.Line, final.Image.Ref, final.Image.Libc)},
		})
	}
	return a, nil
}

// metaArgs evaluates the ARGs before the first FROM, plus BuildKit's
// predefined platform arguments.
func metaArgs(f *File, buildArgs map[string]string) map[string]string {
	m := map[string]string{
		"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64",
	}
	for _, in := range f.MetaArgs {
		for _, p := range in.Pairs {
			if v, ok := buildArgs[p.Key]; ok {
				m[p.Key] = v
				continue
			}
			if p.HasValue {
				m[p.Key] = expandWord(f.Escape, p.Value, m)
			}
		}
	}
	return m
}

// expandWord expands variables in a Dockerfile word with BuildKit's lexer.
// Unset variables expand to "" (as BuildKit does); a word the lexer
// rejects is returned unchanged.
func expandWord(escape rune, word string, vars map[string]string) string {
	lex := shell.NewLex(escape)
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	out, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(env))
	if err != nil {
		return word
	}
	return out
}

func targetStage(a *Analysis, target string) (*StageState, error) {
	if target == "" {
		return a.Stages[len(a.Stages)-1], nil
	}
	for _, s := range a.Stages {
		if s.Stage.Name == strings.ToLower(target) {
			return s, nil
		}
	}
	if n, err := strconv.Atoi(target); err == nil && n >= 0 && n < len(a.Stages) {
		return a.Stages[n], nil
	}
	return nil, fmt.Errorf("no stage named %q", target)
}

func findStage(a *Analysis, ref string) *StageState {
	ref = strings.ToLower(ref)
	for _, s := range a.Stages {
		if s.Stage.Name != "" && s.Stage.Name == ref {
			return s
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < len(a.Stages) {
		return a.Stages[n]
	}
	return nil
}

func newStageState(a *Analysis, st *Stage, meta map[string]string, opt Options) *StageState {
	s := &StageState{Stage: st, Env: map[string]string{}, Args: map[string]string{}, GoEnv: map[string]string{}, Workdir: "/"}
	s.Base = expandWord(a.File.Escape, st.BaseRaw, meta)
	name := a.File.Name
	if p := findStageByName(a, s.Base); p != nil {
		s.Parent = p
		s.Image = p.Image
		s.NSSwitch = p.NSSwitch
		s.Shell, s.CC, s.CCFrom = p.Shell, p.CC, p.CCFrom
		s.Go, s.GoFrom = p.Go, p.GoFrom
		maps(s.Env, p.Env)
		maps(s.GoEnv, p.GoEnv)
		s.Builds = append(s.Builds, p.Builds...)
		s.Programs = append(s.Programs, p.Programs...)
		s.Workdir = p.Workdir
		s.Entry, s.EntryLine, s.EntryIsEP = p.Entry, p.EntryLine, p.EntryIsEP
		s.User, s.FromUser = p.User, p.User
		return s
	}
	s.Image = LookupBase(s.Base)
	if !s.Image.Known && strings.Contains(st.BaseRaw, "$") && s.Base == "" {
		a.Notes = append(a.Notes, fmt.Sprintf("%s:%d: FROM %s expands to nothing; pass --build-arg", name, st.From.Line, st.BaseRaw))
	}
	s.NSSwitch = s.Image.NSSwitch
	if !s.Image.Known {
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("base image %s (%s)", s.Base, s.Image.Reason)}
	}
	s.Shell = s.Image.Shell || !s.Image.Known
	s.CC = s.Image.CC
	if s.CC {
		s.CCFrom = fmt.Sprintf("%s:%d: %s includes gcc", name, st.From.Line, s.Base)
	}
	if !s.Image.Go.IsZero() {
		s.Go = s.Image.Go
		s.GoFrom = fmt.Sprintf("%s:%d: FROM %s", name, st.From.Line, s.Base)
	}
	if s.Image.Family == "golang" || s.Image.Family == "golang-alpine" {
		// The golang images set GOPATH=/go and put go install output there.
		s.Env["GOPATH"] = "/go"
		s.Workdir = "/go"
	}
	return s
}

func findStageByName(a *Analysis, ref string) *StageState {
	ref = strings.ToLower(ref)
	for _, s := range a.Stages {
		if s.Stage.Name != "" && s.Stage.Name == ref {
			return s
		}
	}
	return nil
}

func maps(dst, src map[string]string) {
	for k, v := range src {
		dst[k] = v
	}
}

// vars returns the variables a RUN sees: ARGs, then ENV (ENV wins).
func (s *StageState) vars() map[string]string {
	m := make(map[string]string, len(s.Args)+len(s.Env))
	maps(m, s.Args)
	maps(m, s.Env)
	return m
}

func (s *StageState) apply(a *Analysis, in Instr, meta map[string]string, opt Options) {
	name := a.File.Name
	switch in.Cmd {
	case "arg":
		for _, p := range in.Pairs {
			switch v, ok := opt.BuildArgs[p.Key]; {
			case ok:
				s.Args[p.Key] = v
			case p.HasValue:
				s.Args[p.Key] = expandWord(a.File.Escape, p.Value, s.vars())
			default:
				if v, ok := meta[p.Key]; ok {
					s.Args[p.Key] = v
				}
			}
		}
	case "env":
		for _, p := range in.Pairs {
			s.Env[p.Key] = expandWord(a.File.Escape, p.Value, s.vars())
		}
	case "workdir":
		if len(in.Args) > 0 {
			s.Workdir = resolvePath(s.Workdir, expandWord(a.File.Escape, in.Args[0], s.vars()))
		}
	case "entrypoint", "cmd":
		if len(in.Args) == 0 {
			return
		}
		w := in.Args[0]
		if !in.JSON {
			w, _, _ = strings.Cut(strings.TrimSpace(w), " ")
		}
		if in.Cmd == "cmd" && s.EntryIsEP {
			return // CMD only supplies arguments to an ENTRYPOINT
		}
		s.Entry, s.EntryLine, s.EntryIsEP = w, in.Line, in.Cmd == "entrypoint"
	case "run":
		s.run(a, in)
	case "copy", "add":
		s.copy(a, in, opt)
	case "user":
		if len(in.Args) > 0 {
			s.User = expandWord(a.File.Escape, in.Args[0], s.vars())
		}
	case "onbuild", "shell", "label", "expose", "volume", "healthcheck", "stopsignal", "maintainer":
		// Nothing here changes name resolution.
	default:
		a.Notes = append(a.Notes, fmt.Sprintf("%s:%d: %s not followed", name, in.Line, strings.ToUpper(in.Cmd)))
	}
}

// resolvePath makes p absolute against dir.
func resolvePath(dir, p string) string {
	if p == "" {
		return dir
	}
	if !strings.HasPrefix(p, "/") {
		p = path.Join(dir, p)
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

var goVersionCmd = regexp.MustCompile(`^go(1\.[0-9]+(\.[0-9]+)?)$`)

// run follows one RUN instruction.
func (s *StageState) run(a *Analysis, in Instr) {
	name := a.File.Name
	script := ""
	var heredocs []Heredoc
	switch {
	case in.JSON:
		// RUN ["sh", "-c", "..."] runs a script; other exec forms run one
		// program with these arguments.
		if len(in.Args) >= 3 && (strings.HasSuffix(in.Args[0], "sh") || strings.HasSuffix(in.Args[0], "bash")) && in.Args[1] == "-c" {
			script = in.Args[2]
		} else {
			script = shellQuoteAll(in.Args)
		}
	case isHeredocScript(in):
		// RUN <<EOF: the here-document is the script the shell runs.
		for _, h := range in.Heredocs {
			script += h.Content + "\n"
		}
	default:
		script = strings.Join(in.Args, " ")
		heredocs = in.Heredocs
		if heredocs == nil {
			heredocs = []Heredoc{}
		}
	}
	vars := s.vars()
	exported := map[string]string{}
	lookup := func(k string) (string, bool) {
		if v, ok := exported[k]; ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	}
	cmds := splitScript(script, lookup, heredocs)
	ev := &evalState{}
	for i := range cmds {
		isIf := ev.keywords(&cmds[i])
		c := cmds[i]
		runs := ev.runs()
		// Environment of this command.
		env := func(k string) (string, bool) {
			if v, ok := c.Assigns[k]; ok {
				return v, true
			}
			return lookup(k)
		}
		w := c.Words
		var result tri = triTrue
		switch {
		case len(w) == 0:
			for k, v := range c.Assigns {
				exported[k] = v // a bare assignment acts like export for later go lines in this RUN
			}
		case w[0] == "export":
			for _, kv := range w[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok && isName(k) {
					exported[k] = v
				}
			}
		case isTest(w):
			result = s.testNSSwitch(w)
		case w[0] == "go" && len(w) >= 3 && w[1] == "env" && w[2] == "-w":
			for _, kv := range w[3:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					s.GoEnv[k] = v
				}
			}
		case isGoCommand(w[0]) && len(w) >= 2 && (w[1] == "build" || w[1] == "install"):
			if w[1] == "install" && isDLInstall(w[2:]) {
				break
			}
			if runs == triFalse {
				break
			}
			s.goBuild(a, in, c, env)
		case w[0] == "apk" || w[0] == "apt-get" || w[0] == "apt" || w[0] == "dnf" || w[0] == "yum" || w[0] == "microdnf":
			if installsCC(w) {
				s.CC = true
				s.CCFrom = fmt.Sprintf("%s:%d: %s installs a C compiler", name, in.Line, w[0])
			}
		}
		s.nssEffects(a, in, cmds, i, runs)
		ev.step(result, c.Next, isIf)
	}
}

// isHeredocScript reports "RUN <<EOF" (optionally <<-EOF, <<'EOF'): the
// line holds nothing but the here-document, which is then the script. In
// "RUN python3 <<EOF" the here-document is a command's standard input.
func isHeredocScript(in Instr) bool {
	if len(in.Heredocs) == 0 || len(in.Args) != 1 {
		return false
	}
	w := strings.Fields(in.Args[0])
	return len(w) == 1 && strings.HasPrefix(w[0], "<<")
}

// shellQuoteAll joins exec-form arguments into a script.
func shellQuoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

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
	name := a.File.Name
	w := c.Words
	b := &GoBuild{Stage: s.Stage.Label(), Line: in.Line, Command: strings.Join(w, " ")}
	// Version: goX.Y.Z build, else GOTOOLCHAIN, else the stage's toolchain.
	b.Version, b.VersionFrom = s.Go, s.GoFrom
	if m := goVersionCmd.FindStringSubmatch(path.Base(w[0])); m != nil {
		v, _ := model.ParseVersion(m[1])
		b.Version = v
		b.VersionFrom = fmt.Sprintf("%s:%d: built with %s (golang.org/dl)", name, in.Line, path.Base(w[0]))
		b.VersionEdit = &versionSite{Line: in.Line, Old: path.Base(w[0]), Kind: "toolchain"}
	} else if tc, ok := firstOf(env, s.GoEnv, "GOTOOLCHAIN"); ok {
		s.applyToolchain(a, in, b, tc)
	} else if b.Version.IsZero() {
		b.Assumed = append(b.Assumed, "Go version unknown (the stage's image is not a golang image in the table)")
	} else if s.Parent == nil || s.Parent.Go.IsZero() || s.GoFrom != s.Parent.GoFrom {
		b.VersionEdit = s.fromVersionSite(a)
	} else {
		b.VersionEdit = rootFromVersionSite(a, s)
	}
	// Flags.
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
	if len(b.Outputs) == 0 {
		if w[1] == "install" {
			gobin, ok := env("GOBIN")
			if !ok {
				gp, ok := env("GOPATH")
				if !ok {
					gp = "/root/go"
				}
				gobin = path.Join(gp, "bin")
			}
			b.Outputs = append(b.Outputs, strings.TrimSuffix(gobin, "/")+"/")
		} else {
			b.Outputs = append(b.Outputs, strings.TrimSuffix(s.Workdir, "/")+"/")
		}
	}
	// cgo: CGO_ENABLED from the command, the RUN's exports, ENV/ARG, go env
	// -w; else Go's default.
	if v, ok := firstOf(env, s.GoEnv, "CGO_ENABLED"); ok {
		// The go command accepts only 0 and 1.
		on := strings.TrimSpace(v) == "1"
		src := "the RUN line"
		if _, inCmd := c.Assigns["CGO_ENABLED"]; !inCmd {
			src = s.cgoSource(a, in)
		}
		b.Cgo = on
		b.CgoFrom = fmt.Sprintf("CGO_ENABLED=%s (%s)", v, src)
	} else {
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
	if b.Cgo && !b.Netgo {
		b.Libc = s.Image.Libc
	}
	s.Builds = append(s.Builds, b)
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

// tri is a three-valued truth.
type tri int

const (
	triTrue tri = iota
	triFalse
	triUnknown
)

// evalState tracks whether the next command of an and-or list runs.
type evalState struct {
	next tri // does the next command run
	// ifStack holds the truth of enclosing if conditions.
	ifStack []tri
}

func (e *evalState) runs() tri {
	r := e.next
	for _, t := range e.ifStack {
		if t == triFalse {
			return triFalse
		}
		if t == triUnknown && r == triTrue {
			r = triUnknown
		}
	}
	return r
}

// keywords strips the if/then/else/elif/fi keywords that start c and
// applies them; it reports whether c is the condition of an if.
func (e *evalState) keywords(c *simpleCmd) bool {
	isIf := false
	for len(c.Words) > 0 {
		switch c.Words[0] {
		case "if":
			isIf = true
		case "then", "do", "done", "!":
		case "else":
			if n := len(e.ifStack); n > 0 {
				e.ifStack[n-1] = not(e.ifStack[n-1])
			}
		case "elif":
			if n := len(e.ifStack); n > 0 {
				e.ifStack[n-1] = triUnknown
			}
		case "fi":
			if n := len(e.ifStack); n > 0 {
				e.ifStack = e.ifStack[:n-1]
			}
		default:
			return isIf
		}
		c.Words = c.Words[1:]
	}
	return isIf
}

// step records the result of a command and the operator after it.
func (e *evalState) step(result tri, next op, isIf bool) {
	ran := e.runs()
	if isIf {
		// "if [ -e f ]; then": the branch runs when the condition holds.
		if ran == triFalse {
			result = triFalse
		}
		e.ifStack = append(e.ifStack, result)
		e.next = triTrue
		return
	}
	switch next {
	case opAnd:
		switch {
		case ran == triFalse:
			e.next = triFalse
		case result == triTrue && ran == triTrue:
			e.next = triTrue
		case result == triFalse && ran == triTrue:
			e.next = triFalse
		default:
			e.next = triUnknown
		}
	case opOr:
		switch {
		case ran == triFalse:
			e.next = triTrue
		case result == triTrue && ran == triTrue:
			e.next = triFalse
		case result == triFalse && ran == triTrue:
			e.next = triTrue
		default:
			e.next = triUnknown
		}
	default:
		e.next = triTrue
	}
}

func not(t tri) tri {
	switch t {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

// isTest reports a [ ... ] or test ... command.
func isTest(w []string) bool {
	return len(w) > 0 && (w[0] == "[" || w[0] == "test" || w[0] == "[[")
}

// testNSSwitch evaluates an existence test of /etc/nsswitch.conf against
// the stage's state; other tests are unknown.
func (s *StageState) testNSSwitch(w []string) tri {
	args := w[1:]
	if n := len(args); n > 0 && (args[n-1] == "]" || args[n-1] == "]]") {
		args = args[:n-1]
	}
	negate := false
	if len(args) > 0 && args[0] == "!" {
		negate, args = true, args[1:]
	}
	if len(args) != 2 || args[1] != NSSwitchPath || (args[0] != "-e" && args[0] != "-f" && args[0] != "-s") {
		return triUnknown
	}
	var r tri
	switch s.NSSwitch.Kind {
	case NSSPresent:
		r = triTrue
		if args[0] == "-s" && len(s.NSSwitch.Data) == 0 {
			r = triFalse
		}
	case NSSMissing:
		r = triFalse
	default:
		return triUnknown
	}
	if negate {
		r = not(r)
	}
	return r
}

// nssEffects applies what command i of a RUN does to /etc/nsswitch.conf.
func (s *StageState) nssEffects(a *Analysis, in Instr, cmds []simpleCmd, i int, runs tri) {
	if runs == triFalse {
		return
	}
	c := cmds[i]
	name := a.File.Name
	where := fmt.Sprintf("%s:%d", name, in.Line)
	w := c.Words
	// Output redirected to the file: echo, printf, cat <<EOF.
	for _, r := range c.Out {
		if path.Clean(r.Target) != NSSwitchPath {
			continue
		}
		content, ok := commandOutput(cmds, i)
		s.write(where, in.Line, content, ok, r.Append, runs, strings.Join(w, " "))
	}
	if len(w) == 0 {
		return
	}
	if !knownNSSCommand[path.Base(w[0])] && (slices.ContainsFunc(w, func(x string) bool { return strings.Contains(x, NSSwitchPath) }) || strings.Contains(c.In, NSSwitchPath)) {
		// A program nsscope does not read (python, a script) names the
		// file: it may change it.
		s.setNSS(runs, NSSwitch{Kind: NSSUnknown, Origin: where + ": " + w[0] + " names " + NSSwitchPath + " (not followed)", Line: in.Line})
		return
	}
	switch w[0] {
	case "tee":
		appendMode := false
		for _, x := range w[1:] {
			if x == "-a" || x == "--append" {
				appendMode = true
			}
			if path.Clean(x) == NSSwitchPath {
				var content string
				var ok bool
				switch {
				case c.HasIn:
					content, ok = c.In, true
				case i > 0 && cmds[i-1].Next == opPipe:
					content, ok = commandOutput(cmds, i-1)
				}
				s.write(where, in.Line, content, ok, appendMode, runs, "tee")
			}
		}
	case "rm", "unlink":
		for _, x := range w[1:] {
			if strings.HasPrefix(x, "-") {
				continue
			}
			p := path.Clean(x)
			if p == NSSwitchPath || p == "/etc" || strings.HasPrefix(p, "/etc/nsswitch") && strings.Contains(p, "*") {
				s.setNSS(runs, NSSwitch{Kind: NSSMissing, Origin: where + ": " + strings.Join(w, " "), Line: in.Line})
			}
		}
	case "cp", "mv", "ln", "install", "sed", "perl", "truncate", "touch", "dd", "chattr":
		for _, x := range w[1:] {
			if path.Clean(x) != NSSwitchPath {
				continue
			}
			if w[0] == "touch" {
				if s.NSSwitch.Kind == NSSMissing {
					s.setNSS(runs, NSSwitch{Kind: NSSPresent, Data: nil, Origin: where + ": touch", Line: in.Line})
				}
				break
			}
			if w[0] == "sed" {
				if !slices.ContainsFunc(w, func(x string) bool { return strings.HasPrefix(x, "-i") }) {
					break // prints, does not edit
				}
				if s.NSSwitch.Kind == NSSPresent {
					if data, ok := sedSubstitute(w[1:], s.NSSwitch.Data); ok {
						s.setNSS(runs, NSSwitch{Kind: NSSPresent, Data: data, Origin: where + ": " + strings.Join(w, " "), Line: in.Line})
						break
					}
				}
			}
			s.setNSS(runs, NSSwitch{Kind: NSSUnknown, Origin: where + ": " + strings.Join(w, " ") + " (not followed)", Line: in.Line})
		}
	}
}

// knownNSSCommand lists the commands whose effect on /etc/nsswitch.conf
// nssEffects follows: the writers it handles and commands that only read.
var knownNSSCommand = map[string]bool{
	"tee": true, "rm": true, "unlink": true, "cp": true, "mv": true, "ln": true, "install": true,
	"sed": true, "perl": true, "truncate": true, "touch": true, "dd": true, "chattr": true,
	"cat": true, "grep": true, "egrep": true, "fgrep": true, "head": true, "tail": true, "ls": true,
	"stat": true, "test": true, "[": true, "[[": true, "diff": true, "cmp": true, "md5sum": true,
	"sha1sum": true, "sha256sum": true, "wc": true, "file": true, "readlink": true, "realpath": true,
	"echo": true, "printf": true, "getent": true, "chmod": true, "chown": true,
}

// commandOutput returns what command i prints, when nsscope can tell.
func commandOutput(cmds []simpleCmd, i int) (string, bool) {
	c := cmds[i]
	if len(c.Words) == 0 {
		return "", false
	}
	switch c.Words[0] {
	case "echo":
		return echoOutput(c.Words[1:]), true
	case "printf":
		return printfOutput(c.Words[1:]), true
	case "cat":
		if c.HasIn && len(c.Words) == 1 {
			return c.In, true
		}
		if len(c.Words) == 1 && i > 0 && cmds[i-1].Next == opPipe {
			return commandOutput(cmds, i-1)
		}
	}
	return "", false
}

// write records a write of content to the file.
func (s *StageState) write(where string, line int, content string, known, appendMode bool, runs tri, what string) {
	if runs == triFalse {
		return
	}
	if !known {
		s.setNSS(triTrue, NSSwitch{Kind: NSSUnknown, Origin: where + ": " + what + " (content not followed)", Line: line})
		return
	}
	n := NSSwitch{Kind: NSSPresent, Data: []byte(content), Origin: where + ": " + what, Line: line}
	if appendMode {
		switch s.NSSwitch.Kind {
		case NSSPresent:
			n.Data = append(append([]byte(nil), s.NSSwitch.Data...), content...)
		case NSSUnknown:
			s.setNSS(triTrue, NSSwitch{Kind: NSSUnknown, Origin: where + ": appended to a file whose content is unknown", Line: line})
			return
		}
	}
	s.setNSS(runs, n)
}

// setNSS applies a new state; when it is not certain the command ran, the
// result is unknown unless the old state was unknown and the command is the
// usual "create it if missing" guard, which then is taken as written.
func (s *StageState) setNSS(runs tri, n NSSwitch) {
	switch runs {
	case triFalse:
		return
	case triUnknown:
		if s.NSSwitch.Kind == NSSUnknown && n.Kind == NSSPresent {
			n.Note = "written only if the base image has none; if it has one, that file is kept"
			s.NSSwitch = n
			return
		}
		if s.NSSwitch.Kind == n.Kind && string(s.NSSwitch.Data) == string(n.Data) {
			return
		}
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: n.Origin + " (may or may not run)", Line: n.Line}
		return
	}
	s.NSSwitch = n
}

// copy follows COPY and ADD: programs copied from build stages, and files
// landing on /etc/nsswitch.conf.
func (s *StageState) copy(a *Analysis, in Instr, opt Options) {
	name := a.File.Name
	where := fmt.Sprintf("%s:%d", name, in.Line)
	args := make([]string, 0, len(in.Args))
	for _, x := range in.Args {
		args = append(args, expandWord(a.File.Escape, x, s.vars()))
	}
	if len(args) < 2 {
		return
	}
	srcs, dst := args[:len(args)-1], args[len(args)-1]
	dirDst := strings.HasSuffix(dst, "/") || len(srcs) > 1
	dst = resolvePath(s.Workdir, dst)
	fromRef, fromSet := in.Flag("from")
	if fromSet {
		fromRef = expandWord(a.File.Escape, fromRef, s.vars())
	}
	var from *StageState
	if fromSet {
		from = findStage(a, fromRef)
	}
	heredoc := func(src string) (Heredoc, bool) {
		if !strings.HasPrefix(src, "<<") {
			return Heredoc{}, false
		}
		nm := strings.TrimLeft(strings.TrimPrefix(src, "<<"), "-")
		nm = strings.Trim(nm, `"'`)
		for _, h := range in.Heredocs {
			if h.Name == nm {
				return h, true
			}
		}
		return Heredoc{}, false
	}
	for _, src := range srcs {
		// Where the source lands, and which of its paths would become
		// /etc/nsswitch.conf.
		landing := dst
		if dirDst {
			landing = path.Join(dst, path.Base(src))
		}
		nssSrc := ""
		switch {
		case path.Clean(landing) == NSSwitchPath:
			nssSrc = src
		case strings.HasPrefix(NSSwitchPath, strings.TrimSuffix(path.Clean(dst), "/")+"/") || path.Clean(dst) == "/":
			// A directory copied into a parent of /etc: src/<rest>.
			rel := strings.TrimPrefix(NSSwitchPath, strings.TrimSuffix(path.Clean(dst), "/")+"/")
			nssSrc = path.Join(src, rel)
		}
		if h, ok := heredoc(src); ok {
			if path.Clean(dst) == NSSwitchPath || dirDst && path.Join(dst, h.Name) == NSSwitchPath {
				s.NSSwitch = NSSwitch{Kind: NSSPresent, Data: []byte(h.Content), Origin: fmt.Sprintf("%s: %s <<%s", where, strings.ToUpper(in.Cmd), h.Name), Line: in.Line}
			}
			continue
		}
		switch {
		case from != nil:
			s.copyFromStage(a, in, from, src, dst, dirDst, nssSrc)
		case fromSet:
			if nssSrc != "" && looksLikeNSSCopy(src, landing) {
				s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("%s: copied from image %s (not followed)", where, fromRef), Line: in.Line}
			}
			if strings.Contains(src, "bin") {
				a.Notes = append(a.Notes, fmt.Sprintf("%s: %s copied from image %s is not followed; scan the built image", where, src, fromRef))
			}
		default:
			if nssSrc != "" && looksLikeNSSCopy(src, landing) {
				s.contextNSS(a, in, src, nssSrc, landing, opt.Context)
			}
		}
	}
}

// looksLikeNSSCopy reports whether copying src to landing can put a file at
// /etc/nsswitch.conf: the file itself, or a directory holding etc/.
func looksLikeNSSCopy(src, landing string) bool {
	return path.Clean(landing) == NSSwitchPath || !strings.Contains(path.Base(src), ".") || strings.HasSuffix(src, "/") || path.Base(src) == "etc"
}

// contextNSS reads a build-context file that lands on /etc/nsswitch.conf.
func (s *StageState) contextNSS(a *Analysis, in Instr, src, nssSrc, landing string, ctx fs.FS) {
	where := fmt.Sprintf("%s:%d", a.File.Name, in.Line)
	candidates := []string{}
	if path.Clean(landing) == NSSwitchPath {
		candidates = append(candidates, src)
	}
	candidates = append(candidates, nssSrc)
	if strings.Contains(src, "://") {
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: where + ": ADD from a URL (not followed)", Line: in.Line}
		return
	}
	if ctx == nil {
		if path.Clean(landing) == NSSwitchPath {
			s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: where + ": " + src + " from the build context (not read)", Line: in.Line}
		}
		return
	}
	for _, c := range candidates {
		p := strings.TrimPrefix(path.Clean("/"+c), "/")
		if p == "" || !fs.ValidPath(p) {
			continue
		}
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := fs.Glob(ctx, p)
			if err != nil || len(m) == 0 {
				continue
			}
			matches = m
		}
		// Only a regular file of sane size is read (no FIFOs, devices).
		st, err := fs.Stat(ctx, matches[0])
		if err != nil || !st.Mode().IsRegular() || st.Size() > 1<<20 {
			continue
		}
		data, err := fs.ReadFile(ctx, matches[0])
		if err != nil {
			continue
		}
		s.NSSwitch = NSSwitch{Kind: NSSPresent, Data: data, Origin: fmt.Sprintf("%s: %s %s (build context file %s)", where, strings.ToUpper(in.Cmd), src, matches[0]), Line: in.Line}
		return
	}
	if path.Clean(landing) == NSSwitchPath {
		s.NSSwitch = NSSwitch{Kind: NSSUnknown, Origin: fmt.Sprintf("%s: %s is not in the build context next to the Dockerfile", where, src), Line: in.Line}
	}
}

// copyFromStage follows COPY --from=<stage>.
func (s *StageState) copyFromStage(a *Analysis, in Instr, from *StageState, src, dst string, dirDst bool, nssSrc string) {
	name := a.File.Name
	where := fmt.Sprintf("%s:%d", name, in.Line)
	srcAbs := resolvePath(from.Workdir, src)
	if nssSrc != "" && path.Clean(resolvePath(from.Workdir, nssSrc)) == NSSwitchPath {
		n := from.NSSwitch
		if n.Kind == NSSMissing {
			// Copying a missing file fails the build, unless it came with a
			// whole directory; either way the file is not created.
			if path.Clean(srcAbs) == NSSwitchPath {
				a.Notes = append(a.Notes, fmt.Sprintf("%s: stage %s has no %s, so this COPY fails", where, from.Stage.Label(), NSSwitchPath))
			}
		} else {
			n.Origin = fmt.Sprintf("%s: COPY --from=%s (%s)", where, from.Stage.Label(), n.Origin)
			n.Line = in.Line
			s.NSSwitch = n
		}
	}
	landing := dst
	if dirDst {
		landing = path.Join(dst, path.Base(srcAbs))
	}
	// Programs the source stage already holds (copied there from further
	// up), under the source path.
	found := false
	for _, p := range from.Programs {
		if p.Build == nil {
			continue
		}
		if rel, ok := under(p.Path, srcAbs); ok {
			q := *p
			q.Path = path.Join(landing, rel)
			if rel == "" {
				q.Path = landing
			}
			q.Line = in.Line
			q.FromStage = from.Stage.Label()
			q.Reasons = append(append([]string(nil), p.Reasons...), fmt.Sprintf("%s: COPY --from=%s %s %s", where, from.Stage.Label(), src, dst))
			s.Programs = append(s.Programs, &q)
			found = true
		}
	}
	if found {
		return
	}
	// Binaries built in the source stage.
	var match *GoBuild
	for _, b := range from.Builds {
		for _, o := range b.Outputs {
			if strings.HasSuffix(o, "/") {
				if _, ok := under(srcAbs, strings.TrimSuffix(o, "/")); ok && path.Clean(srcAbs) != path.Clean(o) {
					match = b
				}
				if _, ok := under(strings.TrimSuffix(o, "/"), srcAbs); ok {
					match = b
				}
				continue
			}
			if _, ok := under(o, srcAbs); ok {
				match = b
			}
		}
	}
	reason := ""
	if match == nil && len(from.Builds) > 0 && !looksLikeData(srcAbs) {
		match = from.Builds[len(from.Builds)-1]
		reason = fmt.Sprintf(" (no -o path matches %s; assumed to be the binary of the go build at line %d)", src, match.Line)
	}
	if match == nil && len(from.Builds) == 0 && !from.Go.IsZero() && !looksLikeData(srcAbs) {
		// A golang stage whose build runs in a script nsscope cannot see
		// (make, build.sh): the toolchain's version is all there is.
		match = &GoBuild{Stage: from.Stage.Label(), Line: from.Stage.From.Line, Command: "(no go build line found)",
			Version: from.Go, VersionFrom: from.GoFrom, VersionEdit: rootFromVersionSite(a, from)}
		match.Assumed = append(match.Assumed, "no go build line found in stage "+from.Stage.Label()+"; assuming "+src+" is a Go binary built by its toolchain")
		if v, ok := from.Env["CGO_ENABLED"]; ok {
			match.Cgo = strings.TrimSpace(v) == "1"
			match.CgoFrom = "CGO_ENABLED=" + v + " (ENV)"
		} else {
			match.Cgo = from.CC || from.Go.Less(model.V(1, 20, 0))
			match.CgoFrom = "CGO_ENABLED unset: cgo follows Go's default for this image"
		}
		if match.Cgo {
			match.Libc = from.Image.Libc
		}
	}
	if match == nil {
		return
	}
	p := &Program{Path: landing, Line: in.Line, Build: match, FromStage: from.Stage.Label()}
	if path.Clean(dst) != path.Clean(landing) && !dirDst {
		p.Path = dst
	}
	p.Reasons = append(p.Reasons, fmt.Sprintf("%s: COPY --from=%s %s %s%s", where, from.Stage.Label(), src, dst, reason))
	s.Programs = append(s.Programs, p)
}

// under reports whether p is dir or inside it, and the rest of the path.
func under(p, dir string) (string, bool) {
	p, dir = path.Clean(p), path.Clean(dir)
	if p == dir {
		return "", true
	}
	if dir == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	if strings.HasPrefix(p, dir+"/") {
		return p[len(dir)+1:], true
	}
	return "", false
}

// looksLikeData reports paths that are clearly not programs: certificates,
// time zones, configuration, web assets.
func looksLikeData(p string) bool {
	for _, prefix := range []string{"/etc/", "/usr/share/", "/usr/local/share/"} {
		if strings.HasPrefix(p, prefix) || p == strings.TrimSuffix(prefix, "/") {
			return true
		}
	}
	switch path.Ext(p) {
	case ".crt", ".pem", ".conf", ".json", ".yaml", ".yml", ".toml", ".html", ".js", ".css", ".txt", ".md", ".sql", ".tmpl", ".zip", ".tar", ".gz", ".key", ".ini", ".env", ".png", ".svg":
		return true
	}
	return false
}

// matchesEntry reports whether the ENTRYPOINT/CMD program is the file at p.
func matchesEntry(p, entry, workdir string) bool {
	if strings.Contains(entry, "/") {
		return path.Clean(resolvePath(workdir, entry)) == path.Clean(p)
	}
	return path.Base(p) == entry
}

// sedSubstitute applies the one s/RE/REPL/ expression of a sed -i command
// line by line, when it is that simple.
func sedSubstitute(args []string, data []byte) ([]byte, bool) {
	var script string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-e" && i+1 < len(args):
			if script != "" {
				return nil, false
			}
			script = args[i+1]
			i++
		case strings.HasPrefix(a, "-"):
		case script == "":
			script = a
		}
	}
	if len(script) < 4 || script[0] != 's' {
		return nil, false
	}
	parts := strings.Split(script[2:], script[1:2])
	if len(parts) != 3 || strings.Contains(parts[0], `\`) || strings.Contains(parts[1], `\`) || strings.Contains(parts[1], "&") {
		return nil, false
	}
	re, err := regexp.Compile(parts[0])
	if err != nil {
		return nil, false
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		body, nl := strings.CutSuffix(l, "\n")
		if loc := re.FindStringIndex(body); loc != nil {
			if strings.Contains(parts[2], "g") {
				body = re.ReplaceAllLiteralString(body, parts[1])
			} else {
				body = body[:loc[0]] + parts[1] + body[loc[1]:]
			}
		}
		if nl {
			body += "\n"
		}
		lines[i] = body
	}
	return []byte(strings.Join(lines, "")), true
}

func orNone(s string) string {
	if s == "" {
		return "no C library"
	}
	return s
}
