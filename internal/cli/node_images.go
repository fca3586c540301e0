package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/grade"
	"github.com/nsscope/nsscope/inspect/imagestore"
	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/internal/jsonstyle"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/report"
)

// nodeImagesGroup is the help title of node's --images flags.
const nodeImagesGroup = "Images (--images: the node's containerd images, each scanned)"

var nodeImageFormats = []string{"text", "json", "sarif", "html"}

// nodeImageFlags are node's --images flags.
type nodeImageFlags struct {
	on             bool
	format, failOn string
	verbose        bool
	stores         imagestore.Options
	lookup         lookupFlags
	// socket: read containerd through its socket rather than its files.
	socket   bool
	progress string
	cache    cacheFlags
}

func (f *nodeImageFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.on, "images", false, "list the images of the node's containerd and give a verdict for each (no registry is contacted)")
	fs.StringVar(&f.format, "format", "text", "--images output `FORMAT`: "+strings.Join(nodeImageFormats, ", "))
	fs.StringVar(&f.failOn, "fail-on", report.Critical.String(), "--images: exit 1 when a finding is at or above `SEVERITY`: critical, warning or info")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "--images text: every finding with its reasons after the verdicts")
	fs.StringVar(&f.stores.ContainerdAddress, "containerd-address", imagestore.DefaultContainerdAddress, "containerd's `SOCKET` (used when --root is /, or when given)")
	fs.StringVar(&f.stores.Namespace, "containerd-namespace", imagestore.DefaultNamespace, "containerd's `NAMESPACE`")
	fs.StringVar(&f.stores.NodeRoot, "containerd-root", "", "read containerd's store without its daemon from a node's root file system `DIR` (DIR/var/lib/containerd, or k3s's); default --root when it is not /")
	fs.StringVar(&f.stores.Platform, "platform", imagestore.DefaultPlatform, "the image to pick from a multi-platform index, `OS/ARCH[/VARIANT]`")
	f.lookup.register(fs, grade.DefaultDeadline, "localhost")
	registerProgress(fs, &f.progress)
}

// imagesOnly are the flags that mean nothing without --images.
var imagesOnly = []string{"format", "fail-on", "verbose", "containerd-address", "containerd-namespace", "containerd-root", "platform", "name", "deadline", "progress", "cache-dir", "no-cache", "cache-size"}

// check refuses --images flags without --images, contradicting ones, and
// decides how containerd is read (nodeStoreMode).
func (f *nodeImageFlags) check(cmd *cobra.Command, o nodeOpts) error {
	if !f.on {
		if c := changed(cmd, imagesOnly...); len(c) > 0 {
			return usageErrorf("%s does nothing without --images", strings.Join(c, ", "))
		}
		return nil
	}
	if c := changed(cmd, "ip-addr", "proc"); len(c) > 0 {
		return usageErrorf("%s does nothing with --images: the images are read, not the node's files", strings.Join(c, ", "))
	}
	if !slices.Contains(nodeImageFormats, f.format) {
		return usageErrorf("--format %q: want %s", f.format, orList(nodeImageFormats))
	}
	if _, err := report.ParseSeverity(f.failOn); err != nil {
		return usageErrorf("--fail-on %q: want critical, warning or info", f.failOn)
	}
	if o.compact && f.format != "json" {
		return usageErrorf("--compact is for --format json")
	}
	if err := f.lookup.check(); err != nil {
		return err
	}
	if err := checkProgress(f.progress); err != nil {
		return err
	}
	if err := f.cache.check(cmd); err != nil {
		return err
	}
	if err := exclusive(cmd, "containerd-address", "containerd-root", "--containerd-address reads through the daemon, --containerd-root its files"); err != nil {
		return err
	}
	socket, err := nodeStoreMode(o.root, cmd.Flags().Changed("containerd-address"), f.stores.NodeRoot != "")
	if err != nil {
		return err
	}
	f.socket = socket
	if !socket && f.stores.NodeRoot == "" {
		f.stores.NodeRoot = o.root
	}
	return nil
}

// nodeStoreMode decides whether containerd is read through its socket:
// when asked for (--containerd-address), or on a live node (--root /)
// unless its files are asked for (--containerd-root); a node's root
// mounted elsewhere is read from its files, since its socket is not
// this machine's.
func nodeStoreMode(root string, address, files bool) (socket bool, err error) {
	switch {
	case address && files:
		return false, usageErrorf("--containerd-address and --containerd-root exclude each other")
	case address:
		return true, nil
	case files:
		return false, nil
	}
	return root == "/", nil
}

// collectNodeImages implements `nsscope node --images`: one scan per
// image, one verdict per image.
func collectNodeImages(ctx context.Context, a *app, o nodeOpts, prev **kube.NodeImages) error {
	name, err := nodeName(a, o)
	if err != nil {
		return err
	}
	f := o.images
	counts := &target.Counts{}
	prog := newProgress(a.stdio.Err, f.progress, counts)
	defer prog.done()
	doc, err := kubeio.ScanNodeImages(ctx, kubeio.NodeScan{
		Node: name,
		Target: target.Options{Platform: f.stores.Platform, Images: f.stores, Counts: counts,
			Cache: f.cache.layers(a.env, a.stdio.Err, "node")},
		Runtime: grade.Runtime{Kind: grade.Kubernetes, Namespace: kube.DefaultNamespace,
			ClusterDomain: kube.DefaultClusterDomain, ClusterDNS: kube.DefaultClusterDNS},
		Names: f.lookup.names, Deadline: f.lookup.deadline,
		Each:     func(i, n int, ref string) { prog.setLabel(fmt.Sprintf("image %d of %d (%s)", i+1, n, ref)) },
		Previous: *prev,
	})
	prog.done()
	if err != nil {
		return targetError(err)
	}
	doc.Tool, doc.Version = jsonstyle.Tool, toolVersion()
	*prev = doc
	rep := doc.Report()
	threshold, _ := report.ParseSeverity(f.failOn)
	var buf bytes.Buffer
	switch f.format {
	case "text":
		err = kube.WriteNodeImagesText(&buf, doc)
		if err == nil && f.verbose {
			buf.WriteString("\n")
			err = report.Write(&buf, prepareReport(rep), report.FormatText, report.TextOptions{Verbose: true, Color: false})
		}
	case "json":
		jsonstyle.FillLists(doc)
		var data []byte
		if o.compact {
			data, err = json.Marshal(doc)
		} else {
			data, err = json.MarshalIndent(doc, "", "  ")
		}
		buf.Write(data)
		buf.WriteByte('\n')
	default:
		format, _ := report.ParseFormat(f.format)
		err = report.Write(&buf, prepareReport(rep), format, report.TextOptions{})
	}
	if err != nil {
		return err
	}
	if o.out == "" {
		if _, err := a.stdio.Out.Write(buf.Bytes()); err != nil {
			return err
		}
	} else if err := writeFileAtomic(o.out, buf.Bytes(), 0o644); err != nil {
		return inputError(fmt.Errorf("--output: %w", err))
	}
	if rep.Fails(threshold) {
		return errFindings
	}
	return nil
}
