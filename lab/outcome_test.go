package lab

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// esbuildUntilRun is a run of esbuild (Go 1.15) serving on a name the
// servers answer with SERVFAIL, stopped by the line it printed: the
// case of issue 15.0, where every correctly predicted failure was
// reported as "observed success".
func esbuildUntilRun(pattern string) (*Result, *model.Prediction) {
	const errText = "listen tcp: lookup db on 127.0.0.53:53: server misbehaving"
	ns := netip.MustParseAddr("127.0.0.53")
	res := &Result{
		Ended:   "until",
		Matched: &Matched{Pattern: pattern, Stream: "stderr", Text: " > error: " + errText},
		Output:  []Line{{Offset: model.Seconds(12 * time.Millisecond), Stream: "stderr", Text: " > error: " + errText}},
		Queries: []Query{
			{Offset: model.Seconds(10 * time.Millisecond), Server: ns, Name: "db.", Type: "A", Transport: "udp", Action: "servfail"},
			{Offset: model.Seconds(10 * time.Millisecond), Server: ns, Name: "db.", Type: "AAAA", Transport: "udp", Action: "servfail"},
		},
		Total: model.Seconds(12 * time.Millisecond),
	}
	p := &model.Prediction{
		Exchanges: []model.Exchange{
			{Start: 0, Server: "127.0.0.53:53", Name: "db.", Type: "A", Transport: "udp", Outcome: "servfail"},
			{Start: 0, Server: "127.0.0.53:53", Name: "db.", Type: "AAAA", Transport: "udp", Outcome: "servfail"},
		},
		Total: model.Seconds(2 * time.Millisecond),
		Error: errText,
	}
	return res, p
}

// TestUntilFalseMismatch reproduces the false mismatch first (a run
// ended by --until taken as a success), then reads the same run the way
// the program reports it.
func TestUntilFalseMismatch(t *testing.T) {
	res, p := esbuildUntilRun(PatternUntil)
	// The old reading: ended by --until means succeeded, no error text.
	yes := true
	old := Compare(p, Observation{Exchanges: res.Exchanges(), Total: res.Total.Duration(), AnchorFirst: true, Succeeded: &yes})
	if old.OK() || !strings.Contains(strings.Join(old.Differences, "\n"), "predicted failure") {
		t.Fatalf("the old reading should show the false mismatch, got %q", old.Differences)
	}

	// A neutral --until says nothing of the outcome: not compared.
	obs, err := Observe(res, Reading{})
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(p, obs); !c.OK() {
		t.Errorf("plain --until: %q, want a match (outcome unknown)", c.Differences)
	}

	// --until-fail with the error text read from the line: compared, and
	// it matches.
	res, p = esbuildUntilRun(PatternUntilFail)
	rd := Reading{Error: `error: (.*)`}
	obs, err = Observe(res, rd)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Succeeded == nil || *obs.Succeeded || obs.Error == nil {
		t.Fatalf("--until-fail: succeeded %v error %v, want failure with its text", obs.Succeeded, obs.Error)
	}
	if c := Compare(p, obs); !c.OK() {
		t.Errorf("--until-fail: %q, want a match", c.Differences)
	}
	// The same run against a prediction of another error: flagged.
	p.Error = "listen tcp: lookup db: no such host"
	if c := Compare(p, obs); c.OK() || !strings.Contains(strings.Join(c.Differences, "\n"), "error text") {
		t.Errorf("a different error text is not flagged: %q", c.Differences)
	}
	// --until-ok on a predicted failure: flagged, saying where it was read.
	res, p = esbuildUntilRun(PatternUntilOK)
	obs, _ = Observe(res, Reading{})
	c := Compare(p, obs)
	if c.OK() || !strings.Contains(strings.Join(c.Differences, "\n"), "--until-ok") {
		t.Errorf("--until-ok on a failure: %q, want a result difference naming --until-ok", c.Differences)
	}
}

func TestOutcomeRules(t *testing.T) {
	line := func(s string) Line { return Line{Stream: "stderr", Text: s} }
	tests := []struct {
		name   string
		res    Result
		rd     Reading
		want   string // "ok", "fail", "unknown"
		errTxt string
		addrs  string
	}{
		{"exit 0", Result{Ended: "exit"}, Reading{}, "ok", "", ""},
		{"exit 1", Result{Ended: "exit", ExitCode: 1}, Reading{}, "fail", "", ""},
		{"wget: connect refused after a lookup", Result{Ended: "exit", ExitCode: 1,
			Output: []Line{line("Connecting to db:1 (127.0.0.9:1)"), line("wget: can't connect to remote host (127.0.0.9): Connection refused")}},
			Reading{Fail: "bad address", Addrs: `Connecting to \S+ \(([0-9a-f.:\[\]]+):\d+\)`}, "ok", "", "127.0.0.9"},
		{"wget: bad address", Result{Ended: "exit", ExitCode: 1, Output: []Line{line("wget: bad address 'db:1'")}},
			Reading{Fail: "bad address", Error: `wget: (.*)`}, "fail", "bad address 'db:1'", ""},
		{"ok-if unmatched", Result{Ended: "exit"}, Reading{OK: "^ready"}, "fail", "", ""},
		{"ok-if matched", Result{Ended: "exit", ExitCode: 3, Output: []Line{line("ready on :80")}}, Reading{OK: "^ready"}, "ok", "", ""},
		{"both unmatched: exit status", Result{Ended: "exit", ExitCode: 2}, Reading{OK: "x", Fail: "y"}, "fail", "", ""},
		{"timeout", Result{Ended: "timeout"}, Reading{}, "unknown", "", ""},
		{"plain until", Result{Ended: "until", Matched: &Matched{Pattern: PatternUntil}}, Reading{}, "unknown", "", ""},
		{"addresses, v6 too", Result{Ended: "exit", Output: []Line{line("127.0.0.9 db"), line("::9 db"), line("127.0.0.9 db")}},
			Reading{Addrs: `^(\S+) db$`}, "ok", "", "127.0.0.9 ::9"},
	}
	for _, tc := range tests {
		obs, err := Observe(&tc.res, tc.rd)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := "unknown"
		if obs.Succeeded != nil {
			got = map[bool]string{true: "ok", false: "fail"}[*obs.Succeeded]
		}
		if got != tc.want {
			t.Errorf("%s: outcome %s (%s), want %s", tc.name, got, obs.OutcomeFrom, tc.want)
		}
		if tc.errTxt != "" && (obs.Error == nil || *obs.Error != tc.errTxt) {
			t.Errorf("%s: error %v, want %q", tc.name, obs.Error, tc.errTxt)
		}
		if g := strings.Join(obs.Addrs, " "); g != tc.addrs {
			t.Errorf("%s: addrs %q, want %q", tc.name, g, tc.addrs)
		}
	}
	p := &model.Prediction{Addrs: []string{"127.0.0.9", "::9"}}
	if c := Compare(p, Observation{Addrs: []string{"::9", "127.0.0.9"}}); !c.OK() {
		t.Errorf("the same addresses in another order: %q", c.Differences)
	}
	if c := Compare(p, Observation{Addrs: []string{"127.0.0.8"}}); c.OK() {
		t.Error("another address is not flagged")
	}
	if _, err := Observe(&Result{}, Reading{Error: "("}); err == nil || !IsInputError(err) {
		t.Errorf("bad --error-from: %v, want an input error", err)
	}
}

