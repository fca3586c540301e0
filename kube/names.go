package kube

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MaxNamesPerContainer caps the names taken from one container's env.
const MaxNamesPerContainer = 8

// Name is a host name to check and where it came from.
type Name struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

var (
	dnsName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)
	// hostVar matches variable names whose value is a host (or host:port).
	hostVar = regexp.MustCompile(`(?i)(_|^)(HOST|HOSTNAME|HOSTS|ADDR|ADDRESS|SERVER|SERVERS|ENDPOINT|ENDPOINTS|URL|URI|DSN|BROKERS?)$`)
	// hostPort is host:port with a numeric port.
	hostPort = regexp.MustCompile(`^([A-Za-z0-9.-]+):(\d{1,5})$`)
)

// NamesFromEnv finds the Service-style host names a container's env points
// at: hosts of URLs (http://my-svc:8080/x), host:port values (redis:6379),
// and values of variables named *_HOST, *_ADDR, *_SERVER, *_URL, ... (the
// kubelet's own *_SERVICE_HOST variables hold IPs and are skipped as
// literals). Values taken from ConfigMaps and Secrets are not visible here.
func NamesFromEnv(c *corev1.Container) []Name {
	var out []Name
	seen := map[string]bool{}
	add := func(host, src string) {
		host = strings.TrimSuffix(strings.ToLower(host), ".")
		if host == "" || seen[host] || len(out) >= MaxNamesPerContainer {
			return
		}
		if net.ParseIP(host) != nil || !dnsName.MatchString(host) || !hasLetter(host) {
			return
		}
		seen[host] = true
		out = append(out, Name{Name: host, Source: src})
	}
	for _, e := range c.Env {
		v := strings.TrimSpace(e.Value)
		if v == "" || strings.Contains(v, "$(") {
			continue
		}
		src := "env " + e.Name
		for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
			switch {
			case strings.Contains(part, "://"):
				if u, err := url.Parse(part); err == nil && u.Host != "" {
					add(u.Hostname(), src)
				}
			case hostPort.MatchString(part):
				add(hostPort.FindStringSubmatch(part)[1], src)
			case hostVar.MatchString(e.Name):
				add(part, src)
			}
		}
	}
	return out
}

func hasLetter(s string) bool {
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return true
		}
	}
	return false
}
