package dockerfile

// This file applies what shell commands do to /etc/nsswitch.conf.

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

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
func (s *StageState) nssEffects(a *Analysis, in Instr, c simpleCmd, runs tri) {
	if runs == triFalse {
		return
	}
	name := a.File.Name
	where := fmt.Sprintf("%s:%d", name, in.Line)
	w := c.Words
	// Output redirected to the file: echo, printf, cat <<EOF.
	for _, r := range c.Out {
		if path.Clean(r.Target) != NSSwitchPath {
			continue
		}
		content, ok := commandOutput(c)
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
				s.write(where, in.Line, c.In, c.HasIn, appendMode, runs, "tee")
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

// commandOutput returns what a command prints, when nsscope can tell.
func commandOutput(c simpleCmd) (string, bool) {
	if len(c.Words) == 0 {
		return "", true // "> file" alone empties the file
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
