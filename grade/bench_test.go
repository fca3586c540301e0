package grade

import (
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/sysenv"
)

// BenchmarkRun measures the verdicts alone (no target reading): 100
// programs, one name, the default Kubernetes assumption, on the real model.
func BenchmarkRun(b *testing.B) {
	root := fstest.MapFS{"etc/hosts": {Data: []byte("127.0.0.1 localhost\n")}}
	var progs []Program
	for i := range 100 {
		v := model.V(1, 10+i%17, 0)
		progs = append(progs, Program{Path: fmt.Sprintf("/bin/p%d", i),
			Variants: []Variant{{Program: model.Program{Impl: model.ImplGo, Go: model.GoBuild{Version: v}}}}})
	}
	in := Input{Root: sysenv.FS{FS: root}, Programs: progs, Runtime: Runtime{Kind: Kubernetes}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(in); err != nil {
			b.Fatal(err)
		}
	}
}
