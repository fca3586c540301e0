package sniff

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// sharedData returns a file of ../shared/data, or skips.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		p = filepath.Join(filepath.Dir(file), "..", "..", "shared", "data", rel)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s not available", rel)
		}
	}
	abs, _ := filepath.Abs(p)
	return abs
}

// incidentSpec is the incident in a lab: Alpine 3.13 (no nsswitch.conf),
// the Go 1.15.7 esbuild serving on localhost, three silent nameservers,
// no search list. The resolver timeout is 2 s (instead of 5) to keep the
// run short; the program starts once goFile is non-empty.
func incidentSpec(t testing.TB, goFile string) lab.Spec {
	t.Helper()
	ns := lab.DefaultNameservers(3)
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return lab.Spec{
		Nameservers: ns,
		Scenario:    model.Scenario{Servers: []model.Behavior{{Kind: model.Silent}}},
		ResolvConf:  &model.File{Data: lab.ResolvConf(ns, "", "timeout:2"), Origin: "test"},
		Root:        sharedData(t, "rootfs/alpine-minirootfs-3.13.12-x86_64.tar.gz"),
		Add: []lab.Add{
			{Src: sharedData(t, "binaries/esbuild-0.8.40-linux-amd64"), Dst: "/usr/local/bin/esbuild"},
			{Src: goFile, Dst: "/run/nsscope-go"},
		},
		Argv:    []string{"/bin/sh", "-c", "until [ -s /run/nsscope-go ]; do sleep 0.05; done; exec esbuild --serve=localhost:8000"},
		Env:     []string{"PATH=" + lab.DefaultPath},
		Until:   "http://|error",
		Timeout: 2 * time.Minute,
	}
}

// TestSniffIncident: `sniff --name 'localhost*'` on the incident shows
// the 12 unanswered queries (3 servers × 2 attempts × A and AAAA), each
// attributed to esbuild, and names localhost as the signature.
func TestSniffIncident(t *testing.T) {
	needRoot(t)
	goFile := filepath.Join(t.TempDir(), "go")
	spec := incidentSpec(t, goFile)
	run := sniffLab(t, spec, goFile, "", 0, Options{Name: "localhost*", Explain: true})
	var out bytes.Buffer
	for _, x := range run.exchanges {
		WriteExchange(&out, x)
	}
	WriteSummary(&out, run.sum)
	WriteExplanations(&out, run.sum.Explanations)
	t.Logf("sniff output:\n%s", out.String())
	if len(run.res.Queries) != 12 {
		t.Fatalf("the lab's servers received %d queries, want 12", len(run.res.Queries))
	}
	if len(run.exchanges) != 12 {
		t.Fatalf("sniff reported %d exchanges, want 12", len(run.exchanges))
	}
	for _, x := range run.exchanges {
		if !x.Unanswered || x.Timeout != 2*time.Second || x.Name != "localhost." {
			t.Errorf("%+v: want localhost. unanswered after 2s", x)
		}
		if x.Process == nil || x.Process.Comm != "esbuild" {
			t.Errorf("%+v: not attributed to esbuild (%s)", x, x.AttrError)
		}
	}
	if len(run.sum.Signature) != 1 || run.sum.Signature[0].Key != "localhost." || run.sum.Signature[0].Unanswered != 12 {
		t.Errorf("signature: %+v", run.sum.Signature)
	}
	if len(run.sum.Processes) != 1 || run.sum.Processes[0].Comm != "esbuild" || run.sum.Processes[0].Unanswered != 12 {
		t.Errorf("processes: %+v", run.sum.Processes)
	}
	explainVerdict(t, run, out.String())
}

// explainVerdict checks --explain on the incident: it read esbuild's
// binary (Go 1.15.7) and files (Alpine 3.13: no nsswitch.conf) and finds
// the capture as the model predicts it: 12 queries, all unanswered.
func explainVerdict(t *testing.T, run sniffedRun, out string) {
	var found bool
	for _, e := range run.sum.Explanations {
		if e.Process.Comm != "esbuild" || e.Name != "localhost." {
			continue
		}
		found = true
		if e.Predicted == nil || e.Predicted.Queries != 12 || e.Captured != 12 || e.CapturedUnanswered != 12 {
			t.Errorf("explanation: %+v", e)
		}
		// The same exchanges must be captured; on a loaded machine the
		// capture's times may drift past the lab's timing tolerance, which
		// the verdict then names ("… (tolerance …)") — not a capture error.
		asPredicted := strings.HasSuffix(e.Verdict, "as predicted")
		lateOnly := strings.Contains(e.Verdict, "first difference: exchanges") && strings.Contains(e.Verdict, "(tolerance ")
		if !(asPredicted || lateOnly) || !strings.HasPrefix(e.Binary, "Go 1.15.7") {
			t.Errorf("verdict %q, binary %q", e.Verdict, e.Binary)
		}
	}
	if !found {
		t.Errorf("no explanation of esbuild's localhost lookup: %s", out)
	}
}
