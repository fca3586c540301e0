package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// toolInfo is what nsscope knows of its own build.
type toolInfo struct {
	// Module is the main module's version: a release tag, a pseudo-version
	// stamped from the VCS (Go 1.24+), or "" for "(devel)".
	Module string
	// Revision is the VCS commit (vcs.revision), "" when not stamped.
	Revision string
	Time     string
	Modified bool
	Go       string
}

func readBuildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// buildVersion reads the build information the Go linker records (nil
// when there is none).
func buildVersion(bi *debug.BuildInfo) toolInfo {
	ti := toolInfo{Go: runtime.Version()}
	if bi == nil {
		return ti
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		ti.Module = v
	}
	if bi.GoVersion != "" {
		ti.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			ti.Revision = s.Value
		case "vcs.time":
			ti.Time = s.Value
		case "vcs.modified":
			ti.Modified = s.Value == "true"
		}
	}
	return ti
}

// Short is the version reports carry: the module version, else
// "devel-REVISION" (12 hex digits, "-dirty" when modified), else "devel".
func (t toolInfo) Short() string {
	// A pseudo-version stamped from the VCS already names the commit.
	if t.Module != "" {
		return t.Module
	}
	if t.Revision != "" {
		r := t.Revision
		if len(r) > 12 {
			r = r[:12]
		}
		if t.Modified {
			r += "-dirty"
		}
		return "devel-" + r
	}
	return "devel"
}

// Long is what `nsscope version` prints.
func (t toolInfo) Long() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nsscope %s\n", t.Short())
	switch {
	case t.Revision != "":
		fmt.Fprintf(&b, "revision: %s", t.Revision)
		if t.Time != "" {
			fmt.Fprintf(&b, " (%s)", t.Time)
		}
		if t.Modified {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteByte('\n')
	case t.Module != "":
		// go install MODULE@VERSION: the module version is the release.
	default:
		b.WriteString("revision: unknown (built by 'go run' or with -buildvcs=false; 'go build' in a git clone records it)\n")
	}
	fmt.Fprintf(&b, "go: %s %s/%s\n", t.Go, runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// toolVersion is the version nsscope's reports carry.
func toolVersion() string { return buildVersion(readBuildInfo()).Short() }

func newVersionCmd(a *app) *cobra.Command {
	cmd := newVerb(verbSpec{
		use:     "version",
		summary: "print nsscope's version, VCS revision and Go version",
		exit:    exitPlain,
		run: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected argument %q", args[0])
			}
			_, err := fmt.Fprint(a.stdio.Out, buildVersion(readBuildInfo()).Long())
			return err
		},
	})
	return cmd
}
