package dockerfile

import (
	"strings"
)

// This file reads the shell scripts of RUN instructions just far enough to
// follow what matters here: go build lines with their environment, and
// commands that write /etc/nsswitch.conf. It is not a shell: anything it
// does not understand is reported as such by the caller rather than
// guessed.

// op is the operator that ends a simple command.
type op int

const (
	opEnd  op = iota // ";", newline, "&" or end of script
	opAnd            // &&
	opOr             // ||
	opPipe           // |
)

// redirect is one output redirection of a command.
type redirect struct {
	Append bool
	Target string
}

// simpleCmd is one simple command of a script.
type simpleCmd struct {
	// Assigns are the NAME=value words before the command word.
	Assigns map[string]string
	Words   []string
	// Out are the output redirections (> and >>); In is the body of a
	// here-document given as standard input ("" when none), HasIn tells
	// whether there is one.
	Out   []redirect
	In    string
	HasIn bool
	// Next is the operator after the command.
	Next op
}

// scriptReader splits a script into simple commands. vars expands $NAME and
// ${NAME}; heredocs supplies bodies for << words when the script is a RUN
// line whose here-documents BuildKit already cut out (nil: bodies follow in
// the script itself).
type scriptReader struct {
	src      string
	pos      int
	vars     func(string) (string, bool)
	heredocs []Heredoc
}

// splitScript returns the simple commands of script.
func splitScript(script string, vars func(string) (string, bool), heredocs []Heredoc) []simpleCmd {
	r := &scriptReader{src: script, vars: vars, heredocs: heredocs}
	var cmds []simpleCmd
	for r.pos < len(r.src) {
		c, ok := r.command()
		if !ok {
			break
		}
		if len(c.Words) == 0 && len(c.Assigns) == 0 && len(c.Out) == 0 {
			continue
		}
		cmds = append(cmds, c)
		if len(cmds) > 10000 {
			break
		}
	}
	return cmds
}

// command reads one simple command; ok is false at the end of input.
func (r *scriptReader) command() (simpleCmd, bool) {
	c := simpleCmd{}
	var pendingHeredocs []string
	redirNext := 0 // 1: next word is a > target, 2: >> target
	for {
		r.skipBlanks()
		if r.pos >= len(r.src) {
			r.readHeredocBodies(&c, pendingHeredocs)
			return c, len(c.Words) > 0 || len(c.Assigns) > 0 || len(c.Out) > 0
		}
		ch := r.src[r.pos]
		switch {
		case ch == '#':
			for r.pos < len(r.src) && r.src[r.pos] != '\n' {
				r.pos++
			}
			continue
		case ch == '\n' || ch == ';':
			r.pos++
			r.readHeredocBodies(&c, pendingHeredocs)
			c.Next = opEnd
			return c, true
		case strings.HasPrefix(r.src[r.pos:], "&&"):
			r.pos += 2
			c.Next = opAnd
			r.readHeredocBodies(&c, pendingHeredocs)
			return c, true
		case strings.HasPrefix(r.src[r.pos:], "||"):
			r.pos += 2
			c.Next = opOr
			r.readHeredocBodies(&c, pendingHeredocs)
			return c, true
		case ch == '|':
			r.pos++
			c.Next = opPipe
			r.readHeredocBodies(&c, pendingHeredocs)
			return c, true
		case ch == '&':
			r.pos++
			c.Next = opEnd
			return c, true
		case ch == '(' || ch == ')' || ch == '{' && r.wordEnds(1) || ch == '}' && r.wordEnds(1):
			r.pos++
			continue
		case strings.HasPrefix(r.src[r.pos:], ">>"):
			r.pos += 2
			redirNext = 2
			continue
		case ch == '>':
			r.pos++
			if r.pos < len(r.src) && r.src[r.pos] == '|' {
				r.pos++
			}
			redirNext = 1
			continue
		case strings.HasPrefix(r.src[r.pos:], "<<<"):
			r.pos += 3
			w, _ := r.word()
			c.In, c.HasIn = w+"\n", true
			continue
		case strings.HasPrefix(r.src[r.pos:], "<<"):
			r.pos += 2
			if r.pos < len(r.src) && r.src[r.pos] == '-' {
				r.pos++
			}
			r.skipBlanks()
			w, _ := r.word()
			pendingHeredocs = append(pendingHeredocs, w)
			continue
		case ch == '<':
			r.pos++
			r.word() // input file: not followed
			continue
		case ch >= '0' && ch <= '9' && r.pos+1 < len(r.src) && (r.src[r.pos+1] == '>' || r.src[r.pos+1] == '<'):
			// 2>/dev/null, 1>&2: a numbered descriptor; only 1 is stdout.
			fd := ch
			r.pos++
			if fd != '1' {
				for r.pos < len(r.src) && (r.src[r.pos] == '>' || r.src[r.pos] == '<' || r.src[r.pos] == '&') {
					r.pos++
				}
				r.word()
			}
			continue
		}
		w, quoted := r.word()
		if redirNext != 0 {
			if !strings.HasPrefix(w, "&") {
				c.Out = append(c.Out, redirect{Append: redirNext == 2, Target: w})
			}
			redirNext = 0
			continue
		}
		if len(c.Words) == 0 && !quoted {
			if k, v, ok := strings.Cut(w, "="); ok && isName(k) {
				if c.Assigns == nil {
					c.Assigns = map[string]string{}
				}
				c.Assigns[k] = v
				continue
			}
		}
		c.Words = append(c.Words, w)
	}
}

