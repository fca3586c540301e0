package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestOwnerOf(t *testing.T) {
	t.Parallel()
	tru := true
	for _, tc := range []struct {
		pod        corev1.Pod
		kind, name string
	}{
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f-abcde", Labels: map[string]string{"pod-template-hash": "5d8f"}, OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-5d8f", Controller: &tru}}}}, "Deployment", "web"},
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "rs-x", OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &tru}}}}, "ReplicaSet", "rs"},
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "r-29012345-q", OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "r-29012345", Controller: &tru}}}}, "CronJob", "r"},
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "once-q", OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "once", Controller: &tru}}}}, "Job", "once"},
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "etcd-cp", OwnerReferences: []metav1.OwnerReference{{Kind: "Node", Name: "cp", Controller: &tru}}}}, "StaticPod", "etcd-cp"},
		{corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}, "Pod", "bare"},
	} {
		if k, n := OwnerOf(&tc.pod); k != tc.kind || n != tc.name {
			t.Errorf("%s: %s %s, want %s %s", tc.pod.Name, k, n, tc.kind, tc.name)
		}
	}
}
