// Package dockerfile predicts, from a Dockerfile alone, how the programs of
// the image it builds will resolve host names — before the image exists.
//
// The work is split in four pure steps, none of which performs I/O:
//
//   - [Parse] reads the Dockerfile with moby/buildkit's parser (multi-stage
//     builds, parser directives, line continuations, heredocs) and checks
//     that every instruction is a real one;
//   - [Analyze] follows the stage the image is built from: its base image
//     (looked up in a built-in, versioned table, see [LookupBase]), every
//     file that creates, overwrites or removes /etc/nsswitch.conf, and the
//     Go programs copied in with COPY --from from stages that run go build
//     (Go version, cgo, the netgo tag);
//   - [Check] turns that into report findings with the resolver model's
//     verdict for each program, under an assumed runtime (Kubernetes
//     ClusterFirst by default);
//   - the fixes carry unified diffs against the Dockerfile ([Edit.Apply],
//     [UnifiedDiff]).
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// MaxSize is the largest Dockerfile Parse accepts. Real Dockerfiles are a
// few kilobytes; the cap keeps hostile input cheap.
const MaxSize = 4 << 20

// File is a parsed Dockerfile.
type File struct {
	// Name is how the file is cited in findings ("Dockerfile",
	// "build/Dockerfile").
	Name string
	// Source is the file as read; Lines are its lines without line ends
	// (Lines[0] is line 1).
	Source []byte
	Lines  []string
	// Escape is the escape character (the escape parser directive, or \).
	Escape rune
	// Syntax is the syntax parser directive, when present.
	Syntax string
	// MetaArgs are the ARG instructions before the first FROM, in order.
	MetaArgs []Instr
	// Stages are the build stages in order.
	Stages []*Stage
}

// Stage is one FROM and the instructions after it.
type Stage struct {
	Index int
	// Name is the stage name given with AS (lower-cased, as BuildKit
	// matches it), or "".
	Name string
	// BaseRaw is the image (or stage) named in FROM, before ARG expansion.
	BaseRaw string
	// Platform is the --platform flag, before expansion.
	Platform string
	From     Instr
	Instrs   []Instr
}

// Label names the stage for humans: its name, else its index.
func (s *Stage) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("#%d", s.Index)
}

// Instr is one instruction.
type Instr struct {
	// Cmd is the lower-cased instruction ("run", "copy", ...).
	Cmd string
	// Flags are the --flags as written ("--from=build").
	Flags []string
	// Args are the arguments as the parser split them. For RUN, CMD and
	// ENTRYPOINT in shell form this is one string with the command line;
	// JSON marks the exec form. For ENV and ARG see Pairs.
	Args []string
	JSON bool
	// Pairs are the KEY/VALUE pairs of ENV, ARG and LABEL (value
	// unexpanded, quotes kept; HasValue false for "ARG NAME").
	Pairs    []Pair
	Heredocs []Heredoc
	// Original is the instruction text with continuations joined.
	Original string
	// Line and EndLine are 1-based; EndLine includes heredoc bodies.
	Line, EndLine int
}

// Pair is one KEY=VALUE of ENV, ARG or LABEL.
type Pair struct {
	Key      string
	Value    string
	HasValue bool
}

// Heredoc is one here-document attached to RUN, COPY or ADD.
type Heredoc struct {
	Name    string
	Content string
	// Expand reports whether variables in the body are expanded (the
	// delimiter was not quoted).
	Expand bool
}

// Flag returns the value of --name=value, and whether it was given.
func (in Instr) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		k, v, ok := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if strings.EqualFold(k, name) {
			if !ok {
				return "true", true
			}
			return v, true
		}
	}
	return "", false
}

