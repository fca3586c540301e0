package dockerfile

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
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
	// CannotStart, when set, says why the program cannot start in the
	// final image (its C library or loader is not there).
	CannotStart string
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
		p.CannotStart = cannotStart(p, final)
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
		maps.Copy(s.Env, p.Env)
		maps.Copy(s.GoEnv, p.GoEnv)
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

// vars returns the variables a RUN sees: ARGs, then ENV (ENV wins).
func (s *StageState) vars() map[string]string {
	m := make(map[string]string, len(s.Args)+len(s.Env))
	maps.Copy(m, s.Args)
	maps.Copy(m, s.Env)
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
