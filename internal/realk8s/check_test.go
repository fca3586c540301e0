package realk8s

import (
	"errors"
	"runtime/debug"
	"testing"

	"github.com/nsscope/nsscope/lab"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		kube string
		err  error
	}{
		{"module proxy build", debug.BuildInfo{GoVersion: "go1.26.8", Path: apiserverPackage,
			Main: debug.Module{Path: "nsscope.test/kube-apiserver", Version: "(devel)"},
			Deps: []*debug.Module{{Path: "k8s.io/kubernetes", Version: "v1.37.2"}}}, "1.37.2", nil},
		{"kubernetes' own build", debug.BuildInfo{GoVersion: "go1.24.4", Path: apiserverPackage,
			Main:     debug.Module{Path: "k8s.io/kubernetes", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "-ldflags", Value: "-s -w -X 'k8s.io/component-base/version.gitVersion=v1.33.1' -X 'k8s.io/component-base/version.gitMajor=1'"}}}, "1.33.1", nil},
		{"another program", debug.BuildInfo{GoVersion: "go1.26.8", Path: "example.com/tool"}, "", ErrNotAPIServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := identify(&tc.bi)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || id.Kube.String() != tc.kube || id.Go.IsZero() {
				t.Errorf("identify = %+v, %v; want %s", id, err, tc.kube)
			}
		})
	}
	if _, err := identify(&debug.BuildInfo{GoVersion: "go1.26.8", Path: apiserverPackage, Main: debug.Module{Version: "(devel)"}}); err == nil {
		t.Error("no release anywhere must be an error")
	}
}

func TestReadyProbe(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		url  string
	}{
		{[]string{"kube-apiserver"}, "https://127.0.0.1:6443/readyz"},
		{[]string{"kube-apiserver", "--secure-port", "8443", "--bind-address=0.0.0.0"}, "https://127.0.0.1:8443/readyz"},
		{[]string{"kube-apiserver", "--bind-address=::1"}, "https://[::1]:6443/readyz"},
	} {
		p, _, err := ReadyProbe(tc.argv, 0)
		if err != nil || p.URL != tc.url || p.Body != "ok" || lab.CheckProbe(p) != nil {
			t.Errorf("ReadyProbe(%q) = %+v, %v; want %s", tc.argv, p, err, tc.url)
		}
	}
	if _, _, err := ReadyProbe([]string{"kube-apiserver", "--secure-port=x"}, 0); err == nil {
		t.Error("a bad --secure-port must be an error")
	}
}

// TestObserve reads a lab run of the apiserver itself: ready from the
// probe; an exit at its fatal line with the queries before it.
func TestObserve(t *testing.T) {
	res := &lab.Result{Ended: lab.EndedReady, IPv6: lab.IPv6Off, Ready: &lab.Readiness{Offset: 32 * 1e9},
		Output: []lab.Line{{Offset: 3e9, Text: `I1201 10:47:23.869967      22 secure_serving.go:211] Serving securely on [::]:6443`}}}
	r := Observe(res)
	if r.Outcome != "ready" || r.Time != 32e9 || r.Serving != 3e9 || r.Config.IPv6 {
		t.Errorf("%+v", r)
	}
	res = &lab.Result{Ended: "exit", Total: 64e9, Output: []lab.Line{
		{Offset: 63e9, Text: `F1201 11:04:24.761928      26 hooks.go:203] PostStartHook "start-service-ip-repair-controllers" failed: x`}},
		Queries: []lab.Query{{Offset: 1e9}, {Offset: 63500e6}}}
	r = Observe(res)
	if r.Outcome != "exits" || r.Time != 63e9 || len(r.Queries) != 1 || r.AfterExit != 1 {
		t.Errorf("%+v", r)
	}
}

func FuzzIdentifyLdflags(f *testing.F) {
	f.Add("-X 'k8s.io/component-base/version.gitVersion=v1.33.1'")
	f.Add("-X k8s.io/component-base/version.gitVersion=")
	f.Fuzz(func(t *testing.T, ldflags string) {
		identify(&debug.BuildInfo{GoVersion: "go1.26.8", Path: apiserverPackage, Main: debug.Module{Version: "(devel)"}, //nolint:errcheck // must not panic
			Settings: []debug.BuildSetting{{Key: "-ldflags", Value: ldflags}}})
	})
}
