package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

const apiserverUsage = `Usage: nsscope apiserver [flags] [-f MANIFEST]

Predict the host kube-apiserver's own loopback client dials (as
k8s.io/apiserver chooses it for the apiserver's version, from --bind-address
and the node's interface addresses) and, when that is "localhost", whether
the name lookup outlasts client-go's 30 s dial timeout so that the apiserver
dies at start with "Unable to perform initial IP allocation check". Each
documented remedy is predicted too.

MANIFEST is the kube-apiserver static pod (e.g.
/etc/kubernetes/manifests/kube-apiserver.yaml); without it the flags below
describe the apiserver (a hostNetwork static pod, dnsPolicy ClusterFirst).

Flags:
  -f FILE                 the kube-apiserver manifest
  --bind-address IP       without -f: kube-apiserver --bind-address (default 0.0.0.0)
  --secure-port N         without -f: kube-apiserver --secure-port (default 6443)
  --image REF             without -f: the image (its tag gives the version)
  --format text|json      (default text)
  --fail-on S             exit 1 when a finding is at or above S (default critical)

` + kubeImageUsage + `
` + kubeNodeUsage + `
Examples (the incident, and its fixes):
  nsscope apiserver -f kube-apiserver.yaml --node-resolv-conf node-resolv.conf --ipv6 off
  nsscope apiserver --kube-version 1.20.15 --node-resolv-conf node-resolv.conf --ip-addr ip.json
`

// runAPIServer implements `nsscope apiserver`.
func runAPIServer(ctx context.Context, args []string, stdio Stdio, env []string) error {
	var (
		files      fileList
		bind       string
		port       int
		image      string
		format     string
		failOn     string
		nodeFlags  kubeNodeFlags
		imageFlags kubeImageFlags
	)
	fs := flag.NewFlagSet("apiserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&files, "f", "")
	fs.StringVar(&bind, "bind-address", "0.0.0.0", "")
	fs.IntVar(&port, "secure-port", kube.DefaultSecurePort, "")
	fs.StringVar(&image, "image", "", "")
	fs.StringVar(&format, "format", "text", "")
	fs.StringVar(&failOn, "fail-on", report.Critical.String(), "")
	nodeFlags.register(fs)
	imageFlags.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdio.Err, apiserverUsage)
			return nil
		}
		return usageErrorf("%v (run 'nsscope apiserver -h')", err)
	}
	files = append(files, fs.Args()...)
	set := flagsSet(fs)
	if format != "text" && format != "json" {
		return usageErrorf("--format %q: want text or json", format)
	}
	th, err := report.ParseSeverity(failOn)
	if err != nil {
		return usageErrorf("--fail-on: %v", err)
	}
	if len(files) > 0 {
		for _, n := range []string{"bind-address", "secure-port", "image"} {
			if set[n] {
				return usageErrorf("--%s describes an apiserver without a manifest; it cannot be combined with -f", n)
			}
		}
	} else {
		if ip := net.ParseIP(bind); ip == nil {
			return usageErrorf("--bind-address %q: not an IP address", bind)
		}
		if port <= 0 || port > 65535 {
			return usageErrorf("--secure-port %d: not a port", port)
		}
	}
	node, assumed, err := nodeFlags.node(set)
	if err != nil {
		return err
	}
	imgSpec, apiProg, err := imageFlags.images()
	kv := imgSpec.KubeVersion
	if err != nil {
		return err
	}
	var dec *kube.Decoded
	if len(files) > 0 {
		dec, err = readManifests(files, stdio.In)
		if err != nil {
			return err
		}
	} else {
		if image == "" {
			if kv.IsZero() && apiProg == nil {
				return usageErrorf("without -f, give --kube-version, --image or --go")
			}
			image = "kube-apiserver"
			if !kv.IsZero() {
				image += ":v" + kv.String()
			}
		}
		dec = &kube.Decoded{Workloads: []*kube.Workload{syntheticAPIServer(bind, port, image)}}
	}
	for _, e := range dec.Errors {
		fmt.Fprintf(stdio.Err, "nsscope apiserver: %v\n", e)
	}
	opts := kube.Options{Names: []string{}, Predict: model.Predict, Image: imgSpec.Images(nil, nil), APIServerVersion: kv, APIServerProgram: apiProg}
	a := kube.NewAnalyzer(opts)
	var cs []*kube.Container
	fixes := map[string][]kube.StartupFix{}
	for _, w := range dec.Workloads {
		found := false
		for _, c := range a.Workload(w, node) {
			if c.Startup != nil || c.StartErr != "" {
				cs = append(cs, c)
				found = true
			}
		}
		if found {
			for k, v := range a.APIServerFixes(w, node) {
				fixes[k] = v
			}
		}
	}
	if len(cs) == 0 {
		if len(dec.Errors) > 0 {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read and no kube-apiserver container was found", len(dec.Errors))}
		}
		return inputError(errors.New("no kube-apiserver container found (its command, or its image name, must be kube-apiserver)"))
	}
	findings := kube.Findings(cs)
	kube.AttachFixes(findings, fixes)
	rep := &report.Report{Tool: "nsscope", Version: toolVersion(), Target: strings.Join(files, ", "), Assumptions: assumed, Rules: report.KubernetesRules(), Findings: findings}
	if format == "json" {
		err = report.WriteJSON(stdio.Out, rep)
	} else {
		err = writeAPIServerText(stdio.Out, cs, fixes, assumed)
	}
	if err != nil {
		return err
	}
	if len(dec.Errors) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read (named above)", len(dec.Errors))}
	}
	if rep.Fails(th) {
		return errFindings
	}
	return nil
}

func syntheticAPIServer(bind string, port int, image string) *kube.Workload {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver", Namespace: "kube-system"},
		Spec: corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{
			Name: "kube-apiserver", Image: image,
			Command: []string{"kube-apiserver", "--bind-address=" + bind, "--secure-port=" + strconv.Itoa(port)},
		}}},
	}
	return &kube.Workload{Source: kube.Source{File: "flags", Item: -1}, Kind: "Pod", Name: pod.Name, Namespace: pod.Namespace, Pod: pod,
		Notes: []string{"no manifest: a hostNetwork static pod with dnsPolicy ClusterFirst, as kubeadm writes it"}}
}

func writeAPIServerText(w io.Writer, cs []*kube.Container, fixes map[string][]kube.StartupFix, assumed []string) error {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		if err := kube.WriteDerivation(&b, c); err != nil {
			return err
		}
		if err := kube.WriteChecks(&b, c); err != nil {
			return err
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
