package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/inspect"
	"github.com/nsscope/nsscope/internal/golden"
	ti "github.com/nsscope/nsscope/internal/testimage"
)

func runInspectCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"inspect"}, args...), Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, []string{"TMPDIR=" + t.TempDir()})
	return out.String(), errb.String(), code
}

// The text output for the shared Go 1.15 binary, inside an image whose
// entrypoint it is, matches the golden file (-update rewrites it).
func TestInspectGolden(t *testing.T) {
	t.Parallel()
	img := ti.Image(t, ti.Config{Entrypoint: []string{"/usr/local/bin/esbuild"}},
		ti.RootfsLayer(t, ti.Rootfs(t, ti.Alpine313)),
		ti.FileLayer(t, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: ti.Binary(t, ti.Esbuild115)}}))
	archive := ti.DockerSave(t, img, t.TempDir(), "example.com/app:1")
	out, errText, code := runInspectCLI(t, "--in", archive)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errText)
	}
	out = strings.ReplaceAll(out, archive, "IMAGE.tar")
	goldenPath := filepath.Join("testdata", "inspect-esbuild-alpine.txt")
	if golden.Update() {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(goldenPath, []byte(out), 0o644)
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("output differs from %s (run with -update):\n%s", goldenPath, out)
	}
	// JSON carries the same facts.
	out, _, code = runInspectCLI(t, "--format", "json", "--in", archive, "/usr/local/bin/esbuild", "/bin/busybox")
	var doc struct {
		SchemaVersion int    `json:"schema_version"`
		Tool          string `json:"tool"`
		Binaries      []struct {
			Main   bool `json:"main"`
			Binary struct {
				Go   struct{ Version string } `json:"go"`
				Libc inspect.LibcRelease      `json:"libc"`
			} `json:"binary"`
			Libc *inspect.LibcRelease `json:"libc"`
		} `json:"binaries"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Binaries) != 2 || doc.SchemaVersion != 1 || doc.Tool != "nsscope" {
		t.Fatalf("json: exit %d %s", code, out)
	}
	res := doc.Binaries
	// One shape per libc: the binary's and the root's are both objects.
	if !res[0].Main || res[0].Binary.Go.Version != "go1.15.7" || res[1].Binary.Libc.Kind != "musl" || res[1].Binary.Libc.Evidence == "" || res[1].Libc == nil || res[1].Libc.Version != "1.2.2" {
		t.Errorf("json results %+v %+v", res[0], res[1])
	}
}

func TestInspectErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{script}, "not an ELF file"},
		{[]string{filepath.Join(dir, "missing")}, "no such file"},
		{nil, "want at least one BINARY"},
		{[]string{"--format", "yaml", script}, "--format"},
		{[]string{"--in", dir, "--root", dir}, "exclude each other"},
		{[]string{"--in", dir, "/nothing"}, "file does not exist"},
		{[]string{"--in", dir}, "no main process"},
		{[]string{"--nope"}, "unknown flag --"},
	} {
		_, errText, code := runInspectCLI(t, c.args...)
		if code != ExitUsage || !strings.Contains(errText, c.want) || strings.Count(errText, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q on one line", c.args, code, errText, c.want)
		}
	}
	// A truncated image: one line, exit 2.
	full, err := os.ReadFile(ti.Rootfs(t, ti.Alpine316))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.tar.gz")
	os.WriteFile(cut, full[:len(full)/2], 0o644)
	if _, errText, code := runInspectCLI(t, "--all", "--in", cut); code != ExitUsage || !strings.Contains(errText, "unexpected EOF") || strings.Count(errText, "\n") != 1 {
		t.Errorf("truncated: exit %d %q", code, errText)
	}
	// Skipped entries are noted on stderr; the results are on stdout.
	hostile := filepath.Join(dir, "hostile.tar")
	os.WriteFile(hostile, ti.TarBytes(t, map[string]ti.File{
		"../../escape":      {Data: []byte("x")},
		"usr/local/bin/app": {FromFile: ti.Binary(t, ti.Esbuild116)},
	}), 0o644)
	out, errText, code := runInspectCLI(t, "--in", hostile, "/usr/local/bin/app")
	if code != 0 || !strings.Contains(errText, "leaves the root: skipped") || !strings.Contains(out, "go1.16.3") {
		t.Errorf("hostile: exit %d stderr %q", code, errText)
	}
	out, errText, code = runInspectCLI(t, "-h")
	if code != 0 || errText != "" || !strings.Contains(out, "Usage: nsscope inspect") {
		t.Errorf("-h: %d %q", code, errText)
	}
}
