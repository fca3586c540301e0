package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/kube/kubeio"
	"github.com/nsscope/nsscope/model"
	"github.com/nsscope/nsscope/report"
)

const clusterUsage = `Usage: nsscope cluster [flags]

Check every pod of a cluster: list the pods (and nodes) with the
kubeconfig's credentials, group the containers by image digest so that each
image is inspected once (facts cached on disk by digest, across runs),
derive each container's resolv.conf and /etc/hosts as the kubelet does on
its node, and report per workload what one lookup of each name costs and
which lookups fail with silent nameservers; kube-apiserver pods get their
start-up predicted.

Flags:
  --kubeconfig FILE      kubeconfig (default $KUBECONFIG, ~/.kube/config, or the
                         in-cluster service account)
  --context NAME         the kubeconfig context
  -n, --namespace NS     one namespace (default: the context's)
  -A, --all-namespaces   every namespace
  --pods-file FILE       read 'kubectl get pods -A -o json|yaml' output instead of
                         the API (offline); nodes are then unknown
  --node-facts DIR       the JSON files 'nsscope node' wrote (one per node, e.g.
                         from the DaemonSet in deploy/); other nodes get the defaults
  --cache DIR            image facts cache (default $XDG_CACHE_HOME/nsscope/images)
  --no-cache             do not read or write the cache
  --name NAME            a host name to check (repeatable; default localhost plus
                         the Service-style names in each container's env)
  --deadline D           the caller's deadline for one lookup (default 30s)
  --format F             text, json, sarif or html (default text)
  -v                     text: show the reasons and fixes
  --fail-on S            exit 1 when a finding is at or above S (default critical)
  --timeout D            give up on the API after D (default 2m)

` + kubeImageUsage + `
` + kubeScanUsage + `
` + kubeNodeUsage + `
Needs RBAC get/list on pods and nodes (deploy/rbac.yaml).

Examples:
  nsscope cluster -A --format sarif --fail-on warning > cluster.sarif
  nsscope cluster -A --node-facts ./facts --context prod
  kubectl get pods -A -o json > pods.json && nsscope cluster --pods-file pods.json
`