// TestBusyboxWgetCheck runs the real busybox wget of Alpine 3.19 (musl
// 1.2.4) against a server that answers, on port 1 where nothing listens:
// the lookup succeeds, the connection is refused, wget exits 1. Read the
// way wget reports it, the run matches the model's prediction of a
// successful lookup, the address it printed included; by exit status
// alone it would not.
func TestBusyboxWgetCheck(t *testing.T) {
	requireRoot(t)
	alpine := sharedData(t, "rootfs/alpine-minirootfs-3.19.4-x86_64.tar.gz")
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	sc, err := model.ParseScenario("answer=127.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{
		Root: alpine, Nameservers: addrs, Scenario: sc,
		ResolvConf: &model.File{Data: ResolvConf(addrs, "", "timeout:1 attempts:1")},
		Hosts:      &model.File{Data: []byte("127.0.0.1 localhost\n")},
		Argv:       []string{"/usr/bin/wget", "-O", "/dev/null", "http://db.example:1/"},
		Env:        []string{"PATH=" + DefaultPath},
		Timeout:    time.Minute,
	}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode == 0 {
		t.Fatalf("wget exited 0; the test needs its failed connection: %+v", res.Output)
	}
	v, _ := model.ParseVersion("1.2.4")
	prog := model.Program{Label: "busybox wget", Impl: model.ImplMusl, Libc: model.Libc{Kind: "musl", Version: v}}
	p, err := model.Predict(res.ModelEnv(), prog, model.Request{Name: "db.example", Op: model.OpLookupIP}, sc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Error != "" {
		t.Fatalf("the model predicts a failed lookup (%s); the test needs a success", p.Error)
	}
	byStatus, _ := Observe(res, Reading{})
	if c := Compare(p, byStatus); c.OK() {
		t.Errorf("by exit status alone the run should differ (wget exits %d after a good lookup)", res.ExitCode)
	}
	obs, err := Observe(res, Reading{Fail: "bad address", Addrs: `Connecting to \S+ \(([0-9a-f.:\[\]]+):\d+\)`})
	if err != nil {
		t.Fatal(err)
	}
	if c := Compare(p, obs); !c.OK() {
		t.Errorf("read as wget reports it: %q, want a match (output %+v)", c.Differences, res.Output)
	}
	if strings.Join(obs.Addrs, " ") != "127.0.0.9" {
		t.Errorf("addresses printed: %q, want 127.0.0.9 (output %+v)", obs.Addrs, res.Output)
	}
}

// TestUntilFailEndsRun: a line matching UntilFail ends a real run and is
// kept as the line that did, with the pattern that matched.
func TestUntilFailEndsRun(t *testing.T) {
	requireRoot(t)
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.53")}
	spec := Spec{
		Nameservers: addrs, Scenario: model.Scenario{Servers: []model.Behavior{{Kind: model.NXDomain}}},
		ResolvConf: &model.File{Data: ResolvConf(addrs, "", "")},
		Argv:       []string{"/bin/sh", "-c", `echo starting; echo "error: lookup db: no such host" >&2; exec sleep 60`},
		Env:        []string{"PATH=" + DefaultPath},
		Until:      "never printed", UntilOK: "^ready", UntilFail: "^error: ",
		Timeout: 2 * time.Minute,
	}
	res, err := Runner{}.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended != "until" || res.Matched == nil || res.Matched.Pattern != PatternUntilFail || res.Matched.Stream != "stderr" {
		t.Fatalf("ended %q matched %+v, want until by until-fail on stderr", res.Ended, res.Matched)
	}
	obs, _ := Observe(res, Reading{Error: `^error: (.*)`})
	if obs.Succeeded == nil || *obs.Succeeded || obs.Error == nil || *obs.Error != "lookup db: no such host" {
		t.Errorf("observed %v %v, want a failure with its text", obs.Succeeded, obs.Error)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1Gi": 1 << 30, "512Mi": 512 << 20, "4G": 4e9, "100k": 1e5, "4096": 4096} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1G", "1T", "Gi", "1.5G", "99999999999Gi"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}
