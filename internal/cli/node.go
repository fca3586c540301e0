package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
)

func newNodeCmd(a *app) *cobra.Command {
	var o nodeOpts
	var repeat time.Duration
	cmd := newVerb(verbSpec{
		use:     "node [flags]",
		summary: "report this node's resolver facts as JSON (for a DaemonSet)",
		long: `Report this node's resolver facts as JSON: /etc/resolv.conf, /etc/hosts,
/etc/nsswitch.conf, systemd-resolved's upstream resolv.conf, the kubelet
config's DNS settings, the static pod manifests under
/etc/kubernetes/manifests, the interface addresses and
net.ipv6.conf.all.disable_ipv6. Symbolic links are followed inside --root
only. 'nsscope cluster --node-facts-dir DIR' reads one such file per node,
'nsscope pod --node-facts FILE' one.

Run it on the node, or in the DaemonSet of deploy/ (hostNetwork, the node's
/ mounted read-only at /host).

With --images, list the images of the node's containerd instead and scan
each as 'nsscope scan containerd://REF' does, printing one verdict per
image: through containerd's socket when --root is /, else straight from
the content store and metadata database under --root (a node's root
mounted read-only; no daemon needed). No registry is contacted.
'nsscope cluster --node-results' reads the JSON, so that the images are
not read again.`,
		exit: exitNode,
		examples: `nsscope node --output /var/lib/nsscope/$(hostname).json
nsscope node --root /host --compact --repeat 1h
nsscope node --images
nsscope node --images --root /host --format json --output /var/lib/nsscope/$(hostname).images.json`,
		run: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unexpected argument %q", args[0])
			}
			return runNode(cmd, a, o, repeat)
		},
	})
	fl := cmd.Flags()
	fl.StringVar(&o.root, "root", "/", "the node's root file system, a `DIR`ectory (a live node: no tarball)")
	fl.StringVar(&o.name, "node-name", "", "the node's `NAME` (default: $NODE_NAME, else <root>/etc/hostname, else this host's name)")
	fl.StringVar(&o.ipAddr, "ip-addr", "", "the interfaces, a `FILE` as printed by 'ip -j addr' (- for stdin; default: this host's, right when running in the node's network namespace)")
	fl.StringVar(&o.proc, "proc", "/proc", "a proc file system `DIR` of the node's network namespace, for net.ipv6.conf.all.disable_ipv6")
	fl.BoolVar(&o.compact, "compact", false, "one line of JSON (for 'kubectl logs --tail=1')")
	fl.StringVar(&o.out, "output", "", "write the JSON to `FILE` (atomically: a temporary file renamed into place) instead of stdout")
	fl.DurationVar(&repeat, "repeat", 0, "collect again every `DURATION` until stopped (for a DaemonSet)")
	addGroup(cmd, nodeImagesGroup, o.images.register)
	addGroup(cmd, cacheGroup, o.images.cache.register)
	completeValues(cmd, "format", nodeImageFormats...)
	completeValues(cmd, "fail-on", "critical", "warning", "info")
	return cmd
}

// exitNode lists node's exit codes: --images grades as scan does.
const exitNode = `0  done (--images: nothing at or above --fail-on)
1  --images: a finding at or above --fail-on
2  usage error or bad input
3  internal error`

// runNode implements `nsscope node`.
func runNode(cmd *cobra.Command, a *app, o nodeOpts, repeat time.Duration) error {
	if repeat < 0 {
		return usageErrorf("--repeat %s: want a positive duration", repeat)
	}
	if o.ipAddr == "-" && repeat > 0 {
		return usageErrorf("--ip-addr - and --repeat exclude each other: standard input is read once")
	}
	if o.out == "-" {
		o.out = ""
	}
	if err := o.images.check(cmd, o); err != nil {
		return err
	}
	st, err := os.Stat(o.root)
	if err != nil {
		return inputError(fmt.Errorf("--root: %w", err))
	}
	if !st.IsDir() {
		return usageErrorf("--root %s: not a directory (node reads a live node's root)", o.root)
	}
	if o.out != "" {
		if st, err := os.Stat(filepath.Dir(o.out)); err != nil || !st.IsDir() {
			return usageErrorf("--output %s: no directory %s to write into", o.out, filepath.Dir(o.out))
		}
	}
	ctx := cmd.Context()
	collect := func() error { return collectNode(a, o) }
	if o.images.on {
		// With --repeat, an image unchanged since the last round keeps
		// its verdict.
		var prev *kube.NodeImages
		collect = func() error { return collectNodeImages(ctx, a, o, &prev) }
	}
	for {
		// With --repeat, findings do not stop the collection.
		if err := collect(); err != nil && (repeat == 0 || !errors.Is(err, errFindings)) {
			return err
		}
		if repeat == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(repeat):
		}
	}
}

// nodeOpts are the node verb's flags.
type nodeOpts struct {
	root, name, ipAddr, out, proc string
	compact                       bool
	images                        nodeImageFlags
}

// nodeName is --node-name, else $NODE_NAME, else <root>/etc/hostname,
// else this host's name.
func nodeName(a *app, o nodeOpts) (string, error) {
	if o.name != "" {
		return o.name, nil
	}
	if name := nodeEnv(a.env, "NODE_NAME"); name != "" {
		return name, nil
	}
	if data, err := readLimited(filepath.Join(o.root, "etc", "hostname"), 4096); err == nil {
		if name := strings.TrimSpace(string(data)); name != "" {
			return name, nil
		}
	}
	h, err := os.Hostname()
	if err != nil {
		return "", inputError(fmt.Errorf("no node name: give --node-name (%w)", err))
	}
	return h, nil
}

func collectNode(a *app, o nodeOpts) error {
	stdio := a.stdio
	root, ipAddr, out := o.root, o.ipAddr, o.out
	name, err := nodeName(a, o)
	if err != nil {
		return err
	}
	var addrs []kube.IfAddr
	if ipAddr != "" {
		data, err := a.readArg("--ip-addr", ipAddr, maxNodeFileBytes)
		if err != nil {
			return err
		}
		if addrs, err = kube.ParseIPJSON(data); err != nil {
			return inputError(fmt.Errorf("--ip-addr %s: %w", ipAddr, err))
		}
	}
	nf, err := kubeio.Host{Root: root, Proc: o.proc, Name: name, Addrs: addrs}.Facts()
	if err != nil {
		return inputError(err)
	}
	// The facts with the tool and version every nsscope document names
	// (the schema version is the facts' own).
	jsonstyle.FillLists(nf)
	doc := struct {
		*kube.NodeFacts
		Tool    string `json:"tool"`
		Version string `json:"version"`
	}{nf, jsonstyle.Tool, toolVersion()}
	var data []byte
	if o.compact {
		data, err = json.Marshal(doc)
	} else {
		data, err = json.MarshalIndent(doc, "", "  ")
	}
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "" {
		_, err = stdio.Out.Write(data)
		return err
	}
	if err := writeFileAtomic(out, data, 0o644); err != nil {
		return inputError(fmt.Errorf("--output: %w", err))
	}
	return nil
}

// nodeEnv returns KEY's value in env ("KEY=value" entries), the last one
// winning as in a process environment.
func nodeEnv(env []string, key string) string {
	v := ""
	for _, e := range env {
		if k, val, ok := strings.Cut(e, "="); ok && k == key {
			v = val
		}
	}
	return v
}
