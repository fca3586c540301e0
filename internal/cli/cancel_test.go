package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A Ctrl-C (the context cancelled) during a registry fetch stops inspect:
// the registry here never answers, so only the cancellation ends the run
// (issue 15.8: inspect used to drop its context).
func TestInspectCancel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/app:1"
	for _, args := range [][]string{
		{"inspect", "--insecure", "--in", ref},
		{"scan", "--insecure", ref},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		var out, errb bytes.Buffer
		done := make(chan int)
		go func() {
			done <- Main(ctx, args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, []string{"TMPDIR=" + t.TempDir()})
		}()
		select {
		case code := <-done:
			if code == ExitOK || !strings.Contains(errb.String(), "context canceled") {
				t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("%v: still running two minutes after the cancellation", args)
		}
		cancel()
	}
}
