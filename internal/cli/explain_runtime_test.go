package cli

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ti "github.com/nsscope/nsscope/internal/testimage"
)

// outcomeDoc is the part of a prediction two verbs must agree on.
type outcomeDoc struct {
	Resolver         string  `json:"resolver"`
	Order            string  `json:"order"`
	Queries          int     `json:"queries"`
	AnsweredFrom     string  `json:"answered_from"`
	Error            string  `json:"error"`
	DeadlineExceeded bool    `json:"deadline_exceeded"`
	TotalSeconds     float64 `json:"total_seconds"`
	Program          struct {
		Impl string `json:"impl"`
		Go   struct {
			Version string `json:"version"`
		} `json:"go"`
		Libc struct {
			Kind string `json:"kind"`
		} `json:"libc"`
	} `json:"program"`
}

func (o outcomeDoc) String() string {
	return fmt.Sprintf("resolver %s, order %s, %d queries, from %q, error %q, deadline %v, %gs",
		o.Resolver, o.Order, o.Queries, o.AnsweredFrom, o.Error, o.DeadlineExceeded, o.TotalSeconds)
}

func (o outcomeDoc) same(p outcomeDoc) bool {
	o.Program, p.Program = p.Program, o.Program
	return o == p
}

// scanOutcome runs scan on target and returns the prediction and severity
// of the finding for subject; the severity is "" where scan grades by a
// rule of its own (NSS005: a name /etc/hosts lacks is DNS's to answer, and
// info for the image, while explain says what the lookup does: FAILS).
func scanOutcome(t *testing.T, target, subject string, flags ...string) (outcomeDoc, string) {
	t.Helper()
	out, errs, code := runCLI(t, append([]string{"scan", target, "--format", "json"}, flags...)...)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("scan: exit %d: %s", code, errs)
	}
	var rep struct {
		Findings []struct {
			RuleID     string          `json:"rule_id"`
			Severity   string          `json:"severity"`
			Subject    string          `json:"subject"`
			Prediction json.RawMessage `json:"prediction"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	for _, f := range rep.Findings {
		if f.Subject != subject {
			continue
		}
		var o outcomeDoc
		if err := json.Unmarshal(f.Prediction, &o); err != nil {
			t.Fatal(err)
		}
		if f.RuleID == "NSS005" {
			return o, ""
		}
		return o, f.Severity
	}
	t.Fatalf("scan: no finding for %s:\n%s", subject, out)
	return outcomeDoc{}, ""
}

// explainOutcomes runs explain and returns every prediction and verdict.
func explainOutcomes(t *testing.T, args ...string) ([]outcomeDoc, []string) {
	t.Helper()
	out, errs, code := runCLI(t, append([]string{"explain", "--format", "json"}, args...)...)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("explain: exit %d: %s", code, errs)
	}
	var doc struct {
		outcomeDoc
		Predictions []outcomeDoc `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("explain: %v\n%s", err, out)
	}
	preds := doc.Predictions
	if len(preds) == 0 {
		preds = []outcomeDoc{doc.outcomeDoc}
	}
	var verdicts []string
	for _, p := range preds {
		verdicts = append(verdicts, verdictOf(p))
	}
	return preds, verdicts
}

// verdictOf is the severity scan gives an outcome, from explain's rules
// (FAILS critical, SLOW warning, OK info): scan's grading of silent
// servers against the deadline.
func verdictOf(p outcomeDoc) string {
	switch {
	case p.DeadlineExceeded || p.Error != "":
		return "critical"
	case p.AnsweredFrom == "hosts" && p.Queries > 0, p.TotalSeconds >= 1:
		return "warning"
	}
	return "info"
}

