package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

const podUsage = `Usage: nsscope pod [flags] -f FILE|DIR|- [-f ...]

For each container of the pods in FILE, compute the /etc/resolv.conf and
/etc/hosts the kubelet gives it (dnsPolicy, the hostNetwork fall-back,
dnsConfig merging, the kubelet's limits), with the reason for every line,
and what one lookup of each name costs: the queries it sends and the worst
case with every nameserver silent, for the program in the container. A
kube-apiserver container also gets its loopback client and start-up
predicted.

FILE holds a Pod, a Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job or CronJob, static pod manifests, several YAML
documents, or 'kubectl get pods -A -o json|yaml' output. A DIR is read as a
static pod manifest directory (*.yaml, *.yml, *.json).

Flags:
  -f FILE|DIR|-           the manifests (repeatable; also as arguments)
  --format F              text (default), resolvconf (each container's file preceded by
                          "# <namespace>/<pod>/<container>"), hosts, json, sarif, html
  --name NAME             a host name to check (repeatable; default localhost plus the
                          Service-style names in each container's env)
  --deadline D            the caller's deadline for one lookup (default 30s)
  --fail-on S             exit 1 when a finding is at or above S (default critical)

` + kubeImageUsage + `
` + kubeScanUsage + `  --cache DIR             image facts cache (default $XDG_CACHE_HOME/nsscope/images)
  --no-cache              do not read or write the cache

` + kubeNodeUsage + `
Exit codes: 0 nothing at or above --fail-on, 1 findings, 2 usage error or
bad input (objects that cannot be read are named on stderr; the others are
still reported), 3 internal error.

Examples:
  nsscope pod -f deploy.yaml --format resolvconf
  kubectl get pods -A -o json | nsscope pod -f - --fail-on warning
  nsscope pod -f /etc/kubernetes/manifests --node-resolv-conf /etc/resolv.conf --ipv6 off
`

// fileList collects a repeatable -f.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error {
	if v == "" {
		return errors.New("empty file name")
	}
	*f = append(*f, v)
	return nil
}

// podFlags are the parsed flags of the pod verb.
type podFlags struct {
	files    fileList
	format   string
	names    nameList
	deadline time.Duration
	failOn   string
	node     kubeNodeFlags
	image    kubeImageFlags
	scan     kubeScanFlags
	set      map[string]bool
}

func parsePodFlags(args []string, stderr io.Writer) (*podFlags, error) {
	var f podFlags
	fs := flag.NewFlagSet("pod", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&f.files, "f", "")
	fs.StringVar(&f.format, "format", "text", "")
	fs.Var(&f.names, "name", "")
	fs.DurationVar(&f.deadline, "deadline", kube.DefaultDeadline, "")
	fs.StringVar(&f.failOn, "fail-on", report.Critical.String(), "")
	f.node.register(fs)
	f.image.register(fs)
	f.scan.register(fs, true)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, podUsage)
			return nil, errHelp
		}
		return nil, usageErrorf("%v (run 'nsscope pod -h')", err)
	}
	f.files = append(f.files, fs.Args()...)
	if len(f.files) == 0 {
		return nil, usageErrorf("no manifest: give -f FILE, a directory or - for stdin (run 'nsscope pod -h')")
	}
	switch f.format {
	case "text", "resolvconf", "hosts", "json", "sarif", "html":
	default:
		return nil, usageErrorf("--format %q: want text, resolvconf, hosts, json, sarif or html", f.format)
	}
	if f.deadline <= 0 {
		return nil, usageErrorf("--deadline %s: want a positive duration", f.deadline)
	}
	if _, err := report.ParseSeverity(f.failOn); err != nil {
		return nil, usageErrorf("--fail-on: %v", err)
	}
	f.set = flagsSet(fs)
	return &f, nil
}

