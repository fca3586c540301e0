package unidiff

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var cases = []struct {
	name  string
	src   string
	edits []Edit
	want  string // Apply's result
}{
	{"insert-after-first", "a\nb\nc\n", []Edit{{Line: 2, Insert: []string{"x"}}}, "a\nx\nb\nc\n"},
	{"replace", "a\nb\nc\n", []Edit{{Line: 2, Delete: 1, Insert: []string{"B"}}}, "a\nB\nc\n"},
	{"delete", "a\nb\nc\n", []Edit{{Line: 1, Delete: 1}}, "b\nc\n"},
	{"append", "a\nb\n", []Edit{{Line: 3, Insert: []string{"c"}}}, "a\nb\nc\n"},
	{"append-no-final-newline", "a\nb", []Edit{{Line: 3, Insert: []string{"c"}}}, "a\nb\nc\n"},
	{"edit-before-unterminated-last", "a\nb\nc", []Edit{{Line: 1, Delete: 1, Insert: []string{"A"}}}, "A\nb\nc"},
	{"delete-unterminated-last", "a\nb", []Edit{{Line: 2, Delete: 1, Insert: []string{"B"}}}, "a\nB\n"},
	{"crlf", "a\r\nb\r\n", []Edit{{Line: 2, Insert: []string{"x"}}}, "a\r\nx\r\nb\r\n"},
	{"create", "", []Edit{{Line: 1, Insert: []string{"hosts: files dns"}}}, "hosts: files dns\n"},
	{"two-hunks", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", []Edit{{Line: 1, Delete: 1, Insert: []string{"one"}}, {Line: 12, Delete: 1}}, "one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n"},
	{"near-edits-one-hunk", "1\n2\n3\n4\n5\n", []Edit{{Line: 2, Delete: 1}, {Line: 4, Delete: 1}}, "1\n3\n5\n"},
}

func TestApply(t *testing.T) {
	for _, c := range cases {
		if got := string(Apply([]byte(c.src), c.edits)); got != c.want {
			t.Errorf("%s: Apply = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestGitApply: every diff applies with `git apply` to the bytes it was
// made from and gives what Apply gives.
func TestGitApply(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: the diffs are not checked against git apply")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			name := "etc/file.conf"
			oldPath := name
			if c.src == "" {
				oldPath = "/dev/null"
			} else {
				if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(c.src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			d := Diff(oldPath, name, []byte(c.src), c.edits)
			cmd := exec.Command(git, "apply", "-")
			cmd.Dir = dir
			cmd.Stdin = strings.NewReader(d)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git apply: %v\n%s\ndiff:\n%s", err, out, d)
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("after git apply %q, want %q\ndiff:\n%s", got, c.want, d)
			}
		})
	}
}

func TestNoEditsNoDiff(t *testing.T) {
	if d := Diff("f", "f", []byte("a\n"), nil); d != "" {
		t.Errorf("diff without edits: %q", d)
	}
}

// patch applies a diff made by Diff to src the way patch(1) does, for the
// fuzz target: hunks in order, context and deletions checked.
func patch(t *testing.T, src []byte, d string) []byte {
	t.Helper()
	old := split(src)
	var out []string
	i := 0
	ls := strings.Split(d, "\n")
	for k := 2; k < len(ls); k++ {
		l := ls[k]
		if !strings.HasPrefix(l, "@@ -") {
			continue
		}
		r, _, _ := strings.Cut(strings.TrimPrefix(l, "@@ -"), " ")
		s, n, hasN := strings.Cut(r, ",")
		start, _ := strconv.Atoi(s)
		if hasN && n == "0" {
			start++ // an empty range names the line before it
		}
		for ; i < start-1; i++ {
			out = append(out, old[i].text+eol(old[i]))
		}
		for k+1 < len(ls) && ls[k+1] != "" && !strings.HasPrefix(ls[k+1], "@@") {
			k++
			body := ls[k][1:]
			noNL := k+1 < len(ls) && strings.HasPrefix(ls[k+1], `\ No newline`)
			switch ls[k][0] {
			case ' ', '-':
				if i >= len(old) || old[i].text != body || old[i].eol == noNL {
					t.Fatalf("line %d: diff has %q, file %+v", i+1, body, old[min(i, len(old)-1)])
				}
				if ls[k][0] == ' ' {
					out = append(out, old[i].text+eol(old[i]))
				}
				i++
			case '+':
				if noNL {
					out = append(out, body)
				} else {
					out = append(out, body+"\n")
				}
			case '\\':
			}
		}
	}
	for ; i < len(old); i++ {
		out = append(out, old[i].text+eol(old[i]))
	}
	return []byte(strings.Join(out, ""))
}

func eol(l line) string {
	if l.eol {
		return "\n"
	}
	return ""
}

// FuzzDiff: for any text and edit, the diff, applied, gives Apply's
// result.
func FuzzDiff(f *testing.F) {
	f.Add([]byte("a\nb\nc"), 2, 1, "x")
	f.Add([]byte(""), 1, 0, "hosts: files dns")
	f.Add([]byte("a\r\nb\r\n"), 3, 0, "c")
	f.Fuzz(func(t *testing.T, src []byte, at, del int, ins string) {
		if bytes.Contains(src, []byte("\n\\")) || strings.ContainsAny(ins, "\n") || at < 0 || del < 0 || at > 1000 || del > 1000 {
			return
		}
		edits := []Edit{{Line: at, Delete: del, Insert: []string{ins}}}
		want := Apply(src, edits)
		d := Diff("f", "f", src, edits)
		if d == "" {
			if !bytes.Equal(want, src) {
				t.Fatalf("no diff, but Apply changed %q to %q", src, want)
			}
			return
		}
		if got := patch(t, src, d); !bytes.Equal(got, want) {
			t.Fatalf("patched %q, Apply %q\ndiff:\n%s", got, want, d)
		}
	})
}
