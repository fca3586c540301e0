package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/internal/realk8s"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
)

func TestAPIServerCheckText(t *testing.T) {
	ck := &realk8s.Check{Kube: "1.37.2", KubeFrom: "module k8s.io/kubernetes v1.37.2", GoVersion: "1.26.8", Loopback: "localhost",
		Predicted:        kube.StartupResult{Outcome: kube.OutcomeReady, Time: model.Seconds(32100 * time.Millisecond), DNSQueries: 12},
		Observed:         kube.StartupResult{Outcome: kube.OutcomeReady, Time: model.Seconds(32600 * time.Millisecond), DNSQueries: 12},
		ToleranceSeconds: 6, Differences: []string{}}
	var b strings.Builder
	(&apiserverCheck{out: ck}).write(&b)
	for _, want := range []string{"kube-apiserver 1.37.2 (module k8s.io/kubernetes v1.37.2), Go 1.26.8; loopback host localhost",
		"predicted: ready 32.1 s after start, 12 DNS queries", "observed:  ready 32.6 s after start, 12 DNS queries", "as predicted"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	ck.Differences, ck.Reasons = []string{"DNS queries: predicted 12, real 14"}, []string{"because"}
	b.Reset()
	(&apiserverCheck{out: ck}).write(&b)
	if !strings.Contains(b.String(), "DIFFERS:\n    - DNS queries: predicted 12, real 14") || !strings.Contains(b.String(), "because") {
		t.Errorf("a difference is not shown:\n%s", b.String())
	}
}