// runPod implements `nsscope pod`.
func runPod(ctx context.Context, args []string, stdio Stdio, env []string) error {
	f, err := parsePodFlags(args, stdio.Err)
	if err != nil {
		return err
	}
	node, assumed, err := f.node.node(f.set)
	if err != nil {
		return err
	}
	imgSpec, apiProg, err := f.image.images()
	if err != nil {
		return err
	}
	dec, err := readManifests(f.files, stdio.In)
	if err != nil {
		return err
	}
	for _, e := range dec.Errors {
		fmt.Fprintf(stdio.Err, "nsscope pod: %v\n", e)
	}
	var scanNotes []string
	imgFn := imgSpec.Images(nil, nil)
	if f.scan.enabled() {
		insp := f.scan.inspector()
		if !f.scan.noCache {
			dir := f.scan.cache
			if dir == "" {
				dir = defaultCacheDir(env)
			}
			insp = kubeio.CachedInspector(kubeio.Cache{Dir: dir}, insp)
		}
		if imgFn, scanNotes, err = kubeio.WorkloadImages(ctx, insp, dec.Workloads, imgSpec); err != nil {
			return err
		}
	}
	opts := kube.Options{Deadline: f.deadline, Predict: model.Predict, Image: imgFn, APIServerVersion: imgSpec.KubeVersion, APIServerProgram: apiProg}
	if len(f.names) > 0 {
		opts.Names = f.names
	}
	a := kube.NewAnalyzer(opts)
	var cs []*kube.Container
	fixes := map[string][]kube.StartupFix{}
	for _, w := range dec.Workloads {
		wcs := a.Workload(w, node)
		cs = append(cs, wcs...)
		for _, c := range wcs {
			if c.Startup != nil && c.Startup.Fails {
				for k, v := range a.APIServerFixes(w, node) {
					fixes[k] = v
				}
				break
			}
		}
	}
	target := strings.Join(f.files, ", ")
	findings := kube.Findings(cs)
	kube.AttachFixes(findings, fixes)
	rep := &report.Report{Tool: "nsscope", Version: toolVersion(), Target: target, Assumptions: assumed, Rules: report.KubernetesRules(), Findings: findings}
	rep.Assumptions = append(rep.Assumptions, fmt.Sprintf("caller deadline %s per lookup; worst case: every nameserver silent", f.deadline))
	rep.Notes = append(rep.Notes, dec.Skipped...)
	rep.Notes = append(rep.Notes, scanNotes...)
	for _, e := range dec.Errors {
		rep.Notes = append(rep.Notes, "not read: "+e.Error())
	}
	switch f.format {
	case "resolvconf":
		err = kube.WriteResolvConf(stdio.Out, cs)
	case "hosts":
		err = kube.WriteHosts(stdio.Out, cs)
	case "text":
		err = writePodText(stdio.Out, cs, rep, fixes)
	default:
		format, _ := report.ParseFormat(f.format)
		err = report.Write(stdio.Out, rep, format, report.TextOptions{})
	}
	if err != nil {
		return err
	}
	if len(dec.Errors) > 0 {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%d object(s) could not be read (named above); the rest is reported", len(dec.Errors))}
	}
	if len(dec.Workloads) == 0 {
		return inputError(fmt.Errorf("no pods or workloads found in %s", target))
	}
	th, _ := report.ParseSeverity(f.failOn)
	if rep.Fails(th) {
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
func readManifests(files []string, stdin io.Reader) (*kube.Decoded, error) {
	all := &kube.Decoded{}
	add := func(d *kube.Decoded) {
		all.Workloads = append(all.Workloads, d.Workloads...)
		all.Errors = append(all.Errors, d.Errors...)
		all.Skipped = append(all.Skipped, d.Skipped...)
	}
	for _, name := range files {
		if name == "-" {
			if stdin == nil {
				return nil, inputError(errors.New("-f -: no standard input"))
			}
			data, err := io.ReadAll(io.LimitReader(stdin, kube.MaxManifestBytes+1))
			if err != nil {
				return nil, inputError(fmt.Errorf("reading stdin: %w", err))
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
