package scan

import (
	"strings"
	"testing"

	"github.com/nsscope/nsscope/model"
)

// FuzzNSSwitchFix: whatever nsswitch.conf holds, the fix never panics,
// leaves exactly one hosts line, `hosts: files dns`, and keeps every other
// line.
func FuzzNSSwitchFix(f *testing.F) {
	for _, s := range []string{"", "hosts: dns files\n", "passwd: files", "hosts:\n", "#hosts: dns\nhosts: files\n", "\n\n", "hosts: files dns [NOTFOUND=return]\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		_, diff, next := nsswitchFix(model.File{Path: "/etc/nsswitch.conf", Data: []byte(data)})
		if !strings.Contains(diff, "+hosts: files dns\n") {
			t.Fatalf("diff lacks the new line: %q", diff)
		}
		out := string(next.Data)
		if !strings.HasSuffix(out, "\n") {
			t.Fatalf("no final newline: %q", out)
		}
		hostsLines := 0
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if fs := strings.Fields(l); len(fs) > 0 && fs[0] == "hosts:" {
				hostsLines++
				if l != "hosts: files dns" {
					t.Fatalf("hosts line %q", l)
				}
			}
		}
		in := 0
		for _, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			if fs := strings.Fields(l); len(fs) > 0 && fs[0] == "hosts:" {
				in++
			}
		}
		if want := max(in, 1); hostsLines != want {
			t.Fatalf("%d hosts lines out of %d in: %q", hostsLines, in, out)
		}
	})
}

// FuzzEnvVars: image environments never panic the parser, and the last
// definition of a key wins.
func FuzzEnvVars(f *testing.F) {
	f.Add("GODEBUG=netdns=go\x00GODEBUG=netdns=cgo")
	f.Add("=x\x00A\x00B=")
	f.Fuzz(func(t *testing.T, s string) {
		env := strings.Split(s, "\x00")
		m := envVars(env)
		for k, v := range m {
			last := ""
			for _, kv := range env {
				if kk, vv, _ := strings.Cut(kv, "="); kk == k {
					last = vv
				}
			}
			if v != last {
				t.Fatalf("%s=%q, want the last definition %q", k, v, last)
			}
		}
	})
}
