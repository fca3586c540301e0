package model

import (
	"slices"
	"strings"
	"testing"
)

// TestGoNameList holds every rule of goNameList (go-resolver.md §b.9) to
// candidate lists worked out by hand.
func TestGoNameList(t *testing.T) {
	// name(n) is a name of n bytes: "a.aaa…" (one dot).
	name := func(n int) string { return "a." + strings.Repeat("a", n-2) }
	go121, go122 := V(1, 21, 9), V(1, 22, 0)
	tests := []struct {
		what   string
		name   string
		ndots  int
		search []string
		v      Version
		want   []string
	}{
		{"rooted: itself only, no search", "example.com.", 5, []string{"svc."}, go122, []string{"example.com."}},
		{"rooted root", ".", 1, []string{"svc."}, go122, []string{"."}},
		{"unrooted of 254 bytes: too long", name(254), 1, nil, go122, nil},
		{"rooted of 254 bytes: at the limit", name(253) + ".", 1, []string{"svc."}, go122, []string{name(253) + "."}},
		{"rooted of 255 bytes: too long", name(254) + ".", 1, nil, go122, nil},
		{"unrooted of 253 bytes: fits, search would not", name(253), 1, []string{"s."}, go122, []string{name(253) + "."}},
		{"dots below ndots: bare name last", "a.b", 2, []string{"x.", "y."}, go122, []string{"a.b.x.", "a.b.y.", "a.b."}},
		{"dots at ndots: bare name first", "a.b", 1, []string{"x.", "y."}, go122, []string{"a.b.", "a.b.x.", "a.b.y."}},
		{"dots above ndots: bare name first", "a.b.c", 1, []string{"x."}, go122, []string{"a.b.c.", "a.b.c.x."}},
		{"ndots 0, no dot: bare name first", "a", 0, []string{"x."}, go122, []string{"a.", "a.x."}},
		{"empty search list, below ndots", "a", 1, nil, go122, []string{"a."}},
		{"empty search list, at ndots", "a.b", 1, []string{}, go122, []string{"a.b."}},
		{"search candidate of 254 bytes kept", name(250), 5, []string{"xy."}, go122, []string{name(250) + ".xy.", name(250) + "."}},
		{"search candidate of 255 bytes left out, the next kept", name(250), 5, []string{"xyz.", "y."}, go122, []string{name(250) + ".y.", name(250) + "."}},
		{"search entry with no final dot: appended as it is", "a", 1, []string{"x"}, go122, []string{"a.x", "a."}},
		{"search entry with two final dots: appended as it is", "a", 1, []string{"x.."}, go122, []string{"a.x..", "a."}},
		{"rooted .onion: nothing (1.22)", "x.onion.", 1, nil, go122, nil},
		{"rooted .onion: nothing (1.21)", "x.onion.", 1, nil, go121, nil},
		{"unrooted .onion before 1.22: nothing", "x.onion", 1, []string{"s."}, go121, nil},
		{"unrooted .onion from 1.22: search only", "x.ONION", 1, []string{"s."}, go122, []string{"x.ONION.s."}},
		{".onion search candidate left out from 1.22", "a", 1, []string{"onion.", "s."}, go122, []string{"a.s.", "a."}},
		{".onion search candidate kept before 1.22", "a", 1, []string{"onion.", "s."}, go121, []string{"a.onion.", "a.s.", "a."}},
		{"empty name", "", 1, []string{"s."}, go122, []string{".s.", "."}},
	}
	for _, tt := range tests {
		got := goNameList(tt.name, goDNSConf{ndots: tt.ndots, search: tt.search}, tt.v)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: goNameList(%q, ndots %d, search %q, %v) = %q, want %q", tt.what, tt.name, tt.ndots, tt.search, tt.v, got, tt.want)
		}
	}
}
