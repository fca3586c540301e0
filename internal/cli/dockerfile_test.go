package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/report/sarifcheck"
)

// dfRun runs `nsscope dockerfile ARGS` with stdin and returns stdout,
// stderr and the exit code.
func dfRun(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"dockerfile"}, args...), Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb}, nil)
	return out.String(), errb.String(), code
}

// corpusDockerfile copies a Dockerfile of the dockerfile package's corpus
// into a fresh directory and returns its path.
func corpusDockerfile(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "dockerfile", "testdata", "corpus", name, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func jsonReport(t *testing.T, out string) *report.Report {
	t.Helper()
	r, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// applyUnifiedDiff applies a unified diff to src, independently of the
// code that made it: context and removed lines must match.
func applyUnifiedDiff(t *testing.T, src, diff string) string {
	t.Helper()
	old := strings.Split(strings.TrimSuffix(src, "\n"), "\n")
	var out []string
	next := 0 // next old line (0-based) not yet copied
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "--- ") || strings.HasPrefix(l, "+++ ") {
			continue
		}
		if !strings.HasPrefix(l, "@@ -") {
			t.Fatalf("unexpected diff line %q", l)
		}
		start, _, _ := strings.Cut(strings.TrimPrefix(l, "@@ -"), " ")
		start, _, _ = strings.Cut(start, ",")
		n, err := strconv.Atoi(start)
		if err != nil {
			t.Fatalf("hunk header %q", l)
		}
		at := max(n-1, 0)
		out = append(out, old[next:at]...)
		next = at
		for i+1 < len(lines) && !strings.HasPrefix(lines[i+1], "@@") {
			i++
			h := lines[i]
			switch h[0] {
			case ' ', '-':
				if next >= len(old) || old[next] != h[1:] {
					t.Fatalf("diff does not match line %d: %q vs %q", next+1, h[1:], old[min(next, len(old)-1)])
				}
				if h[0] == ' ' {
					out = append(out, old[next])
				}
				next++
			case '+':
				out = append(out, h[1:])
			}
		}
	}
	out = append(out, old[next:]...)
	return strings.Join(out, "\n") + "\n"
}

