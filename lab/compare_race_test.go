package lab

import (
	"strings"
	"testing"

	"github.com/nsscope/nsscope/model"
)

// A racy musl prediction (SERVFAIL resends racing an instant NXDOMAIN)
// accepts any observation within its bound and flags what is outside.
func TestCompareRace(t *testing.T) {
	sc, err := model.ParseScenario("servfail,nxdomain,refuse")
	if err != nil {
		t.Fatal(err)
	}
	env := model.Env{
		ResolvConf: model.File{Data: []byte("nameserver 127.0.0.53\nnameserver 127.0.0.54\nnameserver 127.0.0.55\noptions attempts:1 timeout:2 ndots:1\n")},
		Hosts:      model.File{Data: []byte("127.0.0.1 localhost\n")},
	}
	p, err := model.Predict(env, model.Program{Impl: model.ImplMusl, Libc: model.Libc{Kind: "musl", Version: model.V(1, 2, 4)}}, model.Request{Name: "api.example.com", Op: model.OpLookupIP}, sc)
	if err != nil {
		t.Fatal(err)
	}
	if p.QueriesRange == nil {
		t.Fatal("no race predicted")
	}
	x := func(server, typ string) model.Exchange {
		return model.Exchange{Server: server, Type: typ, Name: "api.example.com.", Transport: "udp"}
	}
	first := []model.Exchange{x("127.0.0.53:53", "A"), x("127.0.0.54:53", "A"), x("127.0.0.55:53", "A"), x("127.0.0.53:53", "AAAA"), x("127.0.0.54:53", "AAAA"), x("127.0.0.55:53", "AAAA")}
	resends := func(n int) []model.Exchange {
		out := append([]model.Exchange(nil), first...)
		for i := range n {
			out = append(out, x("127.0.0.53:53", []string{"A", "AAAA"}[i%2]))
		}
		return out
	}
	ok := false
	for _, tc := range []struct {
		name string
		obs  []model.Exchange
		want string // "" for a match, else part of a difference
	}{
		{"no resend", resends(0), ""},
		{"three resends (observed in the issue)", resends(3), ""},
		{"the whole budget", resends(4), ""},
		{"more than the budget", resends(5), "between 6 and 10"},
		{"an initial query missing", append(resends(3)[:1], resends(3)[2:]...), "in every run of the race"},
		{"a name never asked", append(resends(1), model.Exchange{Server: "127.0.0.53:53", Type: "A", Name: "other.", Transport: "udp"}), "does not allow"},
	} {
		c := Compare(p, Observation{Exchanges: tc.obs, Succeeded: &ok})
		got := strings.Join(c.Differences, "; ")
		if (tc.want == "") != c.OK() || !strings.Contains(got, tc.want) {
			t.Errorf("%s: differences %q, want %q", tc.name, got, tc.want)
		}
	}
}
