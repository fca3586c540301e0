package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
	"github.com/nsscope/nsscope/waterfall"
)

// apiserverFlags are the parsed flags of the apiserver verb.
type apiserverFlags struct {
	files  []string
	bind   string
	port   int
	image  string
	report reportFlags
	node   kubeNodeFlags
	images kubeImageFlags
}

func newAPIServerCmd(a *app) *cobra.Command {
	var f apiserverFlags
	cmd := newVerb(verbSpec{
		use:     "apiserver [flags] [-f MANIFEST]",
		summary: "predict kube-apiserver's loopback host and its start-up",
		long: `Predict the host kube-apiserver's own loopback client dials (as
k8s.io/apiserver chooses it for the apiserver's version, from --bind-address
and the node's interface addresses) and, when that is "localhost", whether
the name lookup outlasts client-go's 30 s dial timeout so that the apiserver
dies at start with "Unable to perform initial IP allocation check". Each
documented remedy is predicted too.

MANIFEST is the kube-apiserver static pod (e.g.
/etc/kubernetes/manifests/kube-apiserver.yaml); without it the flags below
describe the apiserver (a hostNetwork static pod, dnsPolicy ClusterFirst).`,
		exit: kubeExit,
		examples: `nsscope apiserver -f kube-apiserver.yaml --node-resolv-conf node-resolv.conf --ipv6 off
nsscope apiserver --kube-version 1.20.15 --node-resolv-conf node-resolv.conf --ip-addr ip.json`,
		run: func(cmd *cobra.Command, args []string) error { return runAPIServer(cmd, a, &f, args) },
	})
	cmd.Flags().StringArrayVarP(&f.files, "file", "f", nil, "the kube-apiserver manifest `FILE` (- for stdin)")
	cmd.Flags().StringVar(&f.bind, "bind-address", "0.0.0.0", "without -f: kube-apiserver --bind-address `IP`")
	cmd.Flags().IntVar(&f.port, "secure-port", kube.DefaultSecurePort, "without -f: kube-apiserver --secure-port `N`")
	cmd.Flags().StringVar(&f.image, "image", "", "without -f: the image `REF` (its tag gives the version)")
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, []string{"text", "json", "html"}, true) })
	addGroup(cmd, programGroup, f.images.build.register)
	addGroup(cmd, kubeImageGroup, f.images.register)
	addGroup(cmd, kubeNodeGroup, f.node.register)
	completeReportFlags(cmd, []string{"text", "json"})
	completeValues(cmd, "ipv6", "on", "off", "absent")
	return cmd
}

// runAPIServer implements `nsscope apiserver`.
func runAPIServer(cmd *cobra.Command, a *app, f *apiserverFlags, args []string) error {
	files := append(f.files, args...)
	set := flagsSet(cmd)
	if err := f.report.check(); err != nil {
		return err
	}
	if len(files) > 0 {
		if c := changed(cmd, "bind-address", "secure-port", "image"); len(c) > 0 {
			return usageErrorf("%s describe%s an apiserver without a manifest; it cannot be combined with -f", strings.Join(c, ", "), map[bool]string{true: "", false: "s"}[len(c) > 1])
		}
	} else {
		if ip := net.ParseIP(f.bind); ip == nil {
			return usageErrorf("--bind-address %q: not an IP address", f.bind)
		}
		if f.port <= 0 || f.port > 65535 {
			return usageErrorf("--secure-port %d: not a port", f.port)
		}
	}
	node, assumed, err := f.node.node(a, set)
	if err != nil {
		return err
	}
	imgSpec, apiProg, err := f.images.images(a)
	kv := imgSpec.KubeVersion
	if err != nil {
		return err
	}
	for _, n := range f.images.build.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope apiserver: note: %s\n", n)
	}
	var dec *kube.Decoded
	if len(files) > 0 {
		dec, err = a.readManifests(files, nil)
		if err != nil {
			return err
		}
	} else {
		image := f.image
		if image == "" {
			if kv.IsZero() && apiProg == nil {
				return usageErrorf("without -f, give --kube-version, --image or --go")
			}
			image = "kube-apiserver"
			if !kv.IsZero() {
				image += ":v" + kv.String()
			}
		}
		dec = &kube.Decoded{Workloads: []*kube.Workload{kube.StaticAPIServer(f.bind, f.port, image)}}
	}
	for _, e := range dec.Errors {
		fmt.Fprintf(a.stdio.Err, "nsscope apiserver: %v\n", e)
	}
	opts := kube.Options{Names: []string{}, Predict: model.Predict, Image: imgSpec.Images(nil, nil), APIServerVersion: kv, APIServerProgram: apiProg}
	cs, findings, fixes := kube.NewAnalyzer(opts).APIServers(dec.Workloads, node)
	if len(cs) == 0 {
		if len(dec.Errors) > 0 {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read and no kube-apiserver container was found", len(dec.Errors))}
		}
		return inputError(errors.New("no kube-apiserver container found (its command, or its image name, must be kube-apiserver)"))
	}
	rep := &report.Report{Tool: "nsscope", Version: toolVersion(), Target: strings.Join(files, ", "), Assumptions: assumed, Rules: report.KubernetesRules(), Findings: findings}
	out := a.output(f.report.output)
	switch f.report.format {
	case "json":
		err = report.WriteJSON(out, prepareReport(rep))
	case "html":
		err = waterfall.WritePage(out, kube.StartupPage(cs, fixes, assumed))
	default:
		err = writeAPIServerText(out, cs, fixes, assumed, waterfall.TextOptions{Width: a.width(), Color: a.color(f.report.output)})
	}
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	bad := kube.InputErrors(cs)
	for _, e := range bad {
		fmt.Fprintf(a.stdio.Err, "nsscope apiserver: %s\n", e)
	}
	if len(dec.Errors) > 0 || len(bad) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read or are not valid (named above)", len(dec.Errors)+len(bad))}
	}
	if rep.Fails(f.report.threshold()) {
		return errFindings
	}
	return nil
}

func writeAPIServerText(w io.Writer, cs []*kube.Container, fixes map[string][]kube.StartupFix, assumed []string, wo waterfall.TextOptions) error {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		if err := kube.WriteDerivation(&b, c); err != nil {
			return err
		}
		if err := kube.WriteChecks(&b, c, wo.Color); err != nil {
			return err
		}
		if c.Startup != nil {
			b.WriteString("  start-up, from the process's start:\n")
			if err := waterfall.WriteText(&b, kube.StartupChart("", c.Startup, kube.DefaultMachine()), wo); err != nil {
				return err
			}
		}
		writeRemedies(&b, c, fixes)
	}
	for _, a := range assumed {
		fmt.Fprintf(&b, "assumed: %s\n", a)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeRemedies lists the re-predicted remedies of a failing start-up.
func writeRemedies(b *strings.Builder, c *kube.Container, fixes map[string][]kube.StartupFix) {
	if c.Startup == nil || !c.Startup.Fails || len(fixes[c.Subject]) == 0 {
		return
	}
	b.WriteString("  remedies, each alone:\n")
	for _, fx := range fixes[c.Subject] {
		fmt.Fprintf(b, "    - %s\n      → %s\n", fx.Description, fx.After.Summary)
	}
}
