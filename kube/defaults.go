package kube

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The cluster defaults nsscope assumes when it is not told otherwise,
// named once for every verb (pod, cluster, apiserver, scan --runtime
// kubernetes). They are kubeadm's and kind's defaults; a report that uses
// one says so in its assumptions.
const (
	// DefaultNamespace is where a pod without metadata.namespace lands.
	DefaultNamespace = "default"
	// DefaultClusterDomain is kubelet's usual --cluster-domain.
	DefaultClusterDomain = "cluster.local"
	// DefaultClusterDNS is the kube-dns Service address of kubeadm's
	// default service CIDR (10.96.0.0/12), the kubelet's --cluster-dns.
	DefaultClusterDNS = "10.96.0.10"
	// AssumedPodIP stands for the pod IP of a pod that has none yet (a
	// manifest): the kubelet only writes /etc/hosts once the IP is known.
	AssumedPodIP = "10.244.0.10"
	// AssumedPodName names a pod that is only assumed (scan --runtime
	// kubernetes): it fills the pod's own line of /etc/hosts and decides
	// nothing about the names checked unless a name is the pod's own.
	AssumedPodName = "pod"
	// DefaultNodeName names a node that is only assumed (its facts not
	// given): the node an assumed or manifest pod runs on.
	DefaultNodeName = "node"
	// DefaultDeadline is the caller deadline assumed for lookups: client-go's
	// dial timeout, the most common one in a cluster.
	DefaultDeadline = 30 * time.Second
)

// AssumedPod is the pod a container image is assumed to run in when only
// the image is known: namespace ns (empty: DefaultNamespace), dnsPolicy
// ClusterFirst (the API server's default), one container "main", and the
// node's network when hostNetwork is set.
func AssumedPod(ns string, hostNetwork bool) *corev1.Pod {
	if ns == "" {
		ns = DefaultNamespace
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: AssumedPodName, Namespace: ns},
		Spec: corev1.PodSpec{
			DNSPolicy:   corev1.DNSClusterFirst,
			HostNetwork: hostNetwork,
			Containers:  []corev1.Container{{Name: "main"}},
		},
	}
}
