package kube

import (
	"strings"
	"testing"
)

func TestDecodeKinds(t *testing.T) {
	t.Parallel()
	in := `
# leading comment
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: web:1}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db-hl
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, image: postgres:16}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: mon}
spec:
  selector: {matchLabels: {app: a}}
  template: {spec: {containers: [{name: a, image: a:1}]}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  selector: {matchLabels: {app: a}}
  template: {spec: {containers: [{name: a, image: a:1}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template: {spec: {restartPolicy: Never, containers: [{name: j, image: j:1}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template: {spec: {restartPolicy: Never, containers: [{name: c, image: c:1}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
---
`
	d := Decode("all.yaml", []byte(in))
	if len(d.Errors) != 0 {
		t.Fatalf("errors: %v", d.Errors)
	}
	var got []string
	for _, w := range d.Workloads {
		got = append(got, w.Kind+":"+w.Ref())
	}
	want := "Deployment:shop/web StatefulSet:default/db-0 DaemonSet:mon/agent ReplicaSet:default/rs Job:default/once CronJob:default/tick"
	if strings.Join(got, " ") != want {
		t.Errorf("workloads %q, want %q", strings.Join(got, " "), want)
	}
	if len(d.Skipped) != 2 || !strings.Contains(d.Skipped[0], `Service "web"`) || !strings.Contains(d.Skipped[1], `ConfigMap "cfg"`) {
		t.Errorf("skipped %q", d.Skipped)
	}
	if d.Workloads[1].Pod.Spec.Subdomain != "db-hl" || d.Workloads[1].Pod.Spec.Hostname != "db-0" {
		t.Errorf("statefulset pod hostname/subdomain %q/%q", d.Workloads[1].Pod.Spec.Hostname, d.Workloads[1].Pod.Spec.Subdomain)
	}
	// Document 2 (the Deployment) starts after the second separator.
	if s := d.Workloads[0].Source; s.Doc != 2 || s.Line != 9 {
		t.Errorf("deployment source %+v, want doc 2 line 9", s)
	}
}

// TestDecodeKubectlList reads `kubectl get pods -A -o json` output whose
// third item is broken: the error names it and the others are kept.
func TestDecodeKubectlList(t *testing.T) {
	t.Parallel()
	in := `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {"podIP": "10.1.0.4"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b", "namespace": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken", "namespace": "x"}, "spec": {"containers": "not-a-list"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nocontainers", "namespace": "x"}, "spec": {}},
    {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d", "namespace": "x"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
  ]
}`
	d := Decode("pods.json", []byte(in))
	var names []string
	for _, w := range d.Workloads {
		names = append(names, w.Name)
	}
	if strings.Join(names, ",") != "a,b,d" {
		t.Errorf("workloads %v, want a,b,d", names)
	}
	wantErrs := []string{
		`pods.json items[2]: Pod "broken": cannot decode`,
		`pods.json items[3]: Pod "nocontainers": no containers`,
		`pods.json items[4]: Widget "w": unknown kind Widget in example.com/v1`,
		`pods.json items[5]: Pod: metadata.name is missing`,
	}
	if len(d.Errors) != len(wantErrs) {
		t.Fatalf("errors %v, want %d", d.Errors, len(wantErrs))
	}
	for i, w := range wantErrs {
		if !strings.HasPrefix(d.Errors[i].Error(), w) {
			t.Errorf("error %d = %q, want prefix %q", i, d.Errors[i], w)
		}
	}
	if d.Workloads[0].Pod.Status.PodIP != "10.1.0.4" {
		t.Errorf("status not kept")
	}
}

// TestDecodeTypedList reads a PodList whose items carry no kind (the API
// server's own list form), in YAML.
func TestDecodeTypedList(t *testing.T) {
	t.Parallel()
	in := `apiVersion: v1
kind: PodList
items:
- metadata: {name: p1, namespace: ns}
  spec: {containers: [{name: c, image: i}]}
- metadata: {name: p2, namespace: ns}
  spec: {containers: [{name: c, image: i}]}
`
	d := Decode("list.yaml", []byte(in))
	if len(d.Errors) != 0 || len(d.Workloads) != 2 {
		t.Fatalf("got %d workloads, errors %v", len(d.Workloads), d.Errors)
	}
}

func TestDecodeBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"malformed yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", "bad.yaml:1: malformed YAML"},
		{"no kind", "apiVersion: v1\nmetadata: {name: x}\n", `bad.yaml:1: "x": kind is missing`},
		{"no apiVersion", "kind: Pod\nmetadata: {name: x}\n", `bad.yaml:1: Pod "x": apiVersion is missing`},
		{"scalar", "just a string\n", "bad.yaml:1: not a Kubernetes object"},
		{"array", "- a\n- b\n", "bad.yaml:1: not a Kubernetes object"},
		{"unknown kind", "apiVersion: v9\nkind: Gadget\nmetadata: {name: g}\n", `bad.yaml:1: Gadget "g": unknown kind Gadget in v9`},
		{"bad json", `{"apiVersion": "v1", "kind": "Pod",`, "bad.yaml: malformed JSON"},
		{"container without name", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{image: i}]}\n", `Pod "p": spec.containers[0].name is missing`},
		{"deployment without template", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n", `Deployment "d": no containers`},
		{"field of the wrong kind", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: [{containerPort: x}]}]}\n", `Pod "p": cannot decode: a JSON string where an integer is expected, at spec.containers.ports.containerPort`},
		{"list header of the wrong kind", "apiVersion: [v1]\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n", "a JSON array where a string is expected, at apiVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decode("bad.yaml", []byte(tc.in))
			if len(d.Errors) != 1 {
				t.Fatalf("errors %v, want one", d.Errors)
			}
			if !strings.Contains(d.Errors[0].Error(), tc.want) || strings.Contains(d.Errors[0].Error(), "Go ") {
				t.Errorf("error %q, want it to contain %q and name no Go type", d.Errors[0], tc.want)
			}
		})
	}
}