// wordEnds reports whether the character n bytes ahead ends a word.
func (r *scriptReader) wordEnds(n int) bool {
	p := r.pos + n
	return p >= len(r.src) || strings.IndexByte(" \t\n;&|", r.src[p]) >= 0
}

func (r *scriptReader) skipBlanks() {
	for r.pos < len(r.src) {
		switch {
		case r.src[r.pos] == ' ' || r.src[r.pos] == '\t' || r.src[r.pos] == '\r':
			r.pos++
		case strings.HasPrefix(r.src[r.pos:], "\\\n"):
			r.pos += 2
		default:
			return
		}
	}
}

// readHeredocBodies attaches here-document bodies to c: from the RUN
// instruction's list when BuildKit cut them out, else from the lines that
// follow in the script.
func (r *scriptReader) readHeredocBodies(c *simpleCmd, names []string) {
	for _, name := range names {
		body := ""
		if r.heredocs != nil {
			for i, h := range r.heredocs {
				if h.Name == name {
					body = h.Content
					r.heredocs = append(r.heredocs[:i:i], r.heredocs[i+1:]...)
					break
				}
			}
		} else {
			// The body starts after the current line.
			if nl := strings.IndexByte(r.src[r.pos:], '\n'); nl >= 0 && r.pos > 0 && r.src[r.pos-1] != '\n' {
				r.pos += nl + 1
			}
			var b strings.Builder
			for r.pos < len(r.src) {
				end := strings.IndexByte(r.src[r.pos:], '\n')
				line := r.src[r.pos:]
				if end >= 0 {
					line = r.src[r.pos : r.pos+end]
					r.pos += end + 1
				} else {
					r.pos = len(r.src)
				}
				if strings.TrimLeft(line, "\t") == name {
					break
				}
				b.WriteString(line)
				b.WriteByte('\n')
			}
			body = b.String()
		}
		c.In, c.HasIn = body, true
	}
}

// word reads one shell word with quote removal and variable expansion;
// quoted reports whether any part of it was quoted.
func (r *scriptReader) word() (string, bool) {
	var b strings.Builder
	quoted := false
	for r.pos < len(r.src) {
		ch := r.src[r.pos]
		switch {
		case strings.IndexByte(" \t\r\n;&|<>()", ch) >= 0:
			return b.String(), quoted
		case ch == '\\':
			if r.pos+1 < len(r.src) {
				if r.src[r.pos+1] != '\n' {
					b.WriteByte(r.src[r.pos+1])
				}
				r.pos += 2
				continue
			}
			r.pos++
		case ch == '\'':
			quoted = true
			end := strings.IndexByte(r.src[r.pos+1:], '\'')
			if end < 0 {
				b.WriteString(r.src[r.pos+1:])
				r.pos = len(r.src)
				continue
			}
			b.WriteString(r.src[r.pos+1 : r.pos+1+end])
			r.pos += end + 2
		case ch == '"':
			quoted = true
			r.pos++
			for r.pos < len(r.src) && r.src[r.pos] != '"' {
				c := r.src[r.pos]
				switch {
				case c == '\\' && r.pos+1 < len(r.src) && strings.IndexByte("\"\\$`\n", r.src[r.pos+1]) >= 0:
					if r.src[r.pos+1] != '\n' {
						b.WriteByte(r.src[r.pos+1])
					}
					r.pos += 2
				case c == '$':
					b.WriteString(r.dollar())
				default:
					b.WriteByte(c)
					r.pos++
				}
			}
			r.pos++
		case ch == '$':
			b.WriteString(r.dollar())
		default:
			b.WriteByte(ch)
			r.pos++
		}
	}
	return b.String(), quoted
}

// dollar expands $NAME, ${NAME}, ${NAME:-default} at r.pos. Unknown
// variables expand to "". $(...) and `...` are kept as written.
func (r *scriptReader) dollar() string {
	r.pos++ // '$'
	if r.pos >= len(r.src) {
		return "$"
	}
	if r.src[r.pos] == '{' {
		end := strings.IndexByte(r.src[r.pos:], '}')
		if end < 0 {
			r.pos = len(r.src)
			return ""
		}
		expr := r.src[r.pos+1 : r.pos+end]
		r.pos += end + 1
		name, def, hasDef := strings.Cut(expr, ":-")
		if !hasDef {
			name, def, hasDef = strings.Cut(expr, "-")
		}
		if v, ok := r.lookup(name); ok && (v != "" || !hasDef) {
			return v
		}
		return def
	}
	if r.src[r.pos] == '(' {
		start := r.pos - 1
		depth := 0
		for r.pos < len(r.src) {
			switch r.src[r.pos] {
			case '(':
				depth++
			case ')':
				depth--
			}
			r.pos++
			if depth == 0 {
				break
			}
		}
		return r.src[start:r.pos]
	}
	start := r.pos
	if strings.IndexByte("?$!#@*-0123456789", r.src[r.pos]) >= 0 {
		r.pos++ // a special or positional parameter: one character
	} else {
		for r.pos < len(r.src) && isNameByte(r.src[r.pos]) {
			r.pos++
		}
	}
	if r.pos == start {
		return "$"
	}
	v, _ := r.lookup(r.src[start:r.pos])
	return v
}

func (r *scriptReader) lookup(name string) (string, bool) {
	if r.vars == nil {
		return "", false
	}
	return r.vars(name)
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// isName reports whether s is a shell variable name.
func isName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
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
