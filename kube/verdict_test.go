package kube

import (
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

func alpinePod() *Workload {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "alpine:3.13"}}},
		Status:     corev1.PodStatus{PodIP: "10.244.1.5"},
	}
	return &Workload{Source: Source{File: "pods.json", Item: 0}, Kind: "Pod", Name: "web", Namespace: "shop", Pod: pod}
}

// TestUninspectedImage: an image nobody inspected and no --go/--libc is
// unknown: a warning that names the missing input and the condition under
// which it would be critical, never a made-up critical, and no C library
// borrowed from the host.
func TestUninspectedImage(t *testing.T) {
	t.Parallel()
	a := NewAnalyzer(Options{Predict: model.Predict, Image: ImageSpec{}.Images(nil, nil)})
	cs := a.Workload(alpinePod(), testNode())
	fs := Findings(cs)
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range fs {
		if f.Severity == report.Critical {
			t.Errorf("critical for an image that was not inspected: %s", f.Message)
		}
		if f.Name == "localhost" {
			if f.Severity != report.Warning || f.RuleID != report.RuleUnknown {
				t.Errorf("localhost: %s %s, want warning %s", f.Severity, f.RuleID, report.RuleUnknown)
			}
			for _, want := range []string{"alpine:3.13 not inspected", "if it runs a static Go ≤ 1.15 binary", "--image-scan"} {
				if !strings.Contains(f.Message, want) {
					t.Errorf("message %q lacks %q", f.Message, want)
				}
			}
		}
	}
	for _, c := range cs {
		for _, ch := range c.Checks {
			if ch.Program.Libc.Known() {
				t.Errorf("check on %s assumes a C library %s", ch.Program.Label, ch.Program.Libc)
			}
		}
	}
	// Inspected facts win over the hypothesis: Go 1.16 in the image is
	// then a real, known verdict (hosts first after a missing file).
	key, _ := ImageKey(alpinePod().Pod, "app")
	facts := map[string]*ImageFacts{key: {Key: key, Ref: "alpine:3.13", NSSwitch: model.File{Path: model.PathNSSwitch, Missing: true},
		Programs: []model.Program{{Label: "Go 1.16", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 16, 15)}}}}}
	a = NewAnalyzer(Options{Predict: model.Predict, Image: ImageSpec{}.Images(facts, nil)})
	for _, f := range Findings(a.Workload(alpinePod(), testNode())) {
		if f.Name == "localhost" && (f.RuleID != report.RuleHostsFirst || f.Severity != report.Info) {
			t.Errorf("inspected Go 1.16: %s %s %s", f.Severity, f.RuleID, f.Message)
		}
	}
}

// TestGradeDNSPhase: a lookup only DNS can answer is safe while its DNS
// phase stays under half the deadline, a warning from half on.
func TestGradeDNSPhase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		inHosts  bool
		worst    model.Prediction
		deadline time.Duration
		sev      report.Severity
		rule     string
	}{
		{"dns only, quick", false, model.Prediction{Queries: 2, DNS: model.Seconds(10 * time.Second), Total: model.Seconds(10 * time.Second)}, 30 * time.Second, report.Info, report.RuleDNSOnly},
		{"dns only, half the deadline", false, model.Prediction{Queries: 3, DNS: model.Seconds(15 * time.Second), Total: model.Seconds(15 * time.Second)}, 30 * time.Second, report.Warning, report.RuleDNSOnly},
		{"dns only, deadline reached", false, model.Prediction{Queries: 6, DNS: model.Seconds(30 * time.Second), Total: model.Seconds(30 * time.Second), DeadlineExceeded: true, Error: "i/o timeout"}, 30 * time.Second, report.Warning, report.RuleDNSOnly},
		{"hosts first", true, model.Prediction{}, 30 * time.Second, report.Info, report.RuleHostsFirst},
		{"dns first, slow", true, model.Prediction{Queries: 2, DNS: model.Seconds(10 * time.Second)}, 30 * time.Second, report.Warning, report.RuleDNSFirst},
		{"dns first, fails", true, model.Prediction{Queries: 8, DNS: model.Seconds(30 * time.Second), Error: "i/o timeout"}, 30 * time.Second, report.Critical, report.RuleDNSFirstFails},
	} {
		sev, rule := grade(tc.inHosts, &tc.worst, tc.deadline)
		if sev != tc.sev || rule != tc.rule {
			t.Errorf("%s: %s %s, want %s %s", tc.name, sev, rule, tc.sev, tc.rule)
		}
	}
}

// TestChecksTableScenarios: each count in the lookup table sits under the
// heading of its own scenario (NXDOMAIN or SILENT).
func TestChecksTableScenarios(t *testing.T) {
	t.Parallel()
	go115 := ImageSpec{Programs: []model.Program{{Label: "Go 1.15 static", Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 15)}}}}
	a := NewAnalyzer(Options{Predict: model.Predict, Image: go115.Images(nil, nil), Names: []string{"localhost"}})
	c := a.Workload(alpinePod(), testNode())[0]
	ch := c.Checks[0]
	if ch.Cost.Queries == ch.Worst.Queries {
		t.Fatalf("the scenarios agree (%d queries): the test cannot tell the columns apart", ch.Cost.Queries)
	}
	var b strings.Builder
	if err := WriteChecks(&b, c, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	var header, row []string
	for i, l := range lines {
		if strings.Contains(l, "NAME") && strings.Contains(l, "VERDICT") {
			header = strings.Split(strings.TrimSpace(l), "  ")
			row = strings.Fields(lines[i+1])
		}
	}
	head := strings.Join(header, "|")
	for _, want := range []string{"NXDOMAIN: QUERIES", "SILENT: QUERIES", "SILENT: OUTCOME"} {
		if !strings.Contains(head, want) {
			t.Errorf("header %q lacks %q", head, want)
		}
	}
	// NAME, PROGRAM (3 words), ORDER, then the two counts.
	if len(row) < 7 || row[5] != strconv.Itoa(ch.Cost.Queries) || row[6] != strconv.Itoa(ch.Worst.Queries) {
		t.Errorf("row %q, want NXDOMAIN %d then SILENT %d queries", row, ch.Cost.Queries, ch.Worst.Queries)
	}
}

// TestStartupHalfDeadline: a kube-apiserver start-up that survives but
// spends half the dial timeout or more in DNS is a warning, not safe.
func TestStartupHalfDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dial time.Duration
		want report.Severity
	}{
		{10 * time.Second, report.Info},
		{LoopbackDialTimeout / 2, report.Warning},
		{25 * time.Second, report.Warning},
	} {
		c := &Container{Subject: "kube-system/kube-apiserver/kube-apiserver",
			Startup: &Startup{Loopback: Loopback{Host: "localhost", Lookup: true}, DialTime: tc.dial, Summary: "safe: localhost resolves"}}
		for _, f := range Findings([]*Container{c}) {
			if f.RuleID == report.RuleAPIServerLoopback && f.Severity != tc.want {
				t.Errorf("dial %s: %s, want %s (%s)", tc.dial, f.Severity, tc.want, f.Message)
			}
		}
	}
}