// One image, one answer (issue 15.7): explain --root IMAGE and scan IMAGE
// predict the same lookup for the image's C program (busybox) under each
// runtime, the same request (scan's: a TCP dial of localhost, 30 s
// deadline, silent servers) and the same default runtime.
func TestExplainAgreesWithScan(t *testing.T) {
	roots := []string{"busybox-glibc-amd64-rootfs.tar.gz", "alpine-minirootfs-3.13.12-x86_64.tar.gz"}
	for _, name := range roots {
		root := sharedRootfs(t, name)
		for _, rt := range []string{"", "kubernetes", "docker", "none"} {
			t.Run(name+"/"+cmp.Or(rt, "default"), func(t *testing.T) {
				var flags []string
				if rt != "" {
					flags = []string{"--runtime", rt}
				}
				want, sev := scanOutcome(t, root, "/bin/busybox", flags...)
				preds, verdicts := explainOutcomes(t, append([]string{"--root", root, "--network", "tcp", "--deadline", "30s"}, flags...)...)
				found := false
				for i, p := range preds {
					if p.Program.Impl != want.Program.Impl || p.Program.Libc.Kind != want.Program.Libc.Kind {
						continue
					}
					found = true
					if !p.same(want) {
						t.Errorf("explain: %s\nscan:    %s", p, want)
					}
					if sev != "" && verdicts[i] != sev {
						t.Errorf("explain's verdict is %s, scan's %s (%s)", verdicts[i], sev, want)
					}
				}
				if !found {
					t.Fatalf("explain predicted no %s program with %s", want.Program.Impl, want.Program.Libc.Kind)
				}
			})
		}
	}
}

// The incident (a Go 1.15 static binary in Alpine 3.13, the node's three
// silent nameservers) fails under every runtime, and scan and explain
// agree on it; under --runtime none too, where the image's own
// /etc/hosts is read. Without the node's file the kubelet's (ndots:5, a
// search list) makes it fail too.
func TestExplainAgreesWithScanIncident(t *testing.T) {
	alpine := sharedRootfs(t, "alpine-minirootfs-3.13.12-x86_64.tar.gz")
	esbuild := filepath.Join(sharedDataDir(), "binaries", "esbuild-0.8.40-linux-amd64")
	if _, err := os.Stat(esbuild); err != nil {
		t.Skipf("shared data not available: %v", err)
	}
	image := filepath.Join(t.TempDir(), "incident.tar.gz")
	ti.RootfsWith(t, alpine, image, map[string]ti.File{"usr/local/bin/esbuild": {FromFile: esbuild}})
	node3 := filepath.Join("testdata", "explain", "node3.conf")
	for _, rt := range []string{"", "kubernetes", "docker", "none", "kubernetes-cluster-dns"} {
		t.Run(cmp.Or(rt, "default"), func(t *testing.T) {
			flags := []string{"--resolv-conf", node3}
			switch rt {
			case "":
			case "kubernetes-cluster-dns":
				flags = nil
			default:
				flags = append(flags, "--runtime", rt)
			}
			want, sev := scanOutcome(t, image, "/usr/local/bin/esbuild", flags...)
			if want.Program.Go.Version != "1.15.7" {
				t.Fatalf("scan read esbuild as Go %q, want 1.15.7", want.Program.Go.Version)
			}
			if sev != "critical" || !want.DeadlineExceeded {
				t.Errorf("scan: %s %s, want critical with the deadline reached", sev, want)
			}
			preds, verdicts := explainOutcomes(t, append([]string{"--root", image, "--go", "1.15.7", "--network", "tcp", "--deadline", "30s"}, flags...)...)
			if len(preds) != 1 || !preds[0].same(want) || verdicts[0] != sev {
				t.Errorf("explain: %v %v\nscan:    %s %s", verdicts, preds, sev, want)
			}
			// The default is exit 1: FAILS is critical.
			if _, _, code := runCLI(t, append([]string{"explain", "--root", image, "--go", "1.15.7", "--network", "tcp", "--deadline", "30s"}, flags...)...); code != ExitFindings {
				t.Errorf("explain exit %d, want %d (FAILS)", code, ExitFindings)
			}
		})
	}
}