// runCluster implements `nsscope cluster`.
func runCluster(ctx context.Context, args []string, stdio Stdio, env []string) error {
	var (
		kubeconfig, kctx, namespace string
		all, noCache, verbose       bool
		podsFile, factsDir, cache   string
		names                       nameList
		deadline, timeout           time.Duration
		format, failOn              string
		nodeFlags                   kubeNodeFlags
		imageFlags                  kubeImageFlags
		scanFlags                   kubeScanFlags
	)
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&kctx, "context", "", "")
	fs.StringVar(&namespace, "namespace", "", "")
	fs.StringVar(&namespace, "n", "", "")
	fs.BoolVar(&all, "all-namespaces", false, "")
	fs.BoolVar(&all, "A", false, "")
	fs.StringVar(&podsFile, "pods-file", "", "")
	fs.StringVar(&cache, "cache", "", "")
	fs.BoolVar(&noCache, "no-cache", false, "")
	fs.Var(&names, "name", "")
	fs.DurationVar(&deadline, "deadline", kube.DefaultDeadline, "")
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "")
	fs.StringVar(&format, "format", "text", "")
	fs.BoolVar(&verbose, "v", false, "")
	fs.StringVar(&failOn, "fail-on", report.Critical.String(), "")
	nodeFlags.register(fs)
	imageFlags.register(fs)
	scanFlags.register(fs, false)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdio.Err, clusterUsage)
			return nil
		}
		return usageErrorf("%v (run 'nsscope cluster -h')", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q (run 'nsscope cluster -h')", fs.Arg(0))
	}
	set := flagsSet(fs)
	if all && namespace != "" {
		return usageErrorf("-A/--all-namespaces and -n/--namespace contradict each other")
	}
	if podsFile != "" {
		for _, n := range []string{"kubeconfig", "context"} {
			if set[n] {
				return usageErrorf("--%s and --pods-file contradict each other: --pods-file does not use the API", n)
			}
		}
	}
	outFormat, err := report.ParseFormat(format)
	if err != nil {
		return usageErrorf("--format: %v", err)
	}
	th, err := report.ParseSeverity(failOn)
	if err != nil {
		return usageErrorf("--fail-on: %v", err)
	}
	if deadline <= 0 || timeout <= 0 {
		return usageErrorf("--deadline and --timeout want positive durations")
	}
	factsDir, nodeFlags.nodeFacts = nodeFlags.nodeFacts, ""
	nodeFlags.remote = true
	defNode, assumed, err := nodeFlags.node(set)
	if err != nil {
		return err
	}
	if factsDir != "" {
		for i, a := range assumed {
			assumed[i] = "nodes without --node-facts: " + a
		}
	}
	imgSpec, apiProg, err := imageFlags.images()
	if err != nil {
		return err
	}
	in := kube.ClusterInput{Default: defNode}
	if factsDir != "" {
		facts, errs := readNodeFacts(factsDir)
		for _, e := range errs {
			fmt.Fprintf(stdio.Err, "nsscope cluster: --node-facts: %v\n", e)
		}
		if len(facts) == 0 {
			return inputError(fmt.Errorf("--node-facts %s: no usable node facts", factsDir))
		}
		in.NodeFacts = facts
	}
	var insp kubeio.Inspector
	if scanFlags.enabled() {
		insp = scanFlags.inspector()
		if !noCache {
			if cache == "" {
				cache = defaultCacheDir(env)
			}
			insp = kubeio.CachedInspector(kubeio.Cache{Dir: cache}, insp)
		}
	}

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := podsFile
	if podsFile != "" {
		dec, err := readManifests([]string{podsFile}, stdio.In)
		if err != nil {
			return err
		}
		for _, e := range dec.Errors {
			fmt.Fprintf(stdio.Err, "nsscope cluster: %v\n", e)
		}
		for _, w := range dec.Workloads {
			if w.Kind != "Pod" {
				fmt.Fprintf(stdio.Err, "nsscope cluster: %s: %s %s is not a pod; --pods-file wants pods (use 'nsscope pod' for manifests)\n", w.Source, w.Kind, w.Name)
				continue
			}
			if namespace != "" && w.Namespace != namespace {
				continue
			}
			in.Pods = append(in.Pods, *w.Pod)
		}
		if len(dec.Errors) > 0 && len(in.Pods) == 0 {
			return inputError(fmt.Errorf("%s: no pod could be read", podsFile))
		}
	} else {
		cs, ns, name, err := clusterClient(kubeconfig, kctx)
		if err != nil {
			return inputError(err)
		}
		target = "cluster " + name
		if !all {
			if namespace == "" {
				namespace = ns
			}
			target += ", namespace " + namespace
		} else {
			namespace = ""
		}
		in.Pods, err = kubeio.ListPods(cctx, cs, namespace)
		if err != nil {
			return err
		}
		in.Nodes, err = kubeio.ListNodes(cctx, cs)
		if err != nil {
			fmt.Fprintf(stdio.Err, "nsscope cluster: %v (nodes unknown: the defaults apply)\n", err)
		}
	}
	opts := kube.Options{Deadline: deadline, Predict: model.Predict, APIServerVersion: imgSpec.KubeVersion, APIServerProgram: apiProg}
	if len(names) > 0 {
		opts.Names = names
	}
	res, err := kubeio.Cluster(cctx, opts, imgSpec, insp, in)
	if err != nil {
		return err
	}
	rep := res.Report(target)
	rep.Version = toolVersion()
	rep.Assumptions = append(assumed, fmt.Sprintf("caller deadline %s per lookup; worst case: every nameserver silent", deadline))
	if len(in.NodeFacts) == 0 {
		rep.Assumptions = append(rep.Assumptions, "no --node-facts: each node's resolver file and /etc/hosts are unknown (the Node objects give IPs and kubelet versions)")
	}
	if outFormat == report.FormatText {
		fmt.Fprintf(stdio.Out, "# %d pod(s) in %d workload(s), %d image(s)\n", len(in.Pods), len(res.Workloads), len(res.Images))
	}
	return writeReport(stdio.Out, rep, outFormat, report.TextOptions{Verbose: verbose}, th)
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

// readNodeFacts reads a directory of node facts, or one file.
func readNodeFacts(p string) (map[string]*kube.NodeFacts, []error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, []error{err}
	}
	if st.IsDir() {
		return kubeio.ReadNodeFactsDir(p)
	}
	data, err := readLimited(p, 64<<20)
	if err != nil {
		return nil, []error{err}
	}
	nf, err := kube.ParseNodeFacts(data)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", p, err)}
	}
	return map[string]*kube.NodeFacts{nf.Node: nf}, nil
}

// defaultCacheDir is $XDG_CACHE_HOME/nsscope/images, else
// $HOME/.cache/nsscope/images, else a directory under the temp dir.
func defaultCacheDir(env []string) string {
	if d := nodeEnv(env, "XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "nsscope", "images")
	}
	if h := nodeEnv(env, "HOME"); h != "" {
		return filepath.Join(h, ".cache", "nsscope", "images")
	}
	return filepath.Join(os.TempDir(), "nsscope-images")
}