// TestDockerfileIncident is the acceptance test of nsscope dockerfile: the
// incident's shape (builder golang:1.15-alpine, final alpine:3.12,
// CGO_ENABLED=0) yields exactly one critical finding, and its --diff fix,
// applied, yields none at warning or above.
func TestDockerfileIncident(t *testing.T) {
	p := corpusDockerfile(t, "incident")
	out, stderr, code := dfRun(t, "", "--format", "json", p)
	if code != ExitFindings {
		t.Fatalf("exit %d, want %d (stderr %q)", code, ExitFindings, stderr)
	}
	r := jsonReport(t, out)
	if c := r.Counts(); c[report.Critical] != 1 || c[report.Warning] != 0 {
		t.Fatalf("counts %v, want exactly one critical and no warning", c)
	}

	diff, stderr, code := dfRun(t, "", "--diff", p)
	if code != ExitFindings || !strings.Contains(diff, "+RUN sed -i '/^[[:space:]]*hosts[[:space:]]*:/d' /etc/nsswitch.conf 2>/dev/null; printf '\\nhosts: files dns\\n' >> /etc/nsswitch.conf\n") {
		t.Fatalf("--diff: exit %d, stderr %q, diff:\n%s", code, stderr, diff)
	}
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(filepath.Dir(p), "Dockerfile.fixed")
	if err := os.WriteFile(fixed, []byte(applyUnifiedDiff(t, string(src), diff)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = dfRun(t, "", "--format", "json", "--fail-on", "warning", fixed)
	if code != ExitOK {
		t.Fatalf("fixed: exit %d, want 0 (stderr %q)\n%s", code, stderr, out)
	}
	if c := jsonReport(t, out).Counts(); c[report.Critical]+c[report.Warning] != 0 {
		t.Errorf("fixed: counts %v, want nothing at warning or above", c)
	}
	if d, _, _ := dfRun(t, "", "--diff", fixed); d != "" {
		t.Errorf("fixed: --diff still proposes:\n%s", d)
	}
}

func TestDockerfileFix(t *testing.T) {
	p := corpusDockerfile(t, "scratch-go115")
	orig, _ := os.ReadFile(p)
	out, stderr, code := dfRun(t, "", "--fix", p)
	if code != ExitOK {
		t.Fatalf("--fix: exit %d (stderr %q)", code, stderr)
	}
	if !strings.Contains(out, "+COPY <<EOF /etc/nsswitch.conf\n+hosts: files dns\n+EOF\n") {
		t.Errorf("--fix printed:\n%s", out)
	}
	if !strings.Contains(stderr, "wrote "+p) {
		t.Errorf("stderr %q", stderr)
	}
	bak, err := os.ReadFile(p + ".bak")
	if err != nil || !bytes.Equal(bak, orig) {
		t.Errorf("backup: %v, equal %v", err, bytes.Equal(bak, orig))
	}
	now, _ := os.ReadFile(p)
	if string(now) != applyUnifiedDiff(t, string(orig), out) {
		t.Errorf("file written differs from the diff printed:\n%s", now)
	}
	// Fixed: nothing more to do; a second --fix never clobbers the backup.
	if _, stderr, code := dfRun(t, "", "--fix", p); code != ExitOK || !strings.Contains(stderr, "nothing to fix") {
		t.Errorf("second --fix: exit %d, stderr %q", code, stderr)
	}
	q := corpusDockerfile(t, "incident")
	if err := os.WriteFile(q+".bak", []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := dfRun(t, "", "--fix", q); code != ExitUsage || !strings.Contains(stderr, ".bak exists") {
		t.Errorf("--fix over a backup: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(q + ".bak"); string(b) != "keep" {
		t.Error("the old backup was overwritten")
	}
}

func TestDockerfileSARIF(t *testing.T) {
	p := corpusDockerfile(t, "incident")
	out, stderr, code := dfRun(t, "", "--format", "sarif", p)
	if code != ExitFindings {
		t.Fatalf("exit %d (stderr %q)", code, stderr)
	}
	if err := sarifcheck.Validate(sarifcheck.Schema(t), []byte(out)); err != nil {
		t.Fatalf("SARIF invalid: %v", err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				Level     string `json:"level"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(p)
	lines := strings.Split(string(src), "\n")
	errors := 0
	for _, r := range doc.Runs[0].Results {
		if r.Level != "error" {
			continue
		}
		errors++
		loc := r.Locations[0].Physical
		if !strings.HasSuffix(loc.Artifact.URI, "Dockerfile") || loc.Region.StartLine < 1 || !strings.HasPrefix(lines[loc.Region.StartLine-1], "FROM alpine:3.12") {
			t.Errorf("location %s:%d, want the final FROM line", loc.Artifact.URI, loc.Region.StartLine)
		}
	}
	if errors != 1 {
		t.Errorf("%d error results, want 1", errors)
	}
}

func TestDockerfileStdinAndFlags(t *testing.T) {
	src := "FROM golang:1.15-alpine AS b\nRUN CGO_ENABLED=0 go build -o /app .\nFROM alpine:3.12\nCOPY --from=b /app /app\n"
	out, _, code := dfRun(t, src, "-")
	if code != ExitFindings || !strings.Contains(out, "critical /app") {
		t.Errorf("stdin: exit %d\n%s", code, out)
	}
	// Under Docker (two nameservers, no search list) it is slow, not fatal.
	out, _, code = dfRun(t, src, "--runtime", "docker", "-")
	if code != ExitOK || !strings.Contains(out, "warning  /app") {
		t.Errorf("--runtime docker: exit %d\n%s", code, out)
	}
	if _, _, code = dfRun(t, src, "--runtime", "docker", "--fail-on", "warning", "-"); code != ExitFindings {
		t.Errorf("--fail-on warning: exit %d", code)
	}
	// A 50 s deadline outlasts the 40 s of DNS: DNS first, but in time.
	if out, _, code = dfRun(t, src, "--deadline", "50s", "-"); code != ExitOK || !strings.Contains(out, "warning  /app") {
		t.Errorf("--deadline 50s: exit %d\n%s", code, out)
	}
	// --build-arg and --target.
	argSrc := "ARG GO=1.20\nFROM golang:${GO}-alpine AS b\nRUN CGO_ENABLED=0 go build -o /app .\nFROM alpine:3.12 AS rel\nCOPY --from=b /app /app\nFROM b AS test\n"
	if _, _, code = dfRun(t, argSrc, "--target", "rel", "-"); code != ExitOK {
		t.Errorf("Go 1.20: exit %d", code)
	}
	if out, _, code = dfRun(t, argSrc, "--target", "rel", "--build-arg", "GO=1.15", "-"); code != ExitFindings {
		t.Errorf("--build-arg GO=1.15: exit %d\n%s", code, out)
	}
}

func TestDockerfileBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"not a Dockerfile", []string{write("pod.yaml", "apiVersion: v1\nkind: Pod\n")}, "", "not a Dockerfile: unknown instruction"},
		{"binary", []string{write("bin", "\x7fELF\x00\x00")}, "", "not a Dockerfile: binary data"},
		{"unknown instruction", []string{write("u", "FROM alpine\nINSTALL curl\n")}, "", `:2: unknown instruction "INSTALL"`},
		{"unterminated heredoc", []string{"-"}, "FROM alpine\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc"},
		{"missing file", []string{filepath.Join(dir, "nope")}, "", "no such file"},
		{"directory", []string{dir}, "", "not a regular file"},
		{"no file", nil, "", "want exactly one FILE"},
		{"bad flag", []string{"--frobnicate", "x"}, "", "unknown flag --"},
		{"bad runtime", []string{"--runtime", "podman", "x"}, "", "--runtime"},
		{"runtime none", []string{"--runtime", "none", "x"}, "", "--runtime none"},
		{"bad fail-on", []string{"--fail-on", "fatal", "x"}, "", "--fail-on"},
		{"bad deadline", []string{"--deadline", "-1s", "x"}, "", "--deadline"},
		{"bad build-arg", []string{"--build-arg", "NOVALUE", "x"}, "", "want KEY=VALUE"},
		{"fix stdin", []string{"--fix", "-"}, "FROM alpine\n", "--fix needs a FILE"},
		{"unknown target", []string{"--target", "nope", "-"}, "FROM alpine\n", `no stage named "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := dfRun(t, tt.stdin, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d (stdout %q)", code, ExitUsage, out)
			}
			if !strings.HasPrefix(stderr, "nsscope dockerfile: ") || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", stderr, tt.want)
			}
		})
	}
	if stdout, _, code := dfRun(t, "", "-h"); code != ExitOK || !strings.Contains(stdout, "Usage: nsscope dockerfile") {
		t.Errorf("-h: exit %d, %q", code, fmt.Sprint(stdout[:min(len(stdout), 60)]))
	}
}
