// Package kube predicts what Kubernetes puts in a container's resolver
// files and what that costs: the effective /etc/resolv.conf and /etc/hosts
// the kubelet gives each container (dnsPolicy, the hostNetwork fall-back,
// dnsConfig merging, kubelet's limits per version), the loopback host
// kube-apiserver's own client dials (k8s.io/apiserver's choice per version)
// and whether its start-up survives silent nameservers, the grouping of a
// cluster's containers by image digest with an on-disk cache, and the
// node-level facts a DaemonSet collects.
//
// Everything here is written from the behaviour documented in the
// project's reference notes (libc-k8s-resolver.md, parts 0, A and B); every
// line of a derived file carries the reason it is there. Decoding uses the
// Kubernetes API types and client-go's scheme; the derivations are pure
// functions of their inputs, and nothing is invented: what is not known (a
// node's files, an image's programs) is carried as unknown and reported
// with the input that would tell. The part that talks to clusters and
// disks (listing, the image cache, reading a node) is package kubeio.
package kube
