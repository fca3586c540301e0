package model

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// bigResolvConf is about 1 MB of nameserver lines (issue 12: 45,318 of
// them took 107 s); bigHosts 4 MB of /etc/hosts ending in localhost.
func bigResolvConf() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, "nameserver 10.0.%d.%d\n", i/250, i%250)
	}
	return []byte(b.String())
}

func bigHosts() []byte {
	var b strings.Builder
	for i := 0; b.Len() < 4<<20; i++ {
		fmt.Fprintf(&b, "10.%d.%d.%d host%d alias%d\n", i>>16&255, i>>8&255, i&255, i, i)
	}
	b.WriteString("127.0.0.1 localhost\n")
	return []byte(b.String())
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Prediction work is linear in the files' size: the bytes allocated for a
// 1 MB resolv.conf and a 4 MB /etc/hosts stay within a small multiple of
// the input (quadratic work, as the 107 s case was, allocates gigabytes).
// Nothing is truncated: the last line of the hosts file still answers.
func TestHugeFilesLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about 100 MB")
	}
	rc, hosts := bigResolvConf(), bigHosts()
	env := Env{ResolvConf: File{Data: rc}, Hosts: File{Data: hosts}, NSSwitch: File{Data: []byte("hosts: files dns\n")}}
	for _, prog := range []Program{
		{Impl: ImplGo, Go: GoBuild{Version: V(1, 21, 0)}},
		{Impl: ImplGo, Go: GoBuild{Version: V(1, 15, 0)}},
		{Impl: ImplGlibc},
		{Impl: ImplMusl},
	} {
		var p *Prediction
		n := allocated(func() {
			var err error
			p, err = Predict(env, prog, Request{Name: "localhost"}, Scenario{})
			if err != nil {
				t.Fatal(err)
			}
		})
		if limit := uint64(60 * (len(rc) + len(hosts))); n > limit {
			t.Errorf("%s: %d MB allocated for %d MB of input (limit %d MB): not linear", prog.Impl, n>>20, (len(rc)+len(hosts))>>20, limit>>20)
		}
		if p.AnsweredFrom != FromHosts {
			t.Errorf("%s: answered from %s: the hosts file's last line was not read", prog.Impl, p.AnsweredFrom)
		}
		for _, s := range p.Steps {
			if len(s.Reason) > 1000 {
				t.Errorf("%s: step %s has a %d-byte reason", prog.Impl, s.Key, len(s.Reason))
			}
		}
	}
}

// BenchmarkPredictHugeResolvConf is one Go prediction over 1 MB of
// nameserver lines.
func BenchmarkPredictHugeResolvConf(b *testing.B) {
	env := Env{ResolvConf: File{Data: bigResolvConf()}}
	prog := Program{Impl: ImplGo, Go: GoBuild{Version: V(1, 21, 0)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Predict(env, prog, Request{Name: "foo"}, Scenario{}); err != nil {
			b.Fatal(err)
		}
	}
}