// Error is a Dockerfile that cannot be read, with the line at fault
// (0 when it concerns the whole file).
type Error struct {
	File string
	Line int
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Parse parses a Dockerfile. name is used to cite it. Bad input — not
// text, not a Dockerfile, an unknown instruction, an unterminated heredoc,
// a FROM without an image — returns an *Error.
func Parse(name string, src []byte) (*File, error) {
	errAt := func(line int, err error, format string, args ...any) error {
		return &Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...), Err: err}
	}
	if len(src) > MaxSize {
		return nil, errAt(0, nil, "not a Dockerfile: %d bytes, more than the %d accepted", len(src), MaxSize)
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, errAt(0, nil, "not a Dockerfile: binary data (NUL byte at offset %d)", i)
	}
	if !utf8.Valid(src) {
		return nil, errAt(0, nil, "not a Dockerfile: not UTF-8 text")
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		msg := err.Error()
		if msg == "file with no instructions" {
			return nil, errAt(0, err, "not a Dockerfile: no instructions")
		}
		return nil, errAt(errorLine(err), err, "%s", msg)
	}
	f := &File{Name: name, Source: src, Lines: splitLines(src), Escape: res.EscapeToken}
	f.Syntax = syntaxDirective(f.Lines)
	var cur *Stage
	for _, n := range res.AST.Children {
		in, err := instrFromNode(n)
		if err != nil {
			return nil, errAt(n.StartLine, err, "%v", err)
		}
		if _, ok := command.Commands[in.Cmd]; !ok {
			if cur == nil && len(f.MetaArgs) == 0 {
				return nil, errAt(in.Line, nil, "not a Dockerfile: unknown instruction %q on the first line with an instruction", firstWord(n.Original))
			}
			return nil, errAt(in.Line, nil, "unknown instruction %q", firstWord(n.Original))
		}
		switch {
		case in.Cmd == command.From:
			st, err := stageFromInstr(in, len(f.Stages))
			if err != nil {
				return nil, errAt(in.Line, err, "%v", err)
			}
			f.Stages = append(f.Stages, st)
			cur = st
		case cur == nil && in.Cmd == command.Arg:
			f.MetaArgs = append(f.MetaArgs, in)
		case cur == nil:
			return nil, errAt(in.Line, nil, "not a Dockerfile: %s before the first FROM (only ARG may come before FROM)", strings.ToUpper(in.Cmd))
		default:
			cur.Instrs = append(cur.Instrs, in)
		}
	}
	if len(f.Stages) == 0 {
		return nil, errAt(0, nil, "not a Dockerfile: no FROM instruction")
	}
	return f, nil
}

// errorLine extracts the first line BuildKit attached to a parse error.
func errorLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, rs := range le.Locations {
			for _, r := range rs {
				if r.Start.Line > 0 {
					return r.Start.Line
				}
			}
		}
	}
	return 0
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	if len(w) > 40 {
		w = w[:40] + "…"
	}
	return w
}

func instrFromNode(n *parser.Node) (Instr, error) {
	in := Instr{
		Cmd:      strings.ToLower(n.Value),
		Flags:    append([]string(nil), n.Flags...),
		JSON:     n.Attributes["json"],
		Original: n.Original,
		Line:     n.StartLine,
		EndLine:  n.EndLine,
	}
	for a := n.Next; a != nil; a = a.Next {
		in.Args = append(in.Args, a.Value)
	}
	for _, h := range n.Heredocs {
		content := h.Content
		if h.Chomp {
			content = parser.ChompHeredocContent(content)
		}
		in.Heredocs = append(in.Heredocs, Heredoc{Name: h.Name, Content: content, Expand: h.Expand})
	}
	switch in.Cmd {
	case command.Env, command.Label:
		// The parser yields triples: key, value, separator ("=" or "").
		for i := 0; i+1 < len(in.Args); i += 3 {
			in.Pairs = append(in.Pairs, Pair{Key: in.Args[i], Value: in.Args[i+1], HasValue: true})
		}
	case command.Arg:
		for _, a := range in.Args {
			k, v, ok := strings.Cut(a, "=")
			in.Pairs = append(in.Pairs, Pair{Key: k, Value: v, HasValue: ok})
		}
	}
	return in, nil
}

func stageFromInstr(in Instr, index int) (*Stage, error) {
	st := &Stage{Index: index, From: in}
	switch {
	case len(in.Args) == 1:
	case len(in.Args) == 3 && strings.EqualFold(in.Args[1], "as"):
		st.Name = strings.ToLower(in.Args[2])
	default:
		return nil, fmt.Errorf("FROM: want IMAGE [AS NAME], got %q", strings.Join(in.Args, " "))
	}
	st.BaseRaw = in.Args[0]
	if st.BaseRaw == "" {
		return nil, errors.New("FROM: no image named")
	}
	st.Platform, _ = in.Flag("platform")
	return st, nil
}

// splitLines splits src into lines without their line ends; a final line
// end does not start another line.
func splitLines(src []byte) []string {
	s := strings.TrimSuffix(string(src), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// syntaxDirective returns the value of a "# syntax=" parser directive at
// the top of the file.
func syntaxDirective(lines []string) string {
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "#") {
			return ""
		}
		k, v, ok := strings.Cut(strings.TrimSpace(t[1:]), "=")
		if !ok {
			return ""
		}
		if strings.EqualFold(strings.TrimSpace(k), "syntax") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
