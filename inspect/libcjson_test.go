package inspect

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nsscope/nsscope/model"
)

// A libc has one JSON shape: a release read by inspect writes the fields
// model.Libc writes for the same facts (kind, version, distro), plus its
// evidence; an unknown version is left out, never "". The JSON reads back.
func TestLibcReleaseJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		rel   LibcRelease
		model model.Libc
	}{
		{LibcRelease{Kind: "glibc", Version: "2.36", Vendor: "Debian", Evidence: "banner"}, model.Libc{Kind: "glibc", Version: model.Version{Major: 2, Minor: 36, Patch: -1}, Distro: "debian"}},
		{LibcRelease{Kind: "musl", Version: "1.2.3", Evidence: "string"}, model.Libc{Kind: "musl", Version: model.V(1, 2, 3)}},
		{LibcRelease{Kind: "glibc", Evidence: "loader"}, model.Libc{Kind: "glibc"}},
	} {
		got, err := json.Marshal(c.rel)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := json.Marshal(c.model)
		want := strings.TrimSuffix(string(m), "}") + `,"evidence":"` + c.rel.Evidence + `"}`
		if string(got) != want {
			t.Errorf("%+v: %s, want %s", c.rel, got, want)
		}
		var back LibcRelease
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if back.Model() != c.rel.Model() || back.Version != c.rel.Version || back.Evidence != c.rel.Evidence {
			t.Errorf("%s read back as %+v", got, back)
		}
	}
}
