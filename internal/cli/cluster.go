package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

// clusterFlags are the parsed flags of the cluster verb.
type clusterFlags struct {
	kubeconfig, kctx, namespace string
	all, verbose                bool
	podsFile, factsDir          string
	nodeResults                 string
	timeout                     time.Duration
	lookup                      lookupFlags
	report                      reportFlags
	node                        kubeNodeFlags
	images                      kubeImageFlags
	scan                        kubeScanFlags
}

func newClusterCmd(a *app) *cobra.Command {
	var f clusterFlags
	cmd := newVerb(verbSpec{
		use:     "cluster [flags]",
		summary: "check every pod of a cluster",
		long: `Check every pod of a cluster: list the pods (and nodes) with the
kubeconfig's credentials, group the containers by image digest so that each
image is inspected once (facts cached on disk by digest, across runs),
derive each container's resolv.conf and /etc/hosts as the kubelet does on
its node, and report per workload what one lookup of each name costs and
which lookups fail with silent nameservers; kube-apiserver pods get their
start-up predicted.

Needs RBAC get/list on pods and nodes (deploy/rbac.yaml).`,
		exit: exitReport,
		examples: `nsscope cluster -A --format sarif --fail-on warning --output cluster.sarif
nsscope cluster -A --node-facts-dir ./facts --context prod
nsscope cluster -A --node-results ./images --image-scan
kubectl get pods -A -o json > pods.json && nsscope cluster --pods-file pods.json`,
		run: func(cmd *cobra.Command, args []string) error { return runCluster(cmd, a, &f, args) },
	})
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default $KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	fl.StringVar(&f.kctx, "context", "", "the kubeconfig context `NAME`")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "one `NAMESPACE` (default: the context's)")
	fl.BoolVarP(&f.all, "all-namespaces", "A", false, "every namespace")
	fl.StringVar(&f.podsFile, "pods-file", "", "read 'kubectl get pods -A -o json|yaml' output from `FILE` (- for stdin) instead of the API (offline); nodes are then unknown")
	fl.StringVar(&f.factsDir, "node-facts-dir", "", "a `DIR`ectory of the JSON files 'nsscope node' wrote (one per node, e.g. from the DaemonSet in deploy/); other nodes get the defaults")
	fl.StringVar(&f.nodeResults, "node-results", "", "the JSON 'nsscope node --images --format json' wrote: a `FILE` (- for stdin: one node's), or a DIRectory of NODE.images.json files; images found there (by digest) are not read again")
	fl.DurationVar(&f.timeout, "request-timeout", 2*time.Minute, "give up on the API after this long (kubectl's --request-timeout; lab's --timeout kills a program)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "text: show the reasons and fixes")
	addGroup(cmd, "Lookup", func(fs *pflag.FlagSet) {
		f.lookup.register(fs, kube.DefaultDeadline, "localhost plus the Service-style names in each container's env")
	})
	addGroup(cmd, "Output", func(fs *pflag.FlagSet) { f.report.register(fs, reportFormats, true) })
	addGroup(cmd, programGroup, f.images.build.register)
	addGroup(cmd, kubeImageGroup, f.images.register)
	addGroup(cmd, kubeScanGroup, f.scan.register)
	addGroup(cmd, kubeNodeGroup, f.node.register)
	completeReportFlags(cmd, reportFormats)
	completeValues(cmd, "ipv6", "on", "off", "absent")
	return cmd
}

// runCluster implements `nsscope cluster`.
func runCluster(cmd *cobra.Command, a *app, f *clusterFlags, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}
	if err := f.check(cmd); err != nil {
		return err
	}
	set := flagsSet(cmd)
	f.node.remote = true
	defNode, assumed, err := f.node.node(a, set)
	if err != nil {
		return err
	}
	if f.factsDir != "" {
		for i, s := range assumed {
			assumed[i] = "nodes without --node-facts-dir: " + s
		}
	}
	imgSpec, apiProg, err := f.images.images(a)
	if err != nil {
		return err
	}
	for _, n := range f.images.build.notes {
		fmt.Fprintf(a.stdio.Err, "nsscope cluster: note: %s\n", n)
	}
	in := kube.ClusterInput{Default: defNode}
	if f.factsDir != "" {
		facts, errs := kubeio.ReadNodeFactsDir(f.factsDir)
		for _, e := range errs {
			fmt.Fprintf(a.stdio.Err, "nsscope cluster: --node-facts-dir: %v\n", e)
		}
		if len(facts) == 0 {
			return inputError(fmt.Errorf("--node-facts-dir %s: no usable node facts", f.factsDir))
		}
		in.NodeFacts = facts
	}
	if f.nodeResults == "-" {
		data, err := a.readArg("--node-results", "-", kubeio.MaxResultsFile)
		if err != nil {
			return err
		}
		doc, err := kubeio.ParseNodeImages(data)
		if err != nil {
			return inputError(fmt.Errorf("--node-results -: %w", err))
		}
		in.NodeResults = &kube.NodeResults{}
		in.NodeResults.Add(doc, "standard input")
	} else if f.nodeResults != "" {
		nr, errs := kubeio.ReadNodeResults(f.nodeResults)
		for _, e := range errs {
			fmt.Fprintf(a.stdio.Err, "nsscope cluster: --node-results: %v\n", e)
		}
		if nr.Len() == 0 {
			return inputError(fmt.Errorf("--node-results %s: no usable image results", f.nodeResults))
		}
		in.NodeResults = nr
	}
	var insp kubeio.Inspector
	if f.scan.enabled() {
		insp = f.scan.cachedInspector(a.env)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	target, err := f.pods(ctx, a, &in)
	if err != nil {
		return err
	}
	opts := kube.Options{Deadline: f.lookup.deadline, Predict: model.Predict, APIServerVersion: imgSpec.KubeVersion, APIServerProgram: apiProg}
	if len(f.lookup.names) > 0 {
		opts.Names = f.lookup.names
	}
	res, err := kubeio.Cluster(ctx, opts, imgSpec, insp, in)
	if err != nil {
		return err
	}
	rep := res.Report(target)
	rep.Version = toolVersion()
	rep.Assumptions = append(assumed, fmt.Sprintf("caller deadline %s per lookup; worst case: every nameserver silent", f.lookup.deadline))
	if len(in.NodeFacts) == 0 {
		rep.Assumptions = append(rep.Assumptions, "no --node-facts-dir: each node's resolver file and /etc/hosts are unknown (the Node objects give IPs and kubelet versions)")
	}
	format, _ := report.ParseFormat(f.report.format)
	out := a.output(f.report.output)
	if format == report.FormatText {
		fromNodes := ""
		if res.FromNodes > 0 {
			fromNodes = fmt.Sprintf(" (%d from node results)", res.FromNodes)
		}
		fmt.Fprintf(out, "# %d pod(s) in %d workload(s), %d image(s)%s\n", len(in.Pods), len(res.Workloads), len(res.Images), fromNodes)
	}
	return writeReport(out, rep, format, report.TextOptions{Verbose: f.verbose, Color: a.color(f.report.output)}, f.report.threshold())
}

