package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/nsscope/nsscope/inspect/layercache"
)

// cacheFlags: where what reading image layers produced is kept for later
// runs (every verb that reads images: inspect, scan, pod, cluster).
type cacheFlags struct {
	dir  string
	off  bool
	size string
	max  int64
}

// cacheGroup is the help title of the cache flags.
const cacheGroup = "Cache"

func (c *cacheFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.dir, "cache-dir", "", "keep what reading each image layer produced in `DIR` (default $XDG_CACHE_HOME/nsscope, else ~/.cache/nsscope)")
	fs.BoolVar(&c.off, "no-cache", false, "neither read nor write the cache")
	fs.StringVar(&c.size, "cache-size", "1Gi", "bound the layer cache to `SIZE` bytes (suffixes Ki, Mi, Gi or k, M, G); the entries used least recently go first")
}

// check parses --cache-size and refuses contradictions.
func (c *cacheFlags) check(cmd *cobra.Command) error {
	if err := exclusive(cmd, "cache-dir", "no-cache", "--no-cache uses no cache"); err != nil {
		return err
	}
	q, err := resource.ParseQuantity(c.size)
	if err != nil || q.Sign() <= 0 {
		return usageErrorf("--cache-size %q: want a positive size such as 500Mi or 2Gi", c.size)
	}
	c.max = q.Value()
	return nil
}

// root is the cache directory: --cache-dir, else the user's cache
// directory, as os.UserCacheDir finds it (from env); "" when off or
// unknown.
func (c *cacheFlags) root(env []string) string {
	switch {
	case c.off:
		return ""
	case c.dir != "":
		return c.dir
	case envValue(env, "XDG_CACHE_HOME") != "":
		return filepath.Join(envValue(env, "XDG_CACHE_HOME"), "nsscope")
	case envValue(env, "HOME") != "":
		return filepath.Join(envValue(env, "HOME"), ".cache", "nsscope")
	}
	return ""
}

// layers opens the layer cache (root/layers), nil when off. A cache that
// cannot be opened (a read-only home in a pod) is a note on stderr and
// the run goes on without it.
func (c *cacheFlags) layers(env []string, stderr io.Writer, verb string) *layercache.Cache {
	root := c.root(env)
	if root == "" {
		return nil
	}
	lc, err := layercache.Open(filepath.Join(root, "layers"), c.max, layercache.ToolID())
	if err != nil {
		fmt.Fprintf(stderr, "nsscope %s: note: no layer cache: %v\n", verb, err)
		return nil
	}
	return lc
}
