package model

import "testing"

// BenchmarkPredictIncident is one prediction of the incident: Go 1.15,
// no nsswitch.conf, kube search list with ndots:5, 3 silent servers
// (48 exchanges simulated), parsing every file.
func BenchmarkPredictIncident(b *testing.B) {
	env := resolvEnv("", kubeSr+ns3+"options ndots:5\n")
	prog := goProg("1.15.15", false)
	req := Request{Name: "localhost", Network: "tcp", Dial: true}
	s := sc(Silent)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Predict(env, prog, req, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictHostsHit is the common safe case: files first, a hosts
// hit, no DNS.
func BenchmarkPredictHostsHit(b *testing.B) {
	env := resolvEnv("hosts: files dns\n", kubeSr+ns3+"options ndots:5\n")
	prog := goProg("1.26.8", false)
	req := Request{Name: "localhost", Network: "tcp", Dial: true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Predict(env, prog, req, sc(Silent)); err != nil {
			b.Fatal(err)
		}
	}
}