// TestDecodeBrokenDocumentKeepsOthers: one malformed document in a stream
// does not hide the others.
func TestDecodeBrokenDocumentKeepsOthers(t *testing.T) {
	t.Parallel()
	in := "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n---\nkind: [\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}\n"
	d := Decode("s.yaml", []byte(in))
	if len(d.Workloads) != 2 || len(d.Errors) != 1 {
		t.Fatalf("workloads %d errors %v", len(d.Workloads), d.Errors)
	}
	if got := d.Errors[0].Error(); !strings.HasPrefix(got, "s.yaml:6 (document 2): malformed YAML") {
		t.Errorf("error %q", got)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n",
		`{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"},"spec":{"containers":[{"name":"c"}]}}]}`,
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {hostNetwork: true, dnsPolicy: None, dnsConfig: {options: [{name: ndots}]}, containers: [{name: c}]}}}\n",
		"---\n---\nkind: PodList\nitems: [1, \"x\", null, {}]\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: null}\n",
		"{\"kind\":\"List\",\"items\":null}{\"a\":",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: [x]}\n",
		"a: &a [*a, *a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := Decode("fuzz", data)
		node := testNode()
		a := NewAnalyzer(Options{})
		for _, w := range d.Workloads {
			if w.Pod == nil || w.Name == "" || len(w.Pod.Spec.Containers) == 0 {
				t.Fatalf("workload without pod, name or containers: %+v", w)
			}
			for _, c := range a.Workload(w, node) {
				if c.DNS != nil && len(c.DNS.Servers) > MaxNameservers {
					t.Fatalf("%d nameservers", len(c.DNS.Servers))
				}
			}
		}
		for _, e := range d.Errors {
			if e.Error() == "" {
				t.Fatal("empty error")
			}
		}
	})
}

// TestDecodeListStreams: a List's items come one at a time, in order,
// whatever the List's layout (JSON with kind after the items, kubectl's
// YAML with the sequence at column 0 or indented, a typed PodList whose
// items name no kind); line numbers point at each item.
func TestDecodeListStreams(t *testing.T) {
	t.Parallel()
	pod := func(n string) string {
		return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + n + `"},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	}
	untyped := func(n string) string {
		return `{"metadata":{"name":"` + n + `"},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	}
	yamlItems := func(indent string) string {
		return "apiVersion: v1\nitems:\n" +
			indent + "- apiVersion: v1\n" + indent + "  kind: Pod\n" + indent + "  metadata:\n" + indent + "    name: a\n" + indent + "  spec:\n" + indent + "    containers:\n" + indent + "    - name: c\n" + indent + "      image: i\n" +
			"  # a comment\n" +
			indent + "- apiVersion: v1\n" + indent + "  kind: Pod\n" + indent + "  metadata: {name: b}\n" + indent + "  spec: {containers: [{name: c, image: i}]}\n" +
			"kind: List\nmetadata:\n  resourceVersion: \"\"\n"
	}
	for _, tc := range []struct {
		name, in string
		lines    []int
	}{
		{"json kind after items", `{"apiVersion":"v1","items":[` + pod("a") + `,` + pod("b") + `],"kind":"List","metadata":{}}`, nil},
		{"json typed list", `{"apiVersion":"v1","items":[` + untyped("a") + `,` + untyped("b") + `],"kind":"PodList"}`, nil},
		{"yaml column 0", yamlItems(""), []int{3, 12}},
		{"yaml indented", yamlItems("  "), []int{3, 12}},
		{"yaml typed list", "apiVersion: v1\nitems:\n- metadata: {name: a}\n  spec: {containers: [{name: c, image: i}]}\n- metadata: {name: b}\n  spec: {containers: [{name: c, image: i}]}\nkind: PodList\n", []int{3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var lines []int
			d := DecodeEach("list", []byte(tc.in), func(w *Workload) {
				got = append(got, w.Name)
				lines = append(lines, w.Source.Line)
			})
			if len(d.Errors) > 0 || len(d.Workloads) > 0 {
				t.Fatalf("errors %v, collected %d workloads", d.Errors, len(d.Workloads))
			}
			if strings.Join(got, ",") != "a,b" {
				t.Errorf("yielded %v, want a,b", got)
			}
			if tc.lines != nil && (len(lines) != 2 || lines[0] != tc.lines[0] || lines[1] != tc.lines[1]) {
				t.Errorf("lines %v, want %v", lines, tc.lines)
			}
		})
	}
}
