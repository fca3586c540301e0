package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// podFlags are the parsed flags of the pod verb.
type podFlags struct {
	files  []string
	lookup lookupFlags
	report reportFlags
	node   kubeNodeFlags
	image  kubeImageFlags
	scan   kubeScanFlags
	set    map[string]bool
}

var podFormats = []string{"text", "resolvconf", "hosts", "json", "sarif", "html"}

// kubeExit is the exit code list of pod and apiserver.
const kubeExit = `0  nothing at or above --fail-on
1  a finding at or above --fail-on
2  usage error or bad input (objects that cannot be read are named on
   stderr; the others are still reported)
3  internal error`

func newPodCmd(a *app) *cobra.Command {
	var f podFlags
	cmd := newVerb(verbSpec{
		use:     "pod [flags] -f FILE|DIR|- [-f ...]",
		summary: "a pod's effective resolv.conf and /etc/hosts, and what lookups cost in it",
		long: `For each container of the pods in FILE, compute the /etc/resolv.conf and
/etc/hosts the kubelet gives it (dnsPolicy, the hostNetwork fall-back,
dnsConfig merging, the kubelet's limits), with the reason for every line,
and what one lookup of each name costs: the queries it sends and the worst
case with every nameserver silent, for the program in the container. A
kube-apiserver container also gets its loopback client and start-up
predicted.

FILE holds a Pod, a Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job or CronJob, static pod manifests, several YAML
documents, or 'kubectl get pods -A -o json|yaml' output. A DIR is read as a
static pod manifest directory (*.yaml, *.yml, *.json). Files may also be
given as arguments.

--format resolvconf prints each container's file preceded by
"# <namespace>/<pod>/<container>"; hosts likewise.`,
		exit: kubeExit,
		examples: `nsscope pod -f deploy.yaml --format resolvconf
kubectl get pods -A -o json | nsscope pod -f - --fail-on warning
nsscope pod -f /etc/kubernetes/manifests --node-resolv-conf /etc/resolv.conf --ipv6 off`,
		run: func(cmd *cobra.Command, args []string) error { return runPod(cmd, a, &f, args) },
	})
	cmd.Flags().StringArrayVarP(&f.files, "file", "f", nil, "the manifests: a `FILE`, a DIR of static pod manifests, or - for stdin (repeatable)")
	addGroup(cmd, "Lookup", func(fs *pflag.FlagSet) {
		f.lookup.register(fs, kube.DefaultDeadline, "localhost plus the Service-style names in each container's env")
	})
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, podFormats, true) })
	addGroup(cmd, programGroup, f.image.build.register)
	addGroup(cmd, kubeImageGroup, f.image.register)
	addGroup(cmd, kubeScanGroup, f.scan.register)
	addGroup(cmd, kubeNodeGroup, f.node.register)
	completeReportFlags(cmd, podFormats)
	completeValues(cmd, "ipv6", "on", "off", "absent")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml", "json")
	return cmd
}

