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
	"github.com/nsscope/nsscope/kube/kubeio"
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
	imgSpec, apiProg, err := f.image.images(a)
	if err != nil {
		return err
	}
	for _, n := range f.image.build.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope pod: note: %s\n", n)
	}
	opts := kube.Options{Deadline: f.lookup.deadline, Predict: model.Predict, Image: imgSpec.Images(nil, nil), APIServerVersion: imgSpec.KubeVersion, APIServerProgram: apiProg}
	if len(f.lookup.names) > 0 {
		opts.Names = f.lookup.names
	}
	out := a.output(f.report.output)
	run := &podChecker{format: f.report.format, out: out, maxReport: maxReportPods, color: a.color(f.report.output)}
	var dec *kube.Decoded
	var scanNotes []string
	if f.scan.enabled() {
		// Images are inspected once each before any pod is checked: the
		// workloads are read first.
		if dec, err = a.readManifests(f.files, nil); err != nil {
			return err
		}
		if opts.Image, scanNotes, err = kubeio.WorkloadImages(cmd.Context(), f.scan.cachedInspector(a.env), dec.Workloads, imgSpec); err != nil {
			return err
		}
		run.an = kube.NewAnalyzer(opts)
		for _, w := range dec.Workloads {
			run.check(w, node)
		}
	} else {
		// Each workload is checked as it is decoded and then let go:
		// memory stays flat however many pods a List holds.
		run.an = kube.NewAnalyzer(opts)
		if dec, err = a.readManifests(f.files, func(w *kube.Workload) { run.check(w, node) }); err != nil {
			return err
		}
	}
	if run.err != nil {
		return run.err
	}
	for _, e := range dec.Errors {
		fmt.Fprintf(a.stdio.Err, "nsscope pod: %v\n", e)
	}
	for _, e := range run.inputErrs {
		fmt.Fprintf(a.stdio.Err, "nsscope pod: %s\n", e)
	}
	target := strings.Join(f.files, ", ")
	if run.workloads == 0 {
		if len(dec.Errors) > 0 {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read (named above) and no pod or workload was found in %s", len(dec.Errors), target)}
		}
		return inputError(fmt.Errorf("no pods or workloads found in %s", target))
	}
	rep := &report.Report{Tool: "nsscope", Version: toolVersion(), Target: target, Assumptions: assumed, Rules: report.KubernetesRules(), Findings: run.findings}
	rep.Assumptions = append(rep.Assumptions, fmt.Sprintf("caller deadline %s per lookup; worst case: every nameserver silent", f.lookup.deadline))
	rep.Notes = append(rep.Notes, dec.Skipped...)
	rep.Notes = append(rep.Notes, scanNotes...)
	if run.dropped > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the predictions of %d finding(s) after the first %d are left out of the report (their times and query counts are kept)", run.dropped, maxDetailedFindings))
	}
	for _, e := range dec.Errors {
		rep.Notes = append(rep.Notes, "not read: "+e.Error())
	}
	switch f.report.format {
	case "resolvconf", "hosts":
	case "text":
		err = writePodTail(out, run, rep)
	default:
		format, _ := report.ParseFormat(f.report.format)
		err = report.Write(out, prepareReport(rep), format, report.TextOptions{})
	}
	if err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if len(dec.Errors) > 0 || len(run.inputErrs) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read or are not valid (named above); the rest is reported", len(dec.Errors)+len(run.inputErrs))}
	}
	if run.max >= f.report.threshold() && run.any {
		return errFindings
	}
	return nil
}

// maxReportPods caps the workloads of one JSON, SARIF or HTML report,
// which is written whole at the end: beyond it the run is refused rather
// than grow without bound (text, resolvconf and hosts stream any size).
const maxReportPods = 10000

// maxDetailedFindings caps the findings of one pod run that keep their
// whole prediction (exchanges, decisions) in a JSON, SARIF or HTML report.
const maxDetailedFindings = 500

// podChecker checks workloads one at a time and writes what each gives at
// once, keeping only the counts (and, for report formats, the findings).
type podChecker struct {
	an        *kube.Analyzer
	format    string
	out       io.Writer
	workloads int
	// containers counts the containers written; counts the findings by
	// severity; max is the highest severity met (any: some finding).
	containers int
	counts     map[report.Severity]int
	max        report.Severity
	any        bool
	findings   []report.Finding
	dropped    int
	inputErrs  []string
	// maxReport caps the workloads of a report format (see maxReportPods).
	maxReport int
	// color paints the text verdicts for a terminal.
	color bool
	err   error
}

func (r *podChecker) check(w *kube.Workload, node kube.Node) {
	if r.err != nil {
		return
	}
	r.workloads++
	switch r.format {
	case "json", "sarif", "html":
		if r.workloads > r.maxReport {
			r.err = inputError(fmt.Errorf("--format %s: more than %d pods or workloads in one report; use --format text, resolvconf or hosts (written as each pod is checked, any number), or 'nsscope cluster --pods-file' (one pod per workload and node)", r.format, r.maxReport))
			return
		}
	}
	cs, fs, fixes := r.an.Check(w, node)
	r.inputErrs = append(r.inputErrs, kube.InputErrors(cs)...)
	if r.counts == nil {
		r.counts = map[report.Severity]int{}
	}
	for i := range fs {
		r.counts[fs[i].Severity]++
		if !r.any || fs[i].Severity > r.max {
			r.max, r.any = fs[i].Severity, true
		}
	}
	var b strings.Builder
	for _, c := range cs {
		if r.containers > 0 && r.format != "json" && r.format != "sarif" && r.format != "html" {
			b.WriteByte('\n')
		}
		r.containers++
		switch r.format {
		case "resolvconf":
			r.err = kube.WriteResolvConf(&b, []*kube.Container{c})
		case "hosts":
			r.err = kube.WriteHosts(&b, []*kube.Container{c})
		case "text":
			if r.err = kube.WriteDerivation(&b, c); r.err == nil {
				r.err = kube.WriteChecks(&b, c, r.color)
			}
			writeRemedies(&b, c, fixes)
		}
	}
	switch r.format {
	case "json", "sarif", "html":
		for _, f := range fs {
			if f.Predict != nil && len(r.findings) >= maxDetailedFindings {
				f.Predict = nil
				r.dropped++
			}
			r.findings = append(r.findings, f)
		}
	}
	if r.err == nil {
		_, r.err = io.WriteString(r.out, b.String())
	}
}

// writePodTail ends the text output: the assumptions, the notes and the
// counts.
func writePodTail(w io.Writer, r *podChecker, rep *report.Report) error {
	var b strings.Builder
	if len(rep.Assumptions) > 0 {
		b.WriteString("\nassumptions:\n")
		for _, a := range rep.Assumptions {
			fmt.Fprintf(&b, "  %s\n", a)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "\n%d container(s): %d critical, %d warning, %d info\n", r.containers, r.counts[report.Critical], r.counts[report.Warning], r.counts[report.Info])
	_, err := io.WriteString(w, b.String())
	return err
}

// readManifests reads every -f argument: files, directories of manifests,
// or "-" for stdin.
func (a *app) readManifests(files []string, yield func(*kube.Workload)) (*kube.Decoded, error) {
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
			add(kube.DecodeEach("<stdin>", data, yield))
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
			add(kube.DecodeEach(p, data, yield))
		}
	}
	return all, nil
}
