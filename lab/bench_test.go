package lab

import (
	"context"
	"testing"
	"time"

	"github.com/nsscope/nsscope/model"
)

// BenchmarkLabOverhead measures the lab's own cost per run: re-exec into
// new namespaces, lo up, the overlay over /etc and the three files, three
// fake servers over UDP and TCP, a program that exits at once (/bin/true),
// and tear-down. Goal: at most 20ms per run.
func BenchmarkLabOverhead(b *testing.B) {
	requireRoot(b)
	for _, bc := range []struct {
		name     string
		rootless bool
		servers  string
	}{
		{"root", false, "silent"},
		{"root/refuse-sniffer", false, "refuse"},
		{"rootless", true, "silent"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sc, err := model.ParseScenario(bc.servers)
			if err != nil {
				b.Fatal(err)
			}
			ns := DefaultNameservers(3)
			spec := Spec{
				Nameservers: ns,
				Scenario:    sc,
				ResolvConf:  &model.File{Data: ResolvConf(ns, "svc.cluster.local", "ndots:5 timeout:1 attempts:1")},
				Hosts:       &model.File{Data: []byte("127.0.0.1 localhost\n")},
				NSSwitch:    &model.File{Missing: true},
				Argv:        []string{"/bin/true"},
				Rootless:    bc.rootless,
			}
			var setup time.Duration
			b.ResetTimer()
			for b.Loop() {
				res, err := Runner{}.Run(context.Background(), spec)
				if err != nil {
					b.Fatal(err)
				}
				if res.ExitCode != 0 {
					b.Fatalf("exit %d", res.ExitCode)
				}
				setup += res.Setup.Duration()
			}
			b.ReportMetric(float64(setup.Microseconds())/float64(b.N)/1000, "init-setup-ms/op")
		})
	}
}