// runPod implements `nsscope pod`.
func runPod(cmd *cobra.Command, a *app, f *podFlags, args []string) error {
	f.files = append(f.files, args...)
	if len(f.files) == 0 {
		return usageErrorf("no manifest: give -f FILE, a directory or - for stdin")
	}
	for _, check := range []func() error{f.lookup.check, f.report.check, func() error { return f.scan.check(cmd) }} {
		if err := check(); err != nil {
			return err
		}
	}
	f.set = flagsSet(cmd)
	node, assumed, err := f.node.node(a, f.set)
	if err != nil {
		return err
	}
	imgFn, kv, apiProg, err := f.image.images(a)
	if err != nil {
		return err
	}
	for _, n := range f.image.build.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope pod: note: %s\n", n)
	}
	dec, err := a.readManifests(f.files)
	if err != nil {
		return err
	}
	for _, e := range dec.Errors {
		fmt.Fprintf(a.stdio.Err, "nsscope pod: %v\n", e)
	}
	target := strings.Join(f.files, ", ")
	if len(dec.Workloads) == 0 {
		if len(dec.Errors) > 0 {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read (named above) and no pod or workload was found in %s", len(dec.Errors), target)}
		}
		return inputError(fmt.Errorf("no pods or workloads found in %s", target))
	}
	var scanNotes []string
	if f.scan.enabled() {
		imgFn, scanNotes = podImages(cmd.Context(), f.scan.cachedInspector(a.env), dec.Workloads, imgFn)
	}
	opts := kube.Options{Deadline: f.lookup.deadline, Predict: model.Predict, Image: imgFn, APIServerVersion: kv, APIServerProgram: apiProg}
	if len(f.lookup.names) > 0 {
		opts.Names = f.lookup.names
	}
	an := kube.NewAnalyzer(opts)
	var cs []*kube.Container
	fixes := map[string][]kube.StartupFix{}
	for _, w := range dec.Workloads {
		wcs := an.Workload(w, node)
		cs = append(cs, wcs...)
		for _, c := range wcs {
			if c.Startup != nil && c.Startup.Fails {
				for k, v := range an.APIServerFixes(w, node) {
					fixes[k] = v
				}
				break
			}
		}
	}
	findings := kube.Findings(cs)
	kube.AttachFixes(findings, fixes)
	rep := &report.Report{Tool: "nsscope", Version: toolVersion(), Target: target, Assumptions: assumed, Rules: report.KubernetesRules(), Findings: findings}
	rep.Assumptions = append(rep.Assumptions, fmt.Sprintf("caller deadline %s per lookup; worst case: every nameserver silent", f.lookup.deadline))
	rep.Notes = append(rep.Notes, dec.Skipped...)
	rep.Notes = append(rep.Notes, scanNotes...)
	for _, e := range dec.Errors {
		rep.Notes = append(rep.Notes, "not read: "+e.Error())
	}
	out := a.output(f.report.output)
	switch f.report.format {
	case "resolvconf":
		err = kube.WriteResolvConf(out, cs)
	case "hosts":
		err = kube.WriteHosts(out, cs)
	case "text":
		err = writePodText(out, cs, rep, fixes)
	default:
		format, _ := report.ParseFormat(f.report.format)
		err = report.Write(out, rep, format, report.TextOptions{})
	}
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if len(dec.Errors) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read (named above); the rest is reported", len(dec.Errors))}
	}
	if rep.Fails(f.report.threshold()) {
		return errFindings
	}
	return nil
}

func writePodText(w io.Writer, cs []*kube.Container, rep *report.Report, fixes map[string][]kube.StartupFix) error {
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
	if len(rep.Assumptions) > 0 {
		b.WriteString("\nassumptions:\n")
		for _, a := range rep.Assumptions {
			fmt.Fprintf(&b, "  %s\n", a)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	counts := rep.Counts()
	fmt.Fprintf(&b, "\n%d container(s): %d critical, %d warning, %d info\n", len(cs), counts[report.Critical], counts[report.Warning], counts[report.Info])
	_, err := io.WriteString(w, b.String())
	return err
}

// readManifests reads every -f argument: files, directories of manifests,
// or "-" for stdin.
func (a *app) readManifests(files []string) (*kube.Decoded, error) {
	all := &kube.Decoded{}
	add := func(d *kube.Decoded) {
		all.Workloads = append(all.Workloads, d.Workloads...)
		all.Errors = append(all.Errors, d.Errors...)
		all.Skipped = append(all.Skipped, d.Skipped...)
	}
	for _, name := range files {
		if name == "-" {
			data, err := a.readArg("-f", "-", kube.MaxManifestBytes)
			if err != nil {
				return nil, err
			}
			add(kube.Decode("<stdin>", data))
			continue
		}
		st, err := os.Stat(name)
		if err != nil {
			return nil, inputError(err)
		}
		paths := []string{name}
		if st.IsDir() {
			ents, err := os.ReadDir(name)
			if err != nil {
				return nil, inputError(err)
			}
			paths = nil
			for _, e := range ents {
				n := e.Name()
				if e.IsDir() || strings.HasPrefix(n, ".") || !(strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".json")) {
					continue
				}
				paths = append(paths, filepath.Join(name, n))
			}
			sort.Strings(paths)
		}
		for _, p := range paths {
			data, err := readLimited(p, kube.MaxManifestBytes)
			if err != nil {
				return nil, inputError(err)
			}
			add(kube.Decode(p, data))
		}
	}
	return all, nil
}
