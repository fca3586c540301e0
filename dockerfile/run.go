package dockerfile

// This file follows RUN instructions: the script, its exported variables,
// and whether each command runs (&&, ||, if/then/else) as far as that
// depends on /etc/nsswitch.conf existing.

import (
	"fmt"
	"strings"
)

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
