package dockerfile

// This file turns the shell script of a RUN instruction into what the
// analysis follows. The script is parsed by mvdan.cc/sh/v3/syntax (the
// shell parser of shfmt), so grouping, subshells, if/elif/else, && and ||
// are read as the shell reads them; run.go walks the tree. Words are
// expanded by mvdan.cc/sh/v3/expand against the stage's ARG and ENV values,
// with no globbing and command substitutions kept as written: nothing is
// executed.

import (
	"fmt"
	"io"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// redirect is one redirection of a command's standard output to a file.
type redirect struct {
	Append bool
	Target string
}

// simpleCmd is one simple command of a script, expanded.
type simpleCmd struct {
	// Assigns are the NAME=value words before the command word.
	Assigns map[string]string
	Words   []string
	// Out are the redirections of standard output to files (>, >>, >|,
	// &>, &>>).
	Out []redirect
	// In is what the command reads on standard input when nsscope knows
	// it (a here-document, a here-string, or the output of the command
	// piped into it); HasIn tells whether it is known.
	In    string
	HasIn bool
}

// parseScript parses a RUN script. The bash dialect is used because it
// accepts every POSIX sh script and the bash forms ([[ ]], <<<) that
// images whose SHELL is bash run.
func parseScript(script string) (*syntax.File, error) {
	p := syntax.NewParser(syntax.Variant(syntax.LangBash))
	f, err := p.Parse(strings.NewReader(script), "")
	if err != nil {
		return nil, fmt.Errorf("shell syntax: %w", err)
	}
	return f, nil
}

// scriptWithHeredocs rebuilds the script BuildKit split into a command
// line and here-document bodies: each body follows the line, closed by
// its delimiter, as the shell expects.
func scriptWithHeredocs(line string, hs []Heredoc) string {
	if len(hs) == 0 {
		return line
	}
	var b strings.Builder
	b.WriteString(line)
	b.WriteByte('\n')
	for _, h := range hs {
		b.WriteString(h.Content)
		if h.Content != "" && !strings.HasSuffix(h.Content, "\n") {
			b.WriteByte('\n')
		}
		b.WriteString(h.Name)
		b.WriteByte('\n')
	}
	return b.String()
}

// environ is the variables a RUN script sees, for mvdan's expander.
type environ func(string) (string, bool)

func (e environ) Get(name string) expand.Variable {
	if strings.HasPrefix(name, "HOME ") {
		// ~user: the image's home directories are not known; keep the
		// word as written rather than ask this machine's user database.
		return expand.Variable{Set: true, Kind: expand.String, Str: "~" + strings.TrimPrefix(name, "HOME ")}
	}
	if v, ok := e(name); ok {
		return expand.Variable{Set: true, Exported: true, Kind: expand.String, Str: v}
	}
	return expand.Variable{}
}

// Each is not needed: nothing is executed.
func (e environ) Each(func(string, expand.Variable) bool) {}

// expander expands words with env.
func expander(env environ) *expand.Config {
	return &expand.Config{
		Env: env,
		// $(...) and `...` stay as written: nothing is run.
		CmdSubst: func(w io.Writer, cs *syntax.CmdSubst) error {
			return syntax.NewPrinter().Print(w, cs)
		},
		ProcSubst: func(ps *syntax.ProcSubst) (string, error) {
			var b strings.Builder
			err := syntax.NewPrinter().Print(&b, ps)
			return b.String(), err
		},
	}
}

// printed is a node as written, for words the expander refuses.
func printed(n syntax.Node) string {
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, n); err != nil {
		return ""
	}
	return b.String()
}

// fields expands words into fields; a word the expander refuses (an
// arithmetic error, ${x?message}) is kept as written.
func fields(cfg *expand.Config, words []*syntax.Word) []string {
	var out []string
	for _, w := range words {
		fs, err := expand.Fields(cfg, w)
		if err != nil {
			out = append(out, printed(w))
			continue
		}
		out = append(out, fs...)
	}
	return out
}

// literal expands one word without field splitting (assignment values,
// redirection targets).
func literal(cfg *expand.Config, w *syntax.Word) string {
	if w == nil {
		return ""
	}
	s, err := expand.Literal(cfg, w)
	if err != nil {
		return printed(w)
	}
	return s
}

// callCmd expands a simple command and the redirections of its
// statement. in is what a pipe feeds it, when known.
func callCmd(cfg *expand.Config, call *syntax.CallExpr, redirs []*syntax.Redirect, in *string) simpleCmd {
	var c simpleCmd
	if call != nil {
		for _, a := range call.Assigns {
			if a.Name == nil {
				continue
			}
			if c.Assigns == nil {
				c.Assigns = map[string]string{}
			}
			c.Assigns[a.Name.Value] = literal(cfg, a.Value)
		}
		c.Words = fields(cfg, call.Args)
	}
	if in != nil {
		c.In, c.HasIn = *in, true
	}
	for _, r := range redirs {
		stdout := r.N == nil || r.N.Value == "1"
		switch r.Op {
		case syntax.RdrOut, syntax.RdrClob, syntax.RdrAll, syntax.RdrAllClob:
			if stdout {
				c.Out = append(c.Out, redirect{Target: literal(cfg, r.Word)})
			}
		case syntax.AppOut, syntax.AppAll, syntax.AppAllClob:
			if stdout {
				c.Out = append(c.Out, redirect{Append: true, Target: literal(cfg, r.Word)})
			}
		case syntax.Hdoc, syntax.DashHdoc:
			body, err := expand.Document(cfg, r.Hdoc)
			if err != nil {
				body = printed(r.Hdoc)
			}
			c.In, c.HasIn = body, true
		case syntax.WordHdoc:
			c.In, c.HasIn = literal(cfg, r.Word)+"\n", true
		case syntax.RdrIn, syntax.RdrInOut:
			if r.N == nil || r.N.Value == "0" {
				c.In, c.HasIn = "", false // a file nsscope does not read
			}
		}
	}
	return c
}

// echoOutput returns what echo prints for its arguments (after "echo").
func echoOutput(args []string) string {
	newline, escapes := true, false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		if strings.Contains(args[0], "n") {
			newline = false
		}
		if strings.Contains(args[0], "e") {
			escapes = true
		}
		args = args[1:]
	}
	s := strings.Join(args, " ")
	// busybox and dash echo interpret escapes without -e.
	if escapes || strings.Contains(s, `\n`) {
		s = unescape(s)
	}
	if newline {
		s += "\n"
	}
	return s
}

// printfOutput returns what printf prints for a format without conversion
// arguments (the usual printf 'hosts: files dns\n').
func printfOutput(args []string) string {
	if len(args) == 0 {
		return ""
	}
	format := unescape(args[0])
	rest := args[1:]
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 's', 'b', 'd':
			if len(rest) > 0 {
				v := rest[0]
				if format[i] == 'b' {
					v = unescape(v)
				}
				b.WriteString(v)
				rest = rest[1:]
			}
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func unescape(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(s)
}
