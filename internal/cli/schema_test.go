package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/sniff"
)

const schemaBase = "https://nsscope.example/schema/"

// schemas compiles the JSON Schemas of testdata/schema (one per output,
// common.json shared) and report's own.
func schemas(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	c := jsonschema.NewCompiler()
	files, err := filepath.Glob(filepath.Join("testdata", "schema", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	add := func(name string, data []byte) {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(schemaBase+name, doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(filepath.Base(f), data)
	}
	add("report.json", report.JSONSchema())
	return c
}

// noNull fails on any null in a document: empty lists are [], absent
// values are left out.
func noNull(t *testing.T, name string, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case nil:
		t.Errorf("%s: null at %s", name, path)
	case map[string]any:
		for k, e := range x {
			noNull(t, name, e, path+"."+k)
		}
	case []any:
		for i, e := range x {
			noNull(t, name, e, path+"["+string(rune('0'+i%10))+"]")
		}
	}
}

// Every JSON output validates against its schema, carries schema_version,
// tool and version, and has no null (issue 10.4).
func TestJSONSchemas(t *testing.T) {
	c := schemas(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 192.0.2.53\n"), 0o644)
	pod := filepath.Join(dir, "pod.yaml")
	os.WriteFile(pod, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: alpine:3.16}\n"), 0o644)
	df := filepath.Join(dir, "Dockerfile")
	os.WriteFile(df, []byte("FROM golang:1.15 AS build\nRUN go build -o /app .\nFROM alpine:3.12\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n"), 0o644)
	exe, _ := os.Executable()

	cases := []struct {
		name, schema string
		args         []string
	}{
		{"explain one program", "explain.json", []string{"explain", "--root", root, "--go", "1.15", "--format", "json"}},
		{"explain side by side", "explain.json", []string{"explain", "--root", root, "--format", "json"}},
		{"explain C program", "explain.json", []string{"explain", "--root", root, "--libc", "musl-1.2.2", "--format", "json"}},
		{"inspect", "inspect.json", []string{"inspect", exe, "--format", "json"}},
		{"node", "node.json", []string{"node", "--root", root, "--node-name", "n1"}},
		{"scan", "report.json", []string{"scan", root, "--runtime", "none", "--format", "json"}},
		{"pod", "report.json", []string{"pod", "-f", pod, "--format", "json"}},
		{"apiserver", "report.json", []string{"apiserver", "--kube-version", "1.20.15", "--format", "json"}},
		{"cluster", "report.json", []string{"cluster", "--pods-file", pod, "--format", "json", "--no-cache"}},
		{"dockerfile", "report.json", []string{"dockerfile", df, "--format", "json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, tc.args...)
			if code != ExitOK && code != ExitFindings {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			validate(t, c, tc.schema, tc.name, out)
		})
	}
}

// The lab's document, when this machine can run the lab.
func TestLabJSONSchema(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the lab")
	}
	out, stderr, code := runCLI(t, "lab", "--format", "json", "--nameservers", "1", "--", "/bin/true")
	if code != ExitOK {
		t.Skipf("the lab cannot run here: exit %d: %s", code, stderr)
	}
	validate(t, schemas(t), "lab.json", "lab", out)
	out, stderr, code = runCLI(t, "lab", "--check", "--name", "localhost", "--format", "json", "--nameservers", "1", "--", "/bin/true")
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("lab --check: exit %d: %s", code, stderr)
	}
	validate(t, schemas(t), "lab.json", "lab --check", out)

	// Flags stop at the command: its own flags are its own, with or
	// without "--".
	for _, args := range [][]string{
		{"lab", "--format", "json", "--nameservers", "1", "/bin/echo", "hi", "--format", "x"},
		{"lab", "--format", "json", "--nameservers", "1", "--", "/bin/echo", "hi", "--format", "x"},
	} {
		out, stderr, code := runCLI(t, args...)
		if code != ExitOK || !strings.Contains(out, "hi --format x") {
			t.Errorf("%v: exit %d, stderr %q\n%s", args, code, stderr, out)
		}
	}
}

// trace's document: the writer on a lab run's result, and trace itself
// when this machine can run it. The trace relays to 127.0.0.1 and its
// program sends no query, so no traffic leaves loopback.
func TestTraceJSONSchema(t *testing.T) {
	c := schemas(t)
	var b bytes.Buffer
	res := &lab.Result{Argv: []string{"/bin/true"}, Ended: "exit"}
	if err := writeLabJSON(&b, res, nil, nil); err != nil {
		t.Fatal(err)
	}
	validate(t, c, "trace.json", "trace writer", b.String())
	if testing.Short() {
		t.Skip("runs the lab")
	}
	out, stderr, code := runCLI(t, "lab", "--format", "json", "--nameservers", "1", "--", "/bin/true")
	if code != ExitOK {
		t.Skipf("the lab cannot run here: exit %d: %s", code, stderr)
	}
	var labDoc struct{ Run *lab.Result }
	if err := json.Unmarshal([]byte(out), &labDoc); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	if err := writeLabJSON(&b, labDoc.Run, nil, nil); err != nil {
		t.Fatal(err)
	}
	validate(t, c, "trace.json", "trace writer on a lab run", b.String())
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(rc, []byte("nameserver 127.0.0.1\n"), 0o644) //nolint:errcheck
	out, stderr, code = runCLI(t, "trace", "--upstream", "127.0.0.1", "--resolv-conf", rc, "--format", "json", "--", "/bin/true")
	if code != ExitOK {
		t.Fatalf("trace: exit %d: %s", code, stderr)
	}
	validate(t, c, "trace.json", "trace", out)
}

// node --ip-addr with an empty list writes no interfaces, not this
// host's: [] is an answer, not "unknown".
func TestNodeEmptyIPAddr(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "root", "etc"), 0o755) //nolint:errcheck
	ip := filepath.Join(dir, "ip.json")
	os.WriteFile(ip, []byte("[]\n"), 0o644) //nolint:errcheck
	out, stderr, code := runCLI(t, "node", "--root", filepath.Join(dir, "root"), "--node-name", "n1", "--ip-addr", ip)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Interfaces []any `json:"interfaces"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Interfaces == nil || len(doc.Interfaces) != 0 {
		t.Errorf("interfaces %v (%v), want []:\n%s", doc.Interfaces, err, out)
	}
}

// The schemas refuse what the JSON style rules out: a null list, a libc
// as a bare string, a missing tool.
func TestJSONSchemasRefuse(t *testing.T) {
	c := schemas(t)
	sch, err := c.Compile(schemaBase + "explain.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	out, _, _ := runCLI(t, "explain", "--root", dir, "--go", "1.21", "--libc", "musl-1.2.2", "--cgo", "on", "--format", "json")
	for name, mutate := range map[string]func(m map[string]any){
		"null list":     func(m map[string]any) { m["exchanges"] = nil },
		"libc a string": func(m map[string]any) { m["program"].(map[string]any)["libc"] = "musl-1.2.2" },
		"no tool":       func(m map[string]any) { delete(m, "tool") },
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err := sch.Validate(inst); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func validate(t *testing.T, c *jsonschema.Compiler, schema, name, out string) {
	t.Helper()
	sch, err := c.Compile(schemaBase + schema)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s does not match %s: %v", name, schema, err)
	}
	env, err := c.Compile(schemaBase + "common.json#/$defs/envelope")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Validate(inst); err != nil {
		t.Errorf("%s: no envelope: %v", name, err)
	}
	var v any
	json.Unmarshal([]byte(out), &v)
	noNull(t, name, v, "$")
}

// sniff's JSON lines, written for an answered and an unanswered
// exchange and for summaries with and without answers, and a real
// capture on loopback (as root; nothing is sent), each line valid against
// sniff.json, with the envelope and no null.
func TestSniffJSONSchema(t *testing.T) {
	c := schemas(t)
	at := time.Date(2026, 12, 1, 11, 11, 5, 0, time.UTC)
	client, server := netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("127.0.0.53:53")
	answered := sniff.Exchange{Time: at, Process: &sniff.Process{PID: 42, Comm: "esbuild", Cmdline: []string{"esbuild", "--serve=localhost:8000"}},
		Client: client, Server: server, Transport: "udp", ID: 7, Name: "localhost.", Type: "A",
		Rcode: "NOERROR", Answers: []string{"A 127.0.0.1"}, Latency: 2 * time.Millisecond, Timeout: 5 * time.Second}
	silent := sniff.Exchange{Time: at, AttrError: "the socket closed before it was looked up", Client: client, Server: server,
		Transport: "udp", ID: 8, Name: "localhost.", Type: "AAAA", Unanswered: true, Retried: time.Second, Timeout: 5 * time.Second}
	for name, x := range map[string]sniff.Exchange{"answered": answered, "unanswered": silent} {
		var b bytes.Buffer
		if err := sniff.WriteExchangeJSON(&b, x, "v1.2.3"); err != nil {
			t.Fatal(err)
		}
		validate(t, c, "sniff.json", "sniff exchange "+name, b.String())
	}
	tally := func(key string, answered int) *sniff.Tally {
		t := &sniff.Tally{Key: key, Queries: 2, Answered: answered, Unanswered: 2 - answered}
		if answered > 0 {
			t.P50, t.P99 = time.Millisecond, 2*time.Millisecond
		}
		return t
	}
	for name, s := range map[string]*sniff.Summary{
		"empty":   {Start: at},
		"tallies": {Start: at, Duration: time.Minute, Names: []*sniff.Tally{tally("localhost", 0), tally("example.com", 2)}, Processes: []*sniff.Tally{tally("esbuild[42]", 1)}},
	} {
		var b bytes.Buffer
		if err := sniff.WriteSummaryJSON(&b, s, "v1.2.3"); err != nil {
			t.Fatal(err)
		}
		validate(t, c, "sniff.json", "sniff summary "+name, b.String())
	}
	if os.Geteuid() != 0 {
		t.Skip("a capture needs CAP_NET_RAW")
	}
	out, stderr, code := runCLI(t, "sniff", "-i", "lo", "--duration", "1s", "--format", "json")
	if code != ExitOK {
		t.Fatalf("sniff: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(lines[len(lines)-1], `"kind":"summary"`) {
		t.Errorf("the capture does not end with its summary:\n%s", out)
	}
	for i, l := range lines {
		validate(t, c, "sniff.json", fmt.Sprintf("captured line %d", i+1), l)
	}
}
