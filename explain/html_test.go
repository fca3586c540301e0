package explain

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nsscope/nsscope/internal/browser"
	"github.com/nsscope/nsscope/internal/golden"
	"github.com/nsscope/nsscope/model"
)

// incidentResult is the seed's incident: Go 1.15 static on a root without
// nsswitch.conf, three silent nameservers, a dial of localhost with
// client-go's 30 s deadline.
func incidentResult(t *testing.T) *Result {
	t.Helper()
	r, err := Run(Input{
		EnvLabel: "alpine-minirootfs-3.13.12-x86_64.tar.gz",
		Env: model.Env{
			ResolvConf: model.File{Path: "/etc/resolv.conf", Origin: "node.conf", Data: []byte("nameserver 10.222.0.3\nnameserver 10.222.0.4\nnameserver 10.222.0.5\n")},
			NSSwitch:   model.File{Path: "/etc/nsswitch.conf", Origin: "alpine-minirootfs-3.13.12-x86_64.tar.gz:/etc/nsswitch.conf", Missing: true},
			Hosts:      model.File{Path: "/etc/hosts", Origin: "alpine-minirootfs-3.13.12-x86_64.tar.gz:/etc/hosts", Data: []byte("127.0.0.1\tlocalhost localhost.localdomain\n::1\t\tlocalhost localhost.localdomain\n")},
		},
		Programs: []model.Program{{Impl: model.ImplGo, Go: model.GoBuild{Version: model.V(1, 15, 0)}}},
		Request:  model.Request{Name: "localhost", Network: "tcp", Dial: true, Port: 6443, Deadline: model.Seconds(30 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHTMLIncidentInBrowser renders the incident as `explain --format
// html` writes it, opens it in headless Chromium and checks the waterfall
// in the DOM: 12 exchange rows, the deadline line at 30 s on the axis, the
// result mark where the deadline cut the lookup. With -update it writes
// the screenshot the README shows.
func TestHTMLIncidentInBrowser(t *testing.T) {
	r := incidentResult(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "explain.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, r); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ctx := browser.Open(t, path)
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll('svg.waterfall [data-kind="exchange"]').length`); n != 12 {
		t.Errorf("%d exchange rows, want 12", n)
	}
	pos := browser.Eval[struct{ Deadline, Tick30, Tick0 float64 }](t, ctx, `(() => {
	  const x = s => document.querySelector(s).getBoundingClientRect().x;
	  return {Deadline: x('[data-kind="deadline"] line'), Tick30: x('[data-kind="tick"][data-seconds="30"] line'), Tick0: x('[data-kind="tick"][data-seconds="0"] line')};
	})()`)
	if d := pos.Deadline - pos.Tick30; d < -1 || d > 1 || pos.Tick0 >= pos.Deadline {
		t.Errorf("deadline line at x=%.1f, 30 s tick at %.1f, 0 s tick at %.1f", pos.Deadline, pos.Tick30, pos.Tick0)
	}
	if res := browser.Eval[string](t, ctx, `document.querySelector('[data-kind="result"]').dataset.result`); res != "deadline" {
		t.Errorf("result mark %q, want deadline", res)
	}
	if steps := browser.Eval[int](t, ctx, `document.querySelectorAll('ol.steps li').length`); steps < 3 {
		t.Errorf("%d reason steps shown", steps)
	}
	shot := filepath.Join(dir, "explain.png")
	if golden.Update() {
		shot = filepath.Join("..", "docs", "img", "explain-incident.png")
	}
	browser.Screenshot(t, ctx, shot)
}
