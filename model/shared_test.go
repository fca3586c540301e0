package model

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// asks is a client that makes its requests at fixed times, whatever the
// replies (a request due before the previous reply waits for it).
type asks struct {
	list []Ask
	i    int
}

func (a *asks) Next(*Reply) (Ask, bool) {
	if a.i >= len(a.list) {
		return Ask{}, false
	}
	a.i++
	return a.list[a.i-1], true
}

func sec(f float64) time.Duration { return FromSeconds(f) }

// silentRun is a Go lookup of one name against n silent servers with
// the default timeout (5 s) and attempts (2), A and AAAA at once, that ends
// after the last round with ok (a hosts fallback) or an error.
func silentRun(rounds int, ok bool) LookupRun {
	r := LookupRun{Total: time.Duration(rounds) * 5 * time.Second, OK: ok}
	for i := range rounds {
		t := time.Duration(i) * 5 * time.Second
		r.Sends = append(r.Sends, t, t)
	}
	if !ok {
		r.Err = "lookup localhost: i/o timeout"
	}
	return r
}

// replyLine renders a reply compactly for the table.
func replyLine(r Reply) string {
	s := fmt.Sprintf("%.2f:", r.Done.Seconds())
	switch {
	case r.OK:
		s += "ok"
	case r.TimedOut:
		s += "timeout"
	default:
		s += "err"
	}
	if r.Lookup >= 0 {
		s += fmt.Sprintf("@%d", r.Lookup+1)
	} else {
		s += "@conn"
	}
	return s
}

func TestShare(t *testing.T) {
	wait30 := 30 * time.Second
	tests := []struct {
		name    string
		era     ShareEra
		run     LookupRun
		clients [][]Ask
		opt     ShareOptions
		// want: per client, its replies; then lookups and queries.
		want    []string
		lookups int
		queries int
	}{
		{
			name: "detached: a lookup as long as the deadline fails its creator only",
			era:  ShareDetached, run: silentRun(6, true),
			clients: [][]Ask{{{At: 0, Wait: wait30}}, {{At: sec(0.01), Wait: wait30}}},
			want:    []string{"30.00:timeout@1", "30.00:ok@1"}, lookups: 1, queries: 12,
		},
		{
			name: "detached: a lonely caller's deadline cancels the lookup",
			era:  ShareDetached, run: silentRun(24, true),
			clients: [][]Ask{{{At: 0, Wait: wait30}, {At: sec(40), Wait: wait30}}},
			want:    []string{"30.00:timeout@1 70.00:timeout@2"}, lookups: 2, queries: 24,
		},
		{
			name: "detached: once shared the lookup outlives every deadline and serves late joiners",
			era:  ShareDetached, run: silentRun(10, true),
			clients: [][]Ask{{{At: 0, Wait: wait30}}, {{At: sec(10), Wait: wait30}}, {{At: sec(45), Wait: wait30}}},
			want:    []string{"30.00:timeout@1", "40.00:timeout@1", "50.00:ok@1"}, lookups: 1, queries: 20,
		},
		{
			name: "first-caller: the creator's deadline ends the lookup for everyone",
			era:  ShareFirstCaller, run: silentRun(10, true),
			clients: [][]Ask{{{At: 0, Wait: wait30}}, {{At: sec(10), Wait: time.Minute}}},
			want:    []string{"30.00:timeout@1", "30.00:timeout@1"}, lookups: 1, queries: 12,
		},
		{
			name: "first-caller: a joiner's deadline makes the next caller start a second lookup",
			era:  ShareFirstCaller, run: silentRun(4, true),
			clients: [][]Ask{{{At: 0, Wait: time.Minute}}, {{At: sec(1), Wait: sec(5)}}, {{At: sec(8), Wait: time.Minute}}},
			want:    []string{"20.00:ok@1", "6.00:timeout@1", "28.00:ok@2"}, lookups: 2, queries: 16,
		},
		{
			name: "uncancelled: a timed-out caller forgets the name; the old lookup runs on",
			era:  ShareUncancelled, run: silentRun(10, true),
			clients: [][]Ask{{{At: 0, Wait: wait30}}, {{At: sec(10), Wait: time.Minute}}, {{At: sec(35), Wait: time.Minute}}},
			want:    []string{"30.00:timeout@1", "50.00:ok@1", "85.00:ok@2"}, lookups: 2, queries: 40,
		},
		{
			name: "reuse: after the first answer requests use the connection",
			era:  ShareDetached, run: silentRun(2, true), opt: ShareOptions{Reuse: true},
			clients: [][]Ask{{{At: 0, Wait: wait30}, {At: sec(20), Wait: wait30}}},
			want:    []string{"10.00:ok@1 20.00:ok@conn"}, lookups: 1, queries: 4,
		},
		{
			name: "failed lookups are not reused: the retry starts a new one",
			era:  ShareDetached, run: silentRun(2, false), opt: ShareOptions{Reuse: true},
			clients: [][]Ask{{{At: 0, Wait: wait30}, {At: sec(12), Wait: wait30}}},
			want:    []string{"10.00:err@1 22.00:err@2"}, lookups: 2, queries: 8,
		},
		{
			name: "until: the process's end stops the lookups and their queries",
			era:  ShareDetached, run: silentRun(24, true), opt: ShareOptions{Until: sec(60)},
			clients: [][]Ask{{{At: 0, Wait: wait30}}, {{At: sec(1), Wait: wait30}}},
			want:    []string{"30.00:timeout@1", "31.00:timeout@1"}, lookups: 1, queries: 24,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs []Client
			for _, c := range tt.clients {
				cs = append(cs, &asks{list: c})
			}
			got := Share(tt.era, tt.run, cs, tt.opt)
			for i, rs := range got.Replies {
				var parts []string
				for _, r := range rs {
					parts = append(parts, replyLine(r))
				}
				if line := strings.Join(parts, " "); line != tt.want[i] {
					t.Errorf("client %d: got %q, want %q", i+1, line, tt.want[i])
				}
			}
			if len(got.Lookups) != tt.lookups || got.Queries != tt.queries {
				t.Errorf("got %d lookups, %d queries; want %d, %d (%+v)", len(got.Lookups), got.Queries, tt.lookups, tt.queries, got.Lookups)
			}
		})
	}
}