// check refuses contradicting and idle flags.
func (f *clusterFlags) check(cmd *cobra.Command) error {
	for _, check := range []func() error{f.lookup.check, f.report.check, func() error { return f.scan.check(cmd) }} {
		if err := check(); err != nil {
			return err
		}
	}
	if f.all && f.namespace != "" {
		return usageErrorf("-A/--all-namespaces and -n/--namespace contradict each other")
	}
	if f.podsFile != "" {
		if c := changed(cmd, "kubeconfig", "context", "timeout"); len(c) > 0 {
			return usageErrorf("%s and --pods-file contradict each other: --pods-file does not use the API", strings.Join(c, ", "))
		}
	}
	if f.timeout <= 0 {
		return usageErrorf("--request-timeout %s: want a positive duration", f.timeout)
	}
	if f.nodeResults == "-" && f.podsFile == "-" {
		return usageErrorf("--node-results - and --pods-file - both want standard input: give one of them a file")
	}
	var fromStdin []string
	if f.kubeconfig == "-" {
		fromStdin = append(fromStdin, "--kubeconfig -")
	}
	if f.factsDir == "-" {
		fromStdin = append(fromStdin, "--node-facts-dir -")
	}
	if len(fromStdin) > 0 {
		return usageErrorf("%s: cannot be read from standard input; give a file or directory (--pods-file - reads pods from it)", strings.Join(fromStdin, " and "))
	}
	if f.factsDir != "" {
		if err := exclusive(cmd, "node-facts", "node-facts-dir", "--node-facts gives every node one file's facts; --node-facts-dir one file per node"); err != nil {
			return err
		}
		st, err := os.Stat(f.factsDir)
		if err != nil {
			return inputError(fmt.Errorf("--node-facts-dir: %w", err))
		}
		if !st.IsDir() {
			return usageErrorf("--node-facts-dir %s: not a directory (one node's file goes to --node-facts)", f.factsDir)
		}
	}
	return nil
}

// pods fills in.Pods (and in.Nodes) from --pods-file or the API, and
// names the target.
func (f *clusterFlags) pods(ctx context.Context, a *app, in *kube.ClusterInput) (string, error) {
	if f.podsFile != "" {
		dec, err := a.readManifests([]string{f.podsFile}, nil)
		if err != nil {
			return "", err
		}
		for _, e := range dec.Errors {
			fmt.Fprintf(a.stdio.Err, "nsscope cluster: %v\n", e)
		}
		for _, w := range dec.Workloads {
			if w.Kind != "Pod" {
				fmt.Fprintf(a.stdio.Err, "nsscope cluster: %s: %s %s is not a pod; --pods-file wants pods (use 'nsscope pod' for manifests)\n", w.Source, w.Kind, w.Name)
				continue
			}
			if f.namespace != "" && w.Namespace != f.namespace {
				continue
			}
			in.Pods = append(in.Pods, *w.Pod)
		}
		if len(dec.Errors) > 0 && len(in.Pods) == 0 {
			return "", inputError(fmt.Errorf("%s: no pod could be read", f.podsFile))
		}
		return f.podsFile, nil
	}
	cs, ns, name, err := clusterClient(f.kubeconfig, f.kctx)
	if err != nil {
		return "", inputError(err)
	}
	target := "cluster " + name
	namespace := ""
	if !f.all {
		namespace = f.namespace
		if namespace == "" {
			namespace = ns
		}
		target += ", namespace " + namespace
	}
	in.Pods, err = kubeio.ListPods(ctx, cs, namespace)
	if err != nil {
		return "", err
	}
	in.Nodes, err = kubeio.ListNodes(ctx, cs)
	if err != nil {
		fmt.Fprintf(a.stdio.Err, "nsscope cluster: %v (nodes unknown: the defaults apply)\n", err)
	}
	return target, nil
}

// clusterClient builds a clientset from the kubeconfig (or the in-cluster
// service account) and returns the context's namespace and a name for it.
func clusterClient(kubeconfig, kctx string) (kubernetes.Interface, string, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kctx})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.Timeout = time.Minute
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", "", fmt.Errorf("kubeconfig: %w", err)
	}
	name := cfg.Host
	if raw, err := cc.RawConfig(); err == nil {
		if kctx != "" {
			name = kctx
		} else if raw.CurrentContext != "" {
			name = raw.CurrentContext
		}
	}
	return cs, ns, name, nil
}
