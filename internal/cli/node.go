package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
)

const nodeUsage = `Usage: nsscope node [flags]

Report this node's resolver facts as JSON: /etc/resolv.conf, /etc/hosts,
/etc/nsswitch.conf, systemd-resolved's upstream resolv.conf, the kubelet
config's DNS settings, the static pod manifests under
/etc/kubernetes/manifests, the interface addresses and
net.ipv6.conf.all.disable_ipv6. Symbolic links are followed inside --root
only. 'nsscope cluster --node-facts DIR' reads one such file per node.

Run it on the node, or in the DaemonSet of deploy/ (hostNetwork, the node's
/ mounted read-only at /host).

Flags:
  --root DIR        the node's root file system (default /)
  --name NODE       the node's name (default: $NODE_NAME, else <root>/etc/hostname,
                    else this host's name)
  --ip-addr FILE    the interfaces as printed by 'ip -j addr' (default: this
                    host's, right when running in the node's network namespace)
  --proc DIR        a proc file system of the node's network namespace, for
                    net.ipv6.conf.all.disable_ipv6 (default /proc)
  --compact         one line of JSON (for 'kubectl logs --tail=1')
  --out FILE        write the JSON to FILE (atomically) instead of stdout
  --repeat D        collect again every D until stopped (for a DaemonSet)
`

// runNode implements `nsscope node`.
func runNode(ctx context.Context, args []string, stdio Stdio, env []string) error {
	var root, name, ipAddr, out, proc string
	var compact bool
	var repeat time.Duration
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&root, "root", "/", "")
	fs.StringVar(&name, "name", "", "")
	fs.StringVar(&ipAddr, "ip-addr", "", "")
	fs.StringVar(&out, "out", "", "")
	fs.DurationVar(&repeat, "repeat", 0, "")
	fs.StringVar(&proc, "proc", "/proc", "")
	fs.BoolVar(&compact, "compact", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdio.Err, nodeUsage)
			return nil
		}
		return usageErrorf("%v (run 'nsscope node -h')", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (run 'nsscope node -h')", fs.Arg(0))
	}
	if repeat < 0 {
		return usageErrorf("--repeat %s: want a positive duration", repeat)
	}
	st, err := os.Stat(root)
	if err != nil {
		return inputError(fmt.Errorf("--root: %w", err))
	}
	if !st.IsDir() {
		return inputError(fmt.Errorf("--root %s: not a directory", root))
	}
	for {
		if err := collectNode(nodeOpts{root, name, ipAddr, out, proc, compact}, stdio, env); err != nil {
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
}

func collectNode(o nodeOpts, stdio Stdio, env []string) error {
	root, name, ipAddr, out := o.root, o.name, o.ipAddr, o.out
	if name == "" {
		name = nodeEnv(env, "NODE_NAME")
	}
	if name == "" {
		if data, err := readLimited(filepath.Join(root, "etc", "hostname"), 4096); err == nil {
			name = strings.TrimSpace(string(data))
		}
	}
	if name == "" {
		h, err := os.Hostname()
		if err != nil {
			return inputError(fmt.Errorf("no node name: give --name (%w)", err))
		}
		name = h
	}
	var addrs []kube.IfAddr
	if ipAddr != "" {
		data, err := readLimited(ipAddr, maxNodeFileBytes)
		if err != nil {
			return inputError(fmt.Errorf("--ip-addr: %w", err))
		}
		if addrs, err = kube.ParseIPJSON(data); err != nil {
			return inputError(fmt.Errorf("--ip-addr %s: %w", ipAddr, err))
		}
	}
	nf, err := kubeio.Host{Root: root, Proc: o.proc, Name: name, Addrs: addrs}.Facts()
	if err != nil {
		return inputError(err)
	}
	var data []byte
	if o.compact {
		data, err = json.Marshal(nf)
	} else {
		data, err = json.MarshalIndent(nf, "", "  ")
	}
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "" {
		_, err = stdio.Out.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".nsscope-node-*")
	if err != nil {
		return inputError(fmt.Errorf("--out: %w", err))
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return inputError(fmt.Errorf("--out: %w", err))
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
