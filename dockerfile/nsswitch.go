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
				if s.NSSwitch.Kind == NSSMissing {
					break // sed fails on a missing file and changes nothing
				}
				if n, ok := s.sedEdit(w[1:]); ok {
					n.Origin, n.Line = where+": "+strings.Join(w, " "), in.Line
					s.setNSS(runs, n)
					break
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
			if s.NSSwitch.NoHosts {
				// Only the hosts line matters to name resolution, and it
				// is now the one appended.
				n.Note = "the base image's other lines, if it has the file, are kept before it"
				break
			}
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

// sedEdit applies a sed -i command to the file, when its script is one
// nsscope follows: one s/RE/REPL/[g] expression, or one /RE/d that
// deletes lines. On a missing file sed fails and changes nothing; on a file
// of unknown content, a /RE/d that deletes every hosts line leaves an
// unknown file known to have none.
func (s *StageState) sedEdit(args []string) (NSSwitch, bool) {
	cur := s.NSSwitch
	script, ok := sedArgs(args)
	if !ok {
		return NSSwitch{}, false
	}
	if re, ok := sedDelete(script); ok {
		if cur.Kind == NSSUnknown {
			if !deletesHostsLines(re) {
				return NSSwitch{}, false
			}
			return NSSwitch{Kind: NSSUnknown, NoHosts: true}, true
		}
		var kept []string
		for _, l := range strings.SplitAfter(string(cur.Data), "\n") {
			if l != "" && !re.MatchString(strings.TrimSuffix(l, "\n")) {
				kept = append(kept, l)
			}
		}
		return NSSwitch{Kind: NSSPresent, Data: []byte(strings.Join(kept, ""))}, true
	}
	if cur.Kind != NSSPresent {
		return NSSwitch{}, false
	}
	data, ok := sedSubstitute(script, cur.Data)
	if !ok {
		return NSSwitch{}, false
	}
	return NSSwitch{Kind: NSSPresent, Data: data}, true
}

// sedArgs returns the one script of a sed command line.
func sedArgs(args []string) (string, bool) {
	var script string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-e" && i+1 < len(args):
			if script != "" {
				return "", false
			}
			script = args[i+1]
			i++
		case strings.HasPrefix(a, "-"):
		case script == "":
			script = a
		}
	}
	return script, script != ""
}

// sedRegexp compiles a sed basic regular expression when it is one that
// means the same in Go's syntax: no backslashes and no interval or group
// operators, which differ between the two.
func sedRegexp(re string) (*regexp.Regexp, bool) {
	if strings.ContainsAny(re, `\{}()|+?`) {
		return nil, false
	}
	r, err := regexp.Compile(re)
	return r, err == nil
}

// sedDelete reads a /RE/d script.
func sedDelete(script string) (*regexp.Regexp, bool) {
	body, ok := strings.CutPrefix(script, "/")
	if !ok {
		return nil, false
	}
	re, ok := strings.CutSuffix(body, "/d")
	if !ok || strings.Contains(re, "/") {
		return nil, false
	}
	return sedRegexp(re)
}

// deletesHostsLines reports whether re matches every form of hosts line
// the readers accept (leading white space, space before the colon).
func deletesHostsLines(re *regexp.Regexp) bool {
	for _, l := range []string{"hosts: files dns", "hosts:dns", "  hosts:\tdns files", "\thosts : dns", "hosts:"} {
		if !re.MatchString(l) {
			return false
		}
	}
	return !re.MatchString("passwd: files") && !re.MatchString("# hosts: dns")
}

// sedSubstitute applies one s/RE/REPL/ expression line by line, when it
// is that simple.
func sedSubstitute(script string, data []byte) ([]byte, bool) {
	if len(script) < 4 || script[0] != 's' {
		return nil, false
	}
	parts := strings.Split(script[2:], script[1:2])
	if len(parts) != 3 || strings.Contains(parts[1], `\`) || strings.Contains(parts[1], "&") {
		return nil, false
	}
	re, ok := sedRegexp(parts[0])
	if !ok {
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