func TestShareAcceptFrom(t *testing.T) {
	// The lookup answers at 10 s, before the server listens (12 s): the
	// connect is refused and the retry at 15 s resolves again.
	cs := []Client{&asks{list: []Ask{{At: 0, Wait: 30 * time.Second}, {At: sec(15), Wait: 30 * time.Second}, {At: sec(40), Wait: 30 * time.Second}}}}
	got := Share(ShareDetached, silentRun(2, true), cs, ShareOptions{Reuse: true, AcceptFrom: sec(12)})
	var line []string
	for _, r := range got.Replies[0] {
		line = append(line, replyLine(r))
	}
	if s := strings.Join(line, " "); s != "10.00:err@1 25.00:ok@2 40.00:ok@conn" || got.Queries != 8 {
		t.Errorf("%s, %d queries", s, got.Queries)
	}
}

func TestQueriesBefore(t *testing.T) {
	sh := Share(ShareDetached, silentRun(24, true), []Client{&asks{list: []Ask{{At: 0, Wait: 30 * time.Second}}}, &asks{list: []Ask{{At: sec(0.5), Wait: 30 * time.Second}}}}, ShareOptions{})
	// Rounds at 0, 5, ..., 55 are sent before 60; the one due at 60 is not.
	if n := sh.QueriesBefore(sec(60)); n != 24 {
		t.Errorf("QueriesBefore(60 s) = %d, want 24", n)
	}
	if n := sh.QueriesBefore(sec(60.01)); n != 26 {
		t.Errorf("QueriesBefore(60.01 s) = %d, want 26", n)
	}
}

func TestShareEraFor(t *testing.T) {
	for _, tt := range []struct {
		v    Version
		want ShareEra
	}{
		{V(1, 7, 6), ShareUncancelled}, {V(1, 8, 0), ShareFirstCaller}, {V(1, 10, 0), ShareFirstCaller},
		{V(1, 10, 1), ShareDetached}, {V(1, 15, -1), ShareDetached}, {V(1, 26, 8), ShareDetached},
	} {
		if got, st := ShareEraFor(tt.v); got != tt.want || st.Reason == "" {
			t.Errorf("ShareEraFor(%s) = %s (%q), want %s", tt.v, got, st.Reason, tt.want)
		}
	}
}
