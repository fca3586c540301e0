package cli

import (
	"strings"
	"testing"
)

// TestSniffTraceBadInput: every bad request to sniff and trace is one
// line on stderr and exit status 2, before any capture or namespace.
func TestSniffTraceBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sniff", "--format", "xml"}, `--format "xml": want text or json`},
		{[]string{"sniff", "--pid", "1", "--comm", "x"}, "--pid and --comm exclude each other"},
		{[]string{"sniff", "--name", "["}, `--name "[": syntax error in pattern`},
		{[]string{"sniff", "--netns", "/nonexistent"}, "--netns /nonexistent"},
		{[]string{"sniff", "-i", "no-such-interface0", "--duration", "1s"}, "interface no-such-interface0"},
		{[]string{"sniff", "extra"}, `unexpected argument "extra"`},
		{[]string{"trace"}, "no program given"},
		{[]string{"trace", "--upstream", "not-an-ip", "--", "true"}, `--upstream "not-an-ip"`},
		{[]string{"trace", "--upstream", "10.0.0.1", "--upstream", "10.0.0.2", "--upstream", "10.0.0.3", "--upstream", "10.0.0.4", "--", "true"}, "4 nameservers to relay to"},
		{[]string{"trace", "--name", "x", "--", "true"}, "describe the lookup for --check"},
	} {
		_, stderr, code := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q on one line", c.args, code, stderr, c.want)
		}
	}
}
