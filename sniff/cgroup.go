package sniff

import (
	"regexp"
	"strings"
)

// The cgroup path says where a process runs, by the conventions of the
// container runtimes and of kubelet's cgroup drivers:
//
//	systemd driver: /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<UID with _>.slice/cri-containerd-<ID>.scope
//	cgroupfs driver: /kubepods/burstable/pod<UID>/<ID>
//	docker:          /docker/<ID>, /system.slice/docker-<ID>.scope
//	podman, cri-o:   libpod-<ID>.scope, crio-<ID>.scope
var (
	podUIDRe     = regexp.MustCompile(`pod([0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})`)
	containerIDs = regexp.MustCompile(`(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$`)
)

// Placement is what a process's cgroup path says about where it runs.
type Placement struct {
	// Container is the container ID (64 hex digits), "" for none.
	Container string `json:"container,omitempty"`
	// Pod is the Kubernetes pod UID, "" for none.
	Pod string `json:"pod_uid,omitempty"`
	// Cgroup is the path the two were read from.
	Cgroup string `json:"cgroup,omitempty"`
}

// ParseCgroup reads /proc/PID/cgroup (v1 or v2 lines
// "hierarchy:controllers:path") and returns the placement its paths show:
// the unified (v2) line first, else the first v1 line that names one.
func ParseCgroup(data string) Placement {
	var best Placement
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		p := placementOf(parts[2])
		if parts[0] == "0" && parts[1] == "" {
			if p.Container != "" || p.Pod != "" || best.Cgroup == "" {
				return p
			}
			continue
		}
		if best.Container == "" && best.Pod == "" && (p.Container != "" || p.Pod != "") {
			best = p
		}
	}
	return best
}

func placementOf(path string) Placement {
	p := Placement{Cgroup: path}
	if m := podUIDRe.FindStringSubmatch(path); m != nil {
		p.Pod = strings.ReplaceAll(m[1], "_", "-")
	}
	if m := containerIDs.FindStringSubmatch(path); m != nil {
		p.Container = m[1]
	}
	return p
}
