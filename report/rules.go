package report

// Rule IDs of every finding nsscope produces. One table, so that a rule
// means the same whichever verb (scan, dockerfile, pod, cluster, apiserver)
// made the finding.
const (
	// Lookup rules: how one name lookup of one program fares.
	RuleDNSFirstFails = "NSS001" // critical: a hosts name goes to DNS first and fails
	RuleDNSFirst      = "NSS002" // warning: a hosts name goes to DNS first, slowly
	RuleUnknown       = "NSS003" // warning: the outcome depends on an unknown
	RuleHostsFirst    = "NSS004" // info: /etc/hosts answers without DNS
	RuleDNSOnly       = "NSS005" // info: only DNS can answer
	RuleCannotStart   = "NSS006" // critical: the program cannot start in its image

	// Kubernetes rules: what the kubelet and kube-apiserver do.
	RuleAPIServerLoopback = "NSS101" // kube-apiserver's loopback client and its start-up
	RulePodRejected       = "NSS102" // the kubelet cannot build the pod's DNS config
	RuleDNSConfigForming  = "NSS103" // the kubelet cut nameservers or search paths
)

// LookupRules describes the lookup rules (NSS001-NSS005), the ones every
// producer of findings uses.
func LookupRules() []Rule {
	return []Rule{
		{ID: RuleDNSFirstFails, Name: "HostsNameViaDNSFails",
			Short: "A name that /etc/hosts answers goes to DNS first, and with silent nameservers the lookup reaches the deadline or fails before /etc/hosts is read.",
			Help:  "Make /etc/hosts come first: add `hosts: files dns` to /etc/nsswitch.conf, rebuild Go programs with Go 1.16 or later, or dial the address literal."},
		{ID: RuleDNSFirst, Name: "HostsNameViaDNSFirst",
			Short: "A name that /etc/hosts answers goes to DNS first; with silent nameservers the lookup is slow but still ends within the deadline.",
			Help:  "Make /etc/hosts come first (`hosts: files dns` in /etc/nsswitch.conf) so the lookup costs no DNS at all."},
		{ID: RuleUnknown, Name: "ResolverOutcomeUnknown",
			Short: "The outcome depends on something the binary does not tell, or that the model does not cover.",
			Help:  "Check the listed variants; give the missing fact (e.g. rebuild with recorded build settings) or apply the fix of the worst variant."},
		{ID: RuleHostsFirst, Name: "HostsFirst",
			Short: "/etc/hosts answers the name without any DNS query."},
		{ID: RuleDNSOnly, Name: "NameNeedsDNS",
			Short: "The name is not in /etc/hosts: only DNS can answer it."},
		{ID: RuleCannotStart, Name: "ProgramCannotStart",
			Short: "The program cannot start in its image: it is linked against a C library (or needs a loader or symbol version) that the image does not have.",
			Help:  "Build it without cgo (CGO_ENABLED=0), or in a stage with the image's C library (golang:VERSION-alpine for a musl image), or run it on a base image with its C library."},
	}
}

// KubernetesRules describes the lookup rules and the Kubernetes ones
// (NSS101-NSS103): what pod, cluster and apiserver reports use.
func KubernetesRules() []Rule {
	return append(LookupRules(),
		Rule{ID: RuleAPIServerLoopback, Name: "APIServerLoopbackLookup",
			Short: "kube-apiserver's own loopback client dials \"localhost\" and the lookup outlasts client-go's 30 s dial timeout: the apiserver dies at start with \"Unable to perform initial IP allocation check\".",
			Help:  "Put ::1 back on lo (net.ipv6.conf.all.disable_ipv6=0), add `hosts: files dns` to the image's /etc/nsswitch.conf, use a kube-apiserver built with Go 1.16+ (Kubernetes 1.21+), bind to a concrete address, or keep at most 2 nameservers in the node's resolv.conf."},
		Rule{ID: RulePodRejected, Name: "PodDNSConfigRejected",
			Short: "The kubelet cannot read or parse its --resolv-conf file, so it does not start the pod."},
		Rule{ID: RuleDNSConfigForming, Name: "DNSConfigForming",
			Short: "The kubelet dropped nameservers or search paths to fit its limits (event DNSConfigForming or MissingClusterDNS)."},
	)
}
