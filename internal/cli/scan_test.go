package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nsscope/nsscope/internal/testimage"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/report/sarifcheck"
)

const entrypoint = "/usr/local/bin/esbuild"

// buildImage makes an image from a root filesystem tarball of the shared
// data plus one esbuild binary installed as the entrypoint.
func buildImage(t *testing.T, rootfs, binary string, env ...string) v1.Image {
	t.Helper()
	return buildImageFor(t, "amd64", rootfs, binary, env...)
}

// buildImageFor is buildImage with the platform architecture recorded in
// the config (the content stays amd64: only the index entry differs).
func buildImageFor(t *testing.T, arch, rootfs, binary string, env ...string) v1.Image {
	t.Helper()
	app := testimage.FileLayer(t, map[string]testimage.File{
		testimage.Rel(entrypoint): {FromFile: testimage.Binary(t, binary), Mode: 0o755},
	})
	return testimage.Image(t, testimage.Config{
		Entrypoint: []string{entrypoint},
		Cmd:        []string{"--version"},
		Env:        append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...),
		Arch:       arch,
	}, testimage.RootfsLayer(t, testimage.Rootfs(t, rootfs)), app)
}

func writeDockerTarball(t *testing.T, img v1.Image) string {
	return testimage.DockerSave(t, img, t.TempDir(), "nsscope.test/app:latest")
}

func writeOCILayout(t *testing.T, img v1.Image) string {
	return testimage.OCILayout(t, t.TempDir(), img)
}

func writeOCIArchive(t *testing.T, img v1.Image) string {
	return testimage.OCIArchive(t, t.TempDir(), img)
}

// pushToRegistry pushes img to an in-process registry on loopback and
// returns the tagged reference.
func pushToRegistry(t *testing.T, img v1.Image) string {
	ref := testimage.Registry(t) + "/nsscope/app:test"
	testimage.Push(t, img, ref)
	return ref
}

// runCLI runs nsscope in-process and returns stdout, stderr and the code.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, nil)
	return out.String(), errb.String(), code
}

// mainFinding parses a JSON report and returns the entrypoint's finding.
func mainFinding(t *testing.T, out string) (*report.Report, report.Finding) {
	t.Helper()
	rep, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, f := range rep.Findings {
		if f.Main {
			if f.Subject != entrypoint {
				t.Errorf("main finding is about %s, want %s", f.Subject, entrypoint)
			}
			return rep, f
		}
	}
	t.Fatalf("no finding for the main process; findings %+v, notes %q", rep.Findings, rep.Notes)
	return nil, report.Finding{}
}

