package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/report/sarifcheck"
)

// fakeAPIServer serves pods and nodes on loopback the way the API server
// lists them, recording the paths asked.
func fakeAPIServer(t *testing.T) (url string, paths func() []string) {
	t.Helper()
	tru := true
	pod := func(ns, name, node string) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"pod-template-hash": "abc"},
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: strings.Join(strings.Split(name, "-")[:2], "-"), Controller: &tru}}},
			Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "shop/" + name + ":1"}}},
			Status: corev1.PodStatus{PodIP: "10.244.0.9"},
		}
	}
	pods := []corev1.Pod{pod("shop", "web-abc-1", "n1"), pod("shop", "web-abc-2", "n2"), pod("ops", "tool-abc-1", "n1")}
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var out any
		switch {
		case r.URL.Path == "/api/v1/pods":
			out = corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: pods}
		case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/") && strings.HasSuffix(r.URL.Path, "/pods"):
			ns := strings.Split(r.URL.Path, "/")[4]
			l := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
			for _, p := range pods {
				if p.Namespace == ns {
					l.Items = append(l.Items, p)
				}
			}
			out = l
		case r.URL.Path == "/api/v1/nodes":
			out = corev1.NodeList{TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"}, Items: []corev1.Node{
				{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.21.14"}}},
			}}
		default:
			http.NotFound(w, r)
			return
		}
		if err := json.NewEncoder(w).Encode(out); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// TestClusterKubeconfig lists through client-go with a kubeconfig whose
// contexts point at a fake API server on loopback: the context's
// namespace, -n, -A and --context pick what is listed.
func TestClusterKubeconfig(t *testing.T) {
	t.Parallel()
	url, asked := fakeAPIServer(t)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {server: %q}
users:
- name: u
  user: {token: test}
contexts:
- name: shop
  context: {cluster: fake, user: u, namespace: shop}
- name: ops
  context: {cluster: fake, user: u, namespace: ops}
current-context: shop
`, url)
	if err := os.WriteFile(kc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"cluster", "--kubeconfig", kc, "--format", "json", "--no-cache", "--go", "1.21", "--nsswitch", "missing", "--name", "localhost"}
	for _, tc := range []struct {
		name      string
		args      []string
		workloads []string
		path      string
	}{
		{"current context's namespace", nil, []string{"shop/web/c"}, "/api/v1/namespaces/shop/pods"},
		{"--context", []string{"--context", "ops"}, []string{"ops/tool/c"}, "/api/v1/namespaces/ops/pods"},
		{"-n", []string{"-n", "ops"}, []string{"ops/tool/c"}, "/api/v1/namespaces/ops/pods"},
		{"-A", []string{"-A"}, []string{"shop/web/c", "ops/tool/c"}, "/api/v1/pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := podRun(t, "", append(append([]string(nil), base...), tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, stderr, out)
			}
			var rep report.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			var subjects []string
			for _, f := range rep.Findings {
				subjects = append(subjects, f.Subject)
			}
			if strings.Join(subjects, " ") != strings.Join(tc.workloads, " ") {
				t.Errorf("subjects %v, want %v", subjects, tc.workloads)
			}
			found := false
			for _, p := range asked() {
				found = found || p == tc.path
			}
			if !found {
				t.Errorf("%s not asked (asked %v)", tc.path, asked())
			}
		})
	}
}

// TestKubeSARIF: pod and cluster SARIF validate against the official
// SARIF 2.1.0 schema.
func TestKubeSARIF(t *testing.T) {
	t.Parallel()
	sch := sarifcheck.Schema(t)
	for _, args := range [][]string{
		{"pod", "--format", "sarif", "-f", kubeTD("incident", "kube-apiserver.yaml"), "--node-resolv-conf", kubeTD("nodes", "incident-3-silent.conf"), "--ip-addr", kubeTD("ip-addr-ipv6-off.json")},
		{"cluster", "--format", "sarif", "--pods-file", kubeTD("cluster", "pods.json"), "--node-facts-dir", kubeTD("cluster", "facts"), "--no-cache"},
	} {
		out, stderr, code := podRun(t, "", args...)
		if code != 1 {
			t.Fatalf("%s: exit %d: %s", args[0], code, stderr)
		}
		if err := sarifcheck.Validate(sch, []byte(out)); err != nil {
			t.Errorf("%s: %v", args[0], err)
		}
	}
}

// cluster --node-results - reads one node's `node --images` document from
// standard input, as it reads a file.
func TestClusterNodeResultsStdin(t *testing.T) {
	dir := t.TempDir()
	pods := filepath.Join(dir, "pods.json")
	os.WriteFile(pods, []byte(`{"apiVersion": "v1", "kind": "List", "items": []}`), 0o644)
	doc := fmt.Sprintf(`{"schema_version": %d, "tool": "nsscope", "version": "test", "node": "n1", "store": "containerd", "images": []}`, kube.NodeImagesSchemaVersion)
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"cluster", "--pods-file", pods, "--node-results", "-", "--format", "json"},
		Stdio{In: strings.NewReader(doc), Out: &out, Err: &errb}, nil)
	if code != 0 || !strings.Contains(out.String(), `"schema_version"`) {
		t.Errorf("exit %d, stderr %q, stdout %.200q", code, errb.String(), out.String())
	}
}
