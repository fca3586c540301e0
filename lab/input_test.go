package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/model"
)

// TestBadInput checks each kind of bad request: a clear one-line
// InputError, and nothing left in the temp dir.
func TestBadInput(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	// A root with a dynamically linked program and no loader.
	noLoader := filepath.Join(dir, "noloader")
	if err := os.MkdirAll(filepath.Join(noLoader, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	dyn, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to use as a dynamic binary")
	}
	os.WriteFile(filepath.Join(noLoader, "bin", "true"), dyn, 0o755)
	notTar := filepath.Join(dir, "not.tar")
	os.WriteFile(notTar, []byte("this is not a tar file\n"), 0o644)
	aFile := filepath.Join(dir, "file")
	os.WriteFile(aFile, nil, 0o644)

	ns := DefaultNameservers(3)
	base := func() Spec {
		return Spec{
			Nameservers: ns,
			Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
			ResolvConf:  &model.File{Data: ResolvConf(ns, "", "")},
			Argv:        []string{"/bin/true"},
		}
	}
	four := append(DefaultNameservers(3), DefaultNameservers(4)[3])
	tests := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"program not found", func(s *Spec) { s.Argv = []string{"/no/such/program"} }, "program /no/such/program not found"},
		{"program not in PATH", func(s *Spec) { s.Argv = []string{"no-such-program"} }, `program "no-such-program" not found`},
		{"root without loader", func(s *Spec) { s.Root = noLoader }, "which the program's root does not have"},
		{"no nameserver", func(s *Spec) { s.Nameservers = nil }, "lists no nameserver"},
		{"four nameservers", func(s *Spec) { s.Nameservers = four }, "lists 4 nameservers"},
		{"temp dir missing", func(s *Spec) { s.TempDir = filepath.Join(dir, "missing") }, "is not usable"},
		{"temp dir is a file", func(s *Spec) { s.TempDir = aFile }, "is not usable"},
		{"root not a tar", func(s *Spec) { s.Root = notTar }, "not.tar"},
		{"root missing", func(s *Spec) { s.Root = filepath.Join(dir, "nothere") }, "no such file"},
		{"behaviours mismatch", func(s *Spec) { s.Scenario.Servers = make([]model.Behavior, 2) }, "2 server behaviours for 3 nameservers"},
		{"add without root", func(s *Spec) { s.Add = []Add{{Src: aFile, Dst: "/x"}} }, "--add needs --root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			spec := base()
			spec.TempDir = tmp
			tc.edit(&spec)
			_, err := Runner{}.Run(context.Background(), spec)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tc.want)
			}
			if !IsInputError(err) {
				t.Errorf("error %q is not an InputError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
				t.Errorf("left in the temp dir: %v", ents)
			}
		})
	}
}

func TestUserNamespaceCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(v), 0o644)
		return p
	}
	tests := []struct {
		name            string
		maxNS, unprivNS string
		root            bool
		want            string
	}{
		{"enabled", write("max-ok", "96365\n"), filepath.Join(dir, "none"), false, ""},
		{"max zero", write("max-zero", "0\n"), filepath.Join(dir, "none"), false, "user namespaces are disabled"},
		{"no userns", filepath.Join(dir, "none"), filepath.Join(dir, "none"), false, "no user namespaces"},
		{"debian knob off", write("max-ok2", "10\n"), write("unpriv-0", "0\n"), false, "unprivileged user namespaces are disabled"},
		{"debian knob off, root", write("max-ok3", "10\n"), write("unpriv-0b", "0\n"), true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkUserNamespaces(tc.maxNS, tc.unprivNS, tc.root)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !IsInputError(err)):
				t.Errorf("error %v, want an InputError containing %q", err, tc.want)
			}
		})
	}
}
