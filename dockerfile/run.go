package dockerfile

// This file follows RUN instructions: the script, its exported variables,
// and whether each command runs (&&, ||, if/then/else) as far as that
// depends on /etc/nsswitch.conf existing.

import (
	"fmt"
	"maps"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// runScript is the shell script a RUN instruction runs.
func runScript(in Instr) string {
	switch {
	case in.JSON:
		// RUN ["sh", "-c", "..."] runs a script; other exec forms run one
		// program with these arguments.
		if len(in.Args) >= 3 && (strings.HasSuffix(in.Args[0], "sh") || strings.HasSuffix(in.Args[0], "bash")) && in.Args[1] == "-c" {
			return in.Args[2]
		}
		return shellQuoteAll(in.Args)
	case isHeredocScript(in):
		// RUN <<EOF: the here-document is the script the shell runs.
		script := ""
		for _, h := range in.Heredocs {
			script += h.Content + "\n"
		}
		return script
	}
	return scriptWithHeredocs(strings.Join(in.Args, " "), in.Heredocs)
}

// run follows one RUN instruction.
func (s *StageState) run(a *Analysis, in Instr) {
	script := runScript(in)
	f, err := parseScript(script)
	if err != nil {
		where := fmt.Sprintf("%s:%d", a.File.Name, in.Line)
		a.Notes = append(a.Notes, fmt.Sprintf("%s: RUN not followed: %v", where, err))
		if strings.Contains(script, NSSwitchPath) {
			s.setNSS(triTrue, NSSwitch{Kind: NSSUnknown, Origin: where + ": a RUN nsscope could not read names " + NSSwitchPath, Line: in.Line})
		}
		return
	}
	vars := s.vars()
	w := &walker{s: s, a: a, in: in, exported: map[string]string{}, alive: triTrue}
	w.cfg = expander(func(k string) (string, bool) {
		if v, ok := w.exported[k]; ok {
			return v, true
		}
		v, ok := vars[k]
		return v, ok
	})
	w.list(f.Stmts, triTrue)
}

// walker follows a parsed RUN script. Each step knows whether it runs
// (tri: surely, surely not, or only in some states of the image) and
// returns whether it succeeds, as far as that depends on what nsscope
// follows.
type walker struct {
	s   *StageState
	a   *Analysis
	in  Instr
	cfg *expand.Config
	// exported are the variables set by the script so far (a bare
	// assignment acts like export for later go lines in this RUN).
	exported map[string]string
	// alive is whether the shell is still running (exit ends it).
	alive tri
}

// list runs statements in sequence; it returns the status of the last.
func (w *walker) list(stmts []*syntax.Stmt, runs tri) tri {
	result := triTrue
	for _, st := range stmts {
		result = w.stmt(st, and(runs, w.alive), nil)
	}
	return result
}

// stmt follows one statement; in is what a pipe feeds it, when known.
func (w *walker) stmt(st *syntax.Stmt, runs tri, in *string) tri {
	r := w.command(st, runs, in)
	if st.Negated {
		r = not(r)
	}
	if st.Background {
		return triTrue
	}
	return r
}

// command follows the command of a statement.
func (w *walker) command(st *syntax.Stmt, runs tri, in *string) tri {
	switch x := st.Cmd.(type) {
	case nil:
		// Redirections alone ("> /etc/nsswitch.conf" empties the file).
		return w.simple(callCmd(w.cfg, nil, st.Redirs, in), runs)
	case *syntax.CallExpr:
		return w.simple(callCmd(w.cfg, x, st.Redirs, in), runs)
	case *syntax.BinaryCmd:
		return w.binary(x, runs)
	case *syntax.IfClause:
		return w.ifClause(x, runs)
	case *syntax.Block:
		return w.list(x.Stmts, runs)
	case *syntax.Subshell:
		// A subshell's variables and exit stay inside it.
		exported, alive := maps.Clone(w.exported), w.alive
		r := w.list(x.Stmts, runs)
		w.exported, w.alive = exported, alive
		return r
	case *syntax.WhileClause:
		w.list(x.Cond, runs)
		w.list(x.Do, and(runs, triUnknown))
		return triUnknown
	case *syntax.ForClause:
		w.list(x.Do, and(runs, triUnknown))
		return triUnknown
	case *syntax.CaseClause:
		for _, item := range x.Items {
			w.list(item.Stmts, and(runs, triUnknown))
		}
		return triUnknown
	case *syntax.DeclClause:
		if runs == triFalse {
			return triTrue
		}
		if v := x.Variant.Value; v == "export" || v == "declare" || v == "typeset" || v == "readonly" {
			for _, as := range x.Args {
				if as.Name != nil && !as.Naked {
					w.exported[as.Name.Value] = literal(w.cfg, as.Value)
				}
			}
		}
		return triTrue
	case *syntax.TestClause:
		return w.test(x.X)
	case *syntax.TimeClause:
		if x.Stmt == nil {
			return triTrue
		}
		return w.stmt(x.Stmt, runs, nil)
	case *syntax.FuncDecl:
		// Defining a function runs nothing; calls to it are not followed.
		return triTrue
	}
	return triUnknown
}

// binary follows &&, || and pipes.
func (w *walker) binary(x *syntax.BinaryCmd, runs tri) tri {
	switch x.Op {
	case syntax.AndStmt:
		l := w.stmt(x.X, runs, nil)
		r := w.stmt(x.Y, and(runs, l), nil)
		return andResult(l, r)
	case syntax.OrStmt:
		l := w.stmt(x.X, runs, nil)
		r := w.stmt(x.Y, and(runs, not(l)), nil)
		return not(andResult(not(l), not(r)))
	default: // | and |&: both sides run; the right one reads the left's output
		out, known := w.output(x.X)
		w.stmt(x.X, runs, nil)
		if !known {
			return w.stmt(x.Y, runs, nil)
		}
		return w.stmt(x.Y, runs, &out)
	}
}

// andResult is the status of "X && Y" from the statuses of X and Y.
func andResult(l, r tri) tri {
	switch {
	case l == triFalse || r == triFalse && l == triTrue:
		return triFalse
	case l == triTrue:
		return r
	case r == triFalse:
		return triFalse
	}
	return triUnknown
}

// output is what a statement prints, when nsscope can tell.
func (w *walker) output(st *syntax.Stmt) (string, bool) {
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok {
		return "", false
	}
	return commandOutput(callCmd(w.cfg, call, st.Redirs, nil))
}

// ifClause follows if/elif/else: a branch runs when its condition holds
// and no earlier one did.
func (w *walker) ifClause(x *syntax.IfClause, runs tri) tri {
	for c := x; c != nil; c = c.Else {
		if len(c.Cond) == 0 { // else
			w.list(c.Then, runs)
			break
		}
		cond := w.list(c.Cond, runs)
		w.list(c.Then, and(runs, cond))
		runs = and(runs, not(cond))
	}
	return triUnknown
}

// test evaluates a [[ ]] expression: existence tests of /etc/nsswitch.conf
// are known from the stage's state, the rest unknown.
func (w *walker) test(x syntax.TestExpr) tri {
	switch t := x.(type) {
	case *syntax.ParenTest:
		return w.test(t.X)
	case *syntax.UnaryTest:
		if t.Op == syntax.TsNot {
			return not(w.test(t.X))
		}
		word, ok := t.X.(*syntax.Word)
		if !ok {
			return triUnknown
		}
		return w.s.testNSSwitch([]string{"[[", t.Op.String(), literal(w.cfg, word), "]]"})
	case *syntax.BinaryTest:
		switch t.Op {
		case syntax.AndTest:
			return andResult(w.test(t.X), w.test(t.Y))
		case syntax.OrTest:
			return not(andResult(not(w.test(t.X)), not(w.test(t.Y))))
		}
	}
	return triUnknown
}

// simple follows one simple command: its effect on the stage (go builds,
// compilers installed, /etc/nsswitch.conf) and its status.
func (w *walker) simple(c simpleCmd, runs tri) tri {
	s, a, in := w.s, w.a, w.in
	name := a.File.Name
	env := func(k string) (string, bool) {
		if v, ok := c.Assigns[k]; ok {
			return v, true
		}
		return w.cfg.Env.Get(k).Str, w.cfg.Env.Get(k).IsSet()
	}
	args := c.Words
	result := triTrue
	switch {
	case runs == triFalse:
		return triTrue
	case len(args) == 0:
		for k, v := range c.Assigns {
			w.exported[k] = v
		}
	case args[0] == "exit":
		w.alive = and(w.alive, not(runs))
		return triFalse
	case isTest(args):
		result = s.testNSSwitch(args)
	case args[0] == "true" || args[0] == ":":
	case args[0] == "false":
		result = triFalse
	case args[0] == "go" && len(args) >= 3 && args[1] == "env" && args[2] == "-w":
		for _, kv := range args[3:] {
			if k, v, ok := strings.Cut(kv, "="); ok {
				s.GoEnv[k] = v
			}
		}
	case isGoCommand(args[0]) && len(args) >= 2 && (args[1] == "build" || args[1] == "install"):
		if args[1] == "install" && isDLInstall(args[2:]) {
			break
		}
		s.goBuild(a, in, c, env)
	case args[0] == "apk" || args[0] == "apt-get" || args[0] == "apt" || args[0] == "dnf" || args[0] == "yum" || args[0] == "microdnf":
		if installsCC(args) {
			s.CC = true
			s.CCFrom = fmt.Sprintf("%s:%d: %s installs a C compiler", name, in.Line, args[0])
		}
	}
	s.nssEffects(a, in, c, runs)
	return result
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

// tri is a three-valued truth.
type tri int

const (
	triTrue tri = iota
	triFalse
	triUnknown
)

// and is "both run": surely when both surely do, surely not when either
// surely does not.
func and(a, b tri) tri {
	switch {
	case a == triFalse || b == triFalse:
		return triFalse
	case a == triTrue && b == triTrue:
		return triTrue
	}
	return triUnknown
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
