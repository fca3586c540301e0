// Package deploy holds the Kubernetes manifests that run nsscope in a
// cluster (rbac.yaml, job.yaml, cronjob.yaml, daemonset.yaml); its test
// checks that they parse as the API types and keep least privilege.
package deploy