// TestScanImages is the acceptance matrix: the four images of the issue,
// each built here from the shared root filesystems and real esbuild
// binaries, delivered in the three forms a user has (docker save, OCI
// layout, registry).
func TestScanImages(t *testing.T) {
	testimage.DataDir(t)
	// The incident's node: three nameservers, no search list; its hosts
	// file has localhost.
	node := t.TempDir()
	nodeResolv := filepath.Join(node, "resolv.conf")
	nodeHosts := filepath.Join(node, "hosts")
	if err := os.WriteFile(nodeResolv, []byte("nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nodeHosts, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		rootfs  string
		binary  string
		deliver func(*testing.T, v1.Image) string
		args    []string
		want    report.Severity
		code    int
		check   func(t *testing.T, f report.Finding)
	}{
		{"alpine 3.13 + Go 1.15 (docker save), kubernetes", testimage.Alpine313, testimage.Esbuild115,
			writeDockerTarball, nil, report.Critical, ExitFindings, func(t *testing.T, f report.Finding) {
				reasons := strings.Join(f.Reasons, "\n")
				for _, want := range []string{"go1.15.7", "4 candidates × 2 attempts × 1 server × 5s = 40s ≥ 30s deadline", "localhost.default.svc.cluster.local."} {
					if !strings.Contains(reasons, want) {
						t.Errorf("reasons lack %q:\n%s", want, reasons)
					}
				}
				if f.Queries == 0 || !f.Predict.DeadlineExceeded {
					t.Errorf("queries %d, deadline exceeded %v", f.Queries, f.Predict.DeadlineExceeded)
				}
				if len(f.Fixes) == 0 || !strings.Contains(f.Fixes[0].Description, "hosts: files dns") || f.Fixes[0].After != 0 || f.Fixes[0].AfterQueries != 0 {
					t.Errorf("first fix %+v, want nsswitch.conf with no DNS after", f.Fixes)
				}
				var all []string
				for _, fx := range f.Fixes {
					all = append(all, fx.Description)
				}
				if s := strings.Join(all, "\n"); !strings.Contains(s, "Go >= 1.16") || !strings.Contains(s, "dial 127.0.0.1") {
					t.Errorf("fixes %q lack the Go upgrade or the literal", all)
				}
			}},
		{"alpine 3.16 + Go 1.15 (OCI layout), kubernetes", testimage.Alpine316, testimage.Esbuild115,
			writeOCILayout, nil, report.Info, ExitOK, func(t *testing.T, f report.Finding) {
				if f.Queries != 0 || len(f.Fixes) != 0 {
					t.Errorf("safe finding with %d queries and fixes %+v", f.Queries, f.Fixes)
				}
			}},
		{"busybox musl + Go 1.16 (registry), kubernetes", testimage.BusyboxMusl, testimage.Esbuild116,
			pushToRegistry, nil, report.Info, ExitOK, nil},
		{"busybox glibc + Go 1.15 (OCI archive), kubernetes", testimage.BusyboxGlib, testimage.Esbuild115,
			writeOCIArchive, nil, report.Info, ExitOK, nil},
		{"alpine 3.13 + Go 1.15, docker runtime", testimage.Alpine313, testimage.Esbuild115,
			writeOCILayout, []string{"--runtime", "docker"}, report.Warning, ExitOK, func(t *testing.T, f report.Finding) {
				// 1 candidate × 2 attempts × 2 servers × 5 s = 20 s < 30 s.
				if f.Time.Seconds() != 20 {
					t.Errorf("time %s, want 20s", f.Time)
				}
			}},
		{"alpine 3.13 + Go 1.15, hostNetwork on a node with 3 nameservers", testimage.Alpine313, testimage.Esbuild115,
			writeOCILayout, []string{"--host-network", "--resolv-conf", nodeResolv, "--hosts", nodeHosts}, report.Critical, ExitFindings,
			func(t *testing.T, f report.Finding) {
				// 1 candidate × 2 attempts × 3 servers × 5 s = 30 s = the deadline.
				if f.Time.Seconds() != 30 {
					t.Errorf("time %s, want 30s", f.Time)
				}
			}},
		{"alpine 3.13 + Go 1.15, --fail-on warning, deadline 15s", testimage.Alpine313, testimage.Esbuild115,
			writeOCILayout, []string{"--runtime", "docker", "--deadline", "15s", "--fail-on", "warning"}, report.Critical, ExitFindings, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := buildImage(t, tt.rootfs, tt.binary)
			target := tt.deliver(t, img)
			args := append([]string{"scan", "--format", "json"}, tt.args...)
			out, stderr, code := runCLI(t, append(args, target)...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr %s", code, tt.code, stderr)
			}
			rep, f := mainFinding(t, out)
			if f.Severity != tt.want {
				t.Errorf("verdict %s (%s), want %s\nreasons: %s", f.Severity, f.Message, tt.want, strings.Join(f.Reasons, "\n  "))
			}
			if len(rep.Assumptions) == 0 {
				t.Error("the report states no assumption")
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// TestScanImageEnv: the image's environment reaches the programs. Go
// before 1.21 hands a lookup to its fallback order files,dns when
// LOCALDOMAIN is set, so the critical image becomes safe.
func TestScanImageEnv(t *testing.T) {
	img := buildImage(t, testimage.Alpine313, testimage.Esbuild115, "LOCALDOMAIN=corp.example")
	out, stderr, code := runCLI(t, "scan", "--format", "json", writeOCILayout(t, img))
	if code != ExitOK {
		t.Errorf("exit %d: %s", code, stderr)
	}
	rep, f := mainFinding(t, out)
	if f.Severity != report.Info {
		t.Errorf("with LOCALDOMAIN: %s (%s)", f.Severity, f.Message)
	}
	if !strings.Contains(strings.Join(rep.Assumptions, "\n"), "LOCALDOMAIN") {
		t.Errorf("assumptions do not name the image environment: %q", rep.Assumptions)
	}
}

// TestScanPlatform: --platform picks the image from a multi-platform
// index in a registry.
func TestScanPlatform(t *testing.T) {
	amd := buildImageFor(t, "amd64", testimage.Alpine313, testimage.Esbuild115)
	arm := buildImageFor(t, "arm64", testimage.Alpine316, testimage.Esbuild115)
	ref := testimage.Registry(t) + "/nsscope/multi:1"
	testimage.PushIndex(t, ref, amd, arm)
	for _, tt := range []struct {
		args []string
		want report.Severity
	}{
		{nil, report.Critical},
		{[]string{"--platform", "linux/arm64"}, report.Info},
	} {
		args := append(append([]string{"scan", "--format", "json"}, tt.args...), ref)
		out, stderr, _ := runCLI(t, args...)
		rep, f := mainFinding(t, out)
		if f.Severity != tt.want {
			t.Errorf("%q: %s, want %s (%s)", tt.args, f.Severity, tt.want, stderr)
		}
		if !strings.Contains(rep.Target, "registry image") {
			t.Errorf("target %q", rep.Target)
		}
	}
}

// TestScanFormats runs the critical image through every output format.
func TestScanFormats(t *testing.T) {
	img := buildImage(t, testimage.Alpine313, testimage.Esbuild115)
	target := writeOCILayout(t, img)

	out, _, code := runCLI(t, "scan", target)
	if code != ExitFindings {
		t.Errorf("text: exit %d", code)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "critical /usr/local/bin/esbuild (main)  localhost: ") {
		t.Errorf("text output:\n%s", out)
	}

	out, _, _ = runCLI(t, "scan", "-v", target)
	if !strings.Contains(out, "    because: ") || !strings.Contains(out, "    fix: ") {
		t.Errorf("-v output lacks reasons or fixes:\n%s", out)
	}

	out, _, code = runCLI(t, "scan", "--format", "sarif", "--fail-on", "info", target)
	if code != ExitFindings {
		t.Errorf("sarif --fail-on info: exit %d", code)
	}
	if err := sarifcheck.Validate(sarifcheck.Schema(t), []byte(out)); err != nil {
		t.Errorf("SARIF output is not valid SARIF 2.1.0: %v", err)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI       string `json:"uri"`
							URIBaseID string `json:"uriBaseId"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range log.Runs[0].Results {
		if len(r.Locations) > 0 && r.Locations[0].PhysicalLocation.ArtifactLocation.URI == "usr/local/bin/esbuild" {
			found = true
			if r.Level != "error" || r.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID != report.TargetRootBaseID {
				t.Errorf("entrypoint result: level %s, base %s", r.Level, r.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID)
			}
		}
	}
	if !found {
		t.Errorf("no SARIF result points at usr/local/bin/esbuild:\n%s", out)
	}

	out, _, _ = runCLI(t, "scan", "--format", "json", target)
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.JSONSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("report.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("JSON output does not match the documented schema: %v", err)
	}

	out, _, _ = runCLI(t, "scan", "--format", "json", "--name", "localhost", "--name", "db.internal", target)
	rep, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rep.Findings {
		if f.Main {
			names = append(names, f.Name+"="+f.Severity.String())
		}
	}
	if strings.Join(names, " ") != "localhost=critical db.internal=info" {
		t.Errorf("main findings for two names: %q", names)
	}

	out, _, _ = runCLI(t, "scan", "--format", "html", target)
	if !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "/usr/local/bin/esbuild") {
		t.Errorf("html output:\n%.300s", out)
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"scan"}, ExitUsage, "want exactly one TARGET"},
		{[]string{"scan", "--bogus", dir}, ExitUsage, "unknown flag --"},
		{[]string{"scan", "--runtime", "lxc", dir}, ExitUsage, "--runtime \"lxc\": want kubernetes, docker or none"},
		{[]string{"scan", "--format", "xml", dir}, ExitUsage, "--format \"xml\": want text, json, sarif or html"},
		{[]string{"scan", "--fail-on", "high", dir}, ExitUsage, "--fail-on \"high\": want critical, warning or info"},
		{[]string{"scan", "--deadline", "-1s", dir}, ExitUsage, "positive duration"},
		{[]string{"scan", "--name", "a b", dir}, ExitUsage, "not a host name"},
		{[]string{"scan", "--host-network", "--runtime", "docker", dir}, ExitUsage, "--host-network does nothing with --runtime docker"},
		{[]string{"scan", "--resolv-conf", filepath.Join(dir, "missing"), dir}, ExitUsage, "no such file"},
		{[]string{"scan", filepath.Join(dir, "does-not-exist.tar")}, ExitUsage, ""},
	}
	for _, tt := range tests {
		_, stderr, code := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.msg)
		}
		if code != ExitOK && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%q: error is not one line: %q", tt.args, stderr)
		}
	}
	out, stderr, code := runCLI(t, "scan", "-h")
	if code != ExitOK || !strings.Contains(out, "Usage: nsscope scan") || stderr != "" {
		t.Errorf("-h: exit %d, stdout %q", code, out)
	}
}

// TestScanEmptyDirectory: a directory with no programs gives an empty
// report and exit 0.
func TestScanEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "scan", "--runtime", "none", "--format", "json", dir)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 {
		t.Errorf("findings in an empty root: %+v", rep.Findings)
	}
	if len(rep.Assumptions) == 0 {
		t.Error("no assumptions stated")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestScanInternalError: a failure that is not the input's (here stdout
// refusing the report) exits 3.
func TestScanInternalError(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"scan", "--runtime", "none", t.TempDir()},
		Stdio{In: strings.NewReader(""), Out: failWriter{}, Err: &errb}, nil)
	if code != ExitInternal || !strings.Contains(errb.String(), "nsscope scan: ") {
		t.Errorf("exit %d, stderr %q; want 3", code, errb.String())
	}
}
