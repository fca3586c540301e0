// Package realk8s runs the real kube-apiserver, with etcd, inside nsscope's
// lab, and records its start-up: when /readyz first answers ok, or when
// the process exits and with which fatal line, and every DNS message the
// lab's fake nameservers receive. It is the ground truth the start-up
// model (kube.PredictStartup) is tested against.
//
// The apiserver is built from the Go module proxy by .ci/kube-apiserver.sh
// and cached by version outside the repository; etcd is Debian's
// etcd-server (/usr/bin/etcd).
package realk8s

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"debug/buildinfo"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nsscope/nsscope/inspect/target"
	"github.com/nsscope/nsscope/kube"
	"github.com/nsscope/nsscope/lab"
	"github.com/nsscope/nsscope/model"
)

// CacheDir is where .ci/kube-apiserver.sh leaves the binaries:
// $NSSCOPE_TEST_CACHE, else ~/.cache/nsscope-test.
func CacheDir() string {
	if d := os.Getenv("NSSCOPE_TEST_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "nsscope-test")
	}
	return filepath.Join(home, ".cache", "nsscope-test")
}

// ErrMissing is returned (wrapped) when a component is not there.
var ErrMissing = errors.New("missing")

// Binary returns the cached kube-apiserver of version ("1.37.2").
func Binary(version string) (string, error) {
	p := filepath.Join(CacheDir(), "kube-apiserver-v"+strings.TrimPrefix(version, "v"))
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: no kube-apiserver %s at %s: build it with `bash .ci/kube-apiserver.sh %s`", ErrMissing, version, p, strings.TrimPrefix(version, "v"))
	}
	return p, nil
}

// Etcd is Debian's etcd-server binary.
const Etcd = "/usr/bin/etcd"

// EtcdBinary returns the etcd to run.
func EtcdBinary() (string, error) {
	if _, err := os.Stat(Etcd); err != nil {
		return "", fmt.Errorf("%w: no etcd at %s: apt-get install --no-install-recommends etcd-server", ErrMissing, Etcd)
	}
	return Etcd, nil
}

// Config is the network and files of one run.
type Config struct {
	Name string
	// Nameservers silent fake servers (1 to 3).
	Nameservers int
	// IPv6 leaves ::1 on lo; off has the lab set disable_ipv6 in its
	// network namespace before the apiserver starts.
	IPv6 bool
	// NSSwitch is /etc/nsswitch.conf; Search and Options go into the
	// generated resolv.conf. /etc/hosts has localhost for both families.
	NSSwitch        string
	Search, Options string
}

// Hosts is the /etc/hosts every run sees.
const Hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost\n"

// Run is what one start-up showed.
type Run struct {
	Config Config
	// Outcome is kube.OutcomeReady or kube.OutcomeExits ("timeout" when
	// neither happened in time); Time is when, from the apiserver's start.
	Outcome string
	Time    time.Duration
	// Queries are the DNS messages, offsets from the apiserver's start.
	Queries []lab.Query
	// Fatal is the fatal line's message (klog header removed) and
	// FirstError the first error line about the loopback host.
	Fatal, FirstError string
	// Admission and Serving are when the apiserver logged its admission
	// chain (its first loopback request follows) and "Serving securely"
	// (its post-start hooks start): how fast this machine is.
	Admission, Serving time.Duration
	// Created is when the priority-class hook logged its first created
	// class: its first loopback request has just succeeded.
	Created time.Duration
	// FatalAt is when the fatal line came; Late how long after it the
	// process was seen gone, and AfterExit the DNS messages sent in
	// between (not in Queries).
	FatalAt, Late time.Duration
	AfterExit     int
	// Addrs are lo's addresses as the apiserver saw them.
	Addrs []kube.IfAddr
	// Lab is the whole lab result.
	Lab *lab.Result
}

// markers the wrapper prints.
const (
	markStart = "NSSCOPE-APISERVER-START"
	markReady = "NSSCOPE-APISERVER-READY"
	markExit  = "NSSCOPE-APISERVER-EXIT"
	markAddrs = "NSSCOPE-IPJSON "
	// markClient ends the output of Options.Client.
	markClient = "NSSCOPE-CLIENT-EXIT"
)

// Server is the apiserver's URL inside the lab, and AdminTokenFile the
// file (in the run's directory, which Options.Client gets as its last
// argument) holding a bearer token of a system:masters user.
const (
	Server         = "https://127.0.0.1:6443"
	AdminTokenFile = "admin-token"
)

// wrapper runs inside the lab, as root in its namespaces: it starts etcd on loopback with its data in the run's
// directory, then the apiserver, and polls /readyz until it answers ok or
// the apiserver exits.
const wrapper = `#!/bin/sh
D=$1; BIN=$2; ETCD=$3; GRACE=$4; shift 4
echo "` + markAddrs + `$(ip -j addr show)"
"$ETCD" --name lab --data-dir "$D/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --initial-advertise-peer-urls http://127.0.0.1:2380 --initial-cluster lab=http://127.0.0.1:2380 \
  --log-level error --logger zap >"$D/etcd.log" 2>&1 &
E=$!
i=0
until curl -s --max-time 1 http://127.0.0.1:2379/health | grep -q true; do
  i=$((i+1)); [ $i -gt 300 ] && { echo "NSSCOPE-ETCD-FAILED"; cat "$D/etcd.log"; kill $E; exit 3; }
  sleep 0.1
done
echo "` + markStart + `"
# Only klog lines go to the lab's output: a fatal error's goroutine dump
# (older klog) would push the markers past the lab's line limit.
mkfifo "$D/out"
grep --line-buffered -E '^[IWEF][0-9]{4} ' < "$D/out" &
G=$!
"$BIN" --etcd-servers=http://127.0.0.1:2379 --bind-address=0.0.0.0 --secure-port=6443 \
  --advertise-address=10.250.0.1 --cert-dir="$D/certs" \
  --service-account-key-file="$D/sa.pub" --service-account-signing-key-file="$D/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=RBAC --anonymous-auth=true \
  --token-auth-file="$D/tokens.csv" >"$D/out" 2>&1 &
A=$!
while kill -0 $A 2>/dev/null; do
  if [ "$(curl -sk --max-time 1 https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ]; then
    echo "` + markReady + `"
    if [ $# -gt 0 ]; then "$@" "$D"; echo "` + markClient + ` $?"; fi
    sleep "$GRACE"; kill $A $E; exit 0
  fi
  sleep 0.2
done
wait $A; rc=$?
wait $G
echo "` + markExit + ` $rc"
kill $E
exit 0
`

// Options tune a run.
type Options struct {
	// Runner starts the lab (its init is this binary re-executed).
	Runner lab.Runner
	// Grace is how long to keep watching after /readyz answers (for late
	// queries); Timeout bounds the whole run.
	Grace, Timeout time.Duration
	// TempDir holds the run's directory ("" = os.TempDir).
	TempDir string
	// Client, if set, is a program run inside the lab once /readyz
	// answers ok, with the run's directory as its last argument; its
	// output is part of Run.Lab.Output.
	Client []string
}

// Start runs the apiserver bin with etcd in the lab configured by c.
func Start(ctx context.Context, bin, etcd string, c Config, o Options) (*Run, error) {
	if o.Grace == 0 {
		o.Grace = 3 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 150 * time.Second
	}
	// The run's directory holds keys and a token: locked while it runs, and
	// removed by the next run if this one is killed first.
	dir, remove, err := target.TempDir(o.TempDir)
	if err != nil {
		return nil, err
	}
	defer remove()
	if err := writeFiles(dir); err != nil {
		return nil, err
	}
	v6 := lab.IPv6Off
	if c.IPv6 {
		v6 = lab.IPv6On
	}
	ns := lab.DefaultNameservers(c.Nameservers)
	spec := lab.Spec{
		Nameservers: ns,
		Scenario:    kube.SilentScenario(),
		ResolvConf:  &model.File{Data: lab.ResolvConf(ns, c.Search, c.Options), Origin: "realk8s"},
		Hosts:       &model.File{Data: []byte(Hosts), Origin: "realk8s"},
		NSSwitch:    &model.File{Data: []byte(c.NSSwitch), Origin: "realk8s"},
		IPv6:        v6,
		Argv:        append([]string{"/bin/sh", filepath.Join(dir, "run.sh"), dir, bin, etcd, fmt.Sprintf("%.1f", o.Grace.Seconds())}, o.Client...),
		Env:         []string{"PATH=" + lab.DefaultPath},
		Timeout:     o.Timeout,
		TempDir:     o.TempDir,
	}
	res, err := o.Runner.Run(ctx, spec)
	if err != nil {
		return nil, err
	}
	return Read(c, res)
}

// APIServerArgs are the flags the wrapper starts the apiserver with, for
// a run directory dir prepared by WriteFiles: etcd on 127.0.0.1:2379, the
// secure port 6443 on 0.0.0.0, RBAC with anonymous /readyz.
func APIServerArgs(dir string) []string {
	return []string{"--etcd-servers=http://127.0.0.1:2379", "--bind-address=0.0.0.0", "--secure-port=6443",
		"--advertise-address=10.250.0.1", "--cert-dir=" + dir + "/certs",
		"--service-account-key-file=" + dir + "/sa.pub", "--service-account-signing-key-file=" + dir + "/sa.key",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.96.0.0/16", "--authorization-mode=RBAC", "--anonymous-auth=true",
		"--token-auth-file=" + dir + "/tokens.csv"}
}

// EtcdArgs is the etcd command line the wrapper starts (without the
// binary), its data in dir; EtcdHealth answers 200 once it serves.
func EtcdArgs(dir string) []string {
	return []string{"--name", "lab", "--data-dir", dir + "/etcd", "--listen-client-urls", "http://127.0.0.1:2379",
		"--advertise-client-urls", "http://127.0.0.1:2379", "--listen-peer-urls", "http://127.0.0.1:2380",
		"--initial-advertise-peer-urls", "http://127.0.0.1:2380", "--initial-cluster", "lab=http://127.0.0.1:2380",
		"--log-level", "error", "--logger", "zap"}
}

// EtcdHealth is etcd's health URL on the lab's loopback.
const EtcdHealth = "http://127.0.0.1:2379/health"

// WriteFiles puts into dir what APIServerArgs names: a service-account
// key pair, a token file with a system:masters user (its token in
// AdminTokenFile), an empty certificate directory, and the wrapper.
func WriteFiles(dir string) error { return writeFiles(dir) }

func writeFiles(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	token := fmt.Sprintf("%x", tok)
	files := map[string][]byte{
		"run.sh":       []byte(wrapper),
		"tokens.csv":   []byte(token + ",nsscope-admin,nsscope-admin,system:masters\n"),
		AdminTokenFile: []byte(token),
		"sa.key":       pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub":       pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(dir, "certs"), 0o700)
}

// klogHeader is klog's line prefix: "F1201 10:47:53.879840      22 hooks.go:203] ".
var klogHeader = regexp.MustCompile(`^[IWEF]\d{4} [\d:.]+\s+\d+ [^\]]+\] `)

// Read turns a lab result of the wrapper into a Run.
func Read(c Config, res *lab.Result) (*Run, error) {
	r := &Run{Config: c, Lab: res, Outcome: "timeout"}
	var t0 time.Duration
	start := -1
	for i, l := range res.Output {
		text := l.Text
		switch {
		case strings.HasPrefix(text, markAddrs):
			as, err := kube.ParseIPJSON([]byte(strings.TrimPrefix(text, markAddrs)))
			if err != nil {
				return nil, fmt.Errorf("lo addresses: %w", err)
			}
			r.Addrs = as
		case text == markStart && start < 0:
			t0, start = l.Offset.Duration(), i
		case text == markReady && r.Outcome == "timeout":
			r.Outcome, r.Time = kube.OutcomeReady, l.Offset.Duration()-t0
		case strings.HasPrefix(text, markExit) && r.Outcome == "timeout":
			r.Outcome, r.Time = kube.OutcomeExits, l.Offset.Duration()-t0
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("the apiserver did not start (etcd?): %s", tail(res.Output))
	}
	r.readLog(res.Output[start+1:], t0)
	r.settle(res.Queries, t0)
	return r, nil
}

// readLog takes from the apiserver's klog lines (offsets less t0) the
// times that show the machine's speed and the fatal and first error lines.
func (r *Run) readLog(ls []lab.Line, t0 time.Duration) {
	for _, l := range ls {
		text := l.Text
		switch {
		case r.Serving == 0 && strings.Contains(text, "Serving securely on"):
			r.Serving = l.Offset.Duration() - t0
		case r.Created == 0 && strings.Contains(text, "created PriorityClass"):
			r.Created = l.Offset.Duration() - t0
		case r.Admission == 0 && strings.Contains(text, "mutating admission controller(s) successfully"):
			r.Admission = l.Offset.Duration() - t0
		case strings.HasPrefix(text, "F") && klogHeader.MatchString(text) && r.Fatal == "":
			r.Fatal = klogHeader.ReplaceAllString(text, "")
			r.FatalAt = l.Offset.Duration() - t0
		case strings.HasPrefix(text, "E") && klogHeader.MatchString(text) && r.FirstError == "" && aboutLoopback(text):
			r.FirstError = klogHeader.ReplaceAllString(text, "")
		}
	}
}

// settle fixes the run's end and its queries. An apiserver that exits
// decides to at its fatal line; klog then writes every goroutine's stack
// before the process ends, which takes seconds on a busy machine while
// the resolver's goroutines still send queries. The exit is taken at the
// fatal line and the queries counted are those sent before it: the
// model's exit is that decision and its count stops there too.
func (r *Run) settle(qs []lab.Query, t0 time.Duration) {
	if r.Outcome == kube.OutcomeExits && r.Fatal != "" && r.FatalAt > 0 && r.FatalAt < r.Time {
		r.Late, r.Time = r.Time-r.FatalAt, r.FatalAt
	}
	for _, q := range qs {
		q.Offset -= model.Seconds(t0)
		if r.Outcome == kube.OutcomeExits && q.Offset.Duration() >= r.Time {
			r.AfterExit++
			continue
		}
		r.Queries = append(r.Queries, q)
	}
}

// aboutLoopback reports an error line that DNS caused: a loopback request
// whose lookup failed or outlived its deadline (not, say, a TLS handshake
// timeout on a busy machine).
func aboutLoopback(line string) bool {
	if strings.Contains(line, "lookup localhost") {
		return true
	}
	return strings.Contains(line, "localhost:6443") && strings.Contains(line, "context deadline exceeded")
}

// Overloaded is how late "Serving securely" may come (3 s on an idle
// machine) for the start-up's time to be judged: past it the machine, not
// DNS, decides how long the bootstrap work takes, and the tests judge
// only the outcome, the DNS query count and the log line (measured at a
// load average of 15-22 on 2 cores: serving at 2.9-10.2 s).
const Overloaded = 15 * time.Second

func tail(ls []lab.Line) string {
	var b bytes.Buffer
	for _, l := range ls[max(0, len(ls)-5):] {
		b.WriteString(l.Text + " | ")
	}
	return b.String()
}

// GoVersion reads the Go release a binary was built with.
func GoVersion(bin string) (model.Version, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return model.Version{}, fmt.Errorf("%s: %w", bin, err)
	}
	return model.ParseVersion(bi.GoVersion)
}

// Machine is the start-up speed this run showed, for the model: when the
// apiserver logged its admission chain and started serving, and how long
// it worked from its first successful loopback request (the first
// priority class created) to ready. DNS decides none of these: it decides
// when that first request succeeds, which the model predicts, so the time
// compared is the DNS phase. A run that waited for DNS connects when the
// lookup answers; one that did not connects at the priority-class hook's
// first poll, a second after serving (measured under load: 1.0-2.2 s
// after serving, while ready came 1.8-9.9 s after serving).
func (r *Run) Machine() kube.Machine {
	m := kube.DefaultMachine()
	if r.Serving <= 0 {
		return m
	}
	k := float64(r.Serving) / float64(m.Serving)
	m.Serving = r.Serving
	if r.Admission > 0 {
		m.FirstDial = r.Admission
	}
	if r.Outcome == kube.OutcomeReady && r.Created > 0 && r.Time > r.Created {
		work := r.Time - r.Created
		m.ReadyAfterConnect = work
		m.ReadyAfterServing = kube.BootstrapPoll + work
		return m
	}
	if k > 1 {
		m.ReadyAfterServing = time.Duration(float64(m.ReadyAfterServing) * k)
		m.ReadyAfterConnect = time.Duration(float64(m.ReadyAfterConnect) * k)
	}
	return m
}

// Predict runs the start-up model for the run's configuration: the files
// and lo addresses the apiserver saw, the Go release it was built with,
// and this machine's speed (Run.Machine).
func Predict(kubeVersion model.Version, goVersion model.Version, r *Run) (*kube.Startup, error) {
	prog := model.Program{Label: "kube-apiserver", Impl: model.ImplGo, Go: model.GoBuild{Version: goVersion}}
	return predictFlags(kubeVersion, prog, kube.APIServerFlags{BindAddress: "0.0.0.0", BindAddressSet: true, SecurePort: 6443}, r)
}

// predictFlags is Predict for the apiserver prog started with flags f.
func predictFlags(kubeVersion model.Version, prog model.Program, f kube.APIServerFlags, r *Run) (*kube.Startup, error) {
	st := kube.IPv6On
	if !r.Config.IPv6 {
		st = kube.IPv6Off
	}
	lb := kube.LoopbackHost(kubeVersion, f, r.Addrs, st)
	return kube.PredictStartupOn(r.Machine(), kubeVersion, lb, r.Lab.ModelEnv(), prog, kube.SilentScenario(), model.Predict)
}

// Compare lists how the prediction differs from the run: the outcome, the
// DNS query count, the time beyond max(6 s, 12%), and the log line.
func Compare(p kube.StartupResult, r *Run) []string {
	diffs := compareOne(p, r)
	for _, o := range p.Races {
		if len(diffs) > 0 && len(compareOne(o, r)) == 0 {
			return nil // another branch of a race, predicted as such
		}
	}
	return diffs
}

// compareOne compares one predicted start-up with the real run.
func compareOne(p kube.StartupResult, r *Run) []string {
	var diffs []string
	if p.Outcome != r.Outcome {
		diffs = append(diffs, fmt.Sprintf("outcome: predicted %s, real %s", p.Outcome, r.Outcome))
	}
	if n := len(r.Queries); n < p.DNSQueries || n > p.DNSQueries+p.DNSQueriesAtExit {
		want := strconv.Itoa(p.DNSQueries)
		if p.DNSQueriesAtExit > 0 {
			want = fmt.Sprintf("%d to %d (a lookup starts at the exit's instant)", p.DNSQueries, p.DNSQueries+p.DNSQueriesAtExit)
		}
		diffs = append(diffs, fmt.Sprintf("DNS queries: predicted %s, real %d", want, n))
	}
	if d, tol := (p.Time.Duration() - r.Time).Abs(), Tolerance(r.Time); d > tol {
		diffs = append(diffs, fmt.Sprintf(timeDiff+"predicted %.1f s, real %.1f s (more than %.1f s apart)", p.Time.Seconds(), r.Time.Seconds(), tol.Seconds()))
	}
	real := r.Observed().Log
	same := SameLog(p.Log, real)
	for _, l := range p.Also {
		same = same || SameLog(l, real)
	}
	if !same {
		diffs = append(diffs, fmt.Sprintf("log: predicted %q, real %q", p.Log, real))
	}
	return diffs
}

// TimeOnly says that every difference Compare found is in time alone.
func TimeOnly(diffs []string) bool {
	for _, d := range diffs {
		if !strings.HasPrefix(d, timeDiff) {
			return false
		}
	}
	return len(diffs) > 0
}

// timeDiff starts Compare's difference in time.
const timeDiff = "time: "

// Tolerance is how far a predicted time may be from the real one.
func Tolerance(real time.Duration) time.Duration {
	return max(6*time.Second, real*12/100)
}

// SameLog reports whether a predicted log line matches the real one: the
// same message (the text before the first colon) and the same final
// error; klog's structured form (`"msg" err="..."`) counts as the plain
// one. Both empty also match.
func SameLog(pred, real string) bool {
	if pred == "" || real == "" {
		return pred == real
	}
	norm := strings.NewReplacer(`\"`, `"`, `" err="`, ": ").Replace(real)
	norm = strings.TrimPrefix(norm, `"`)
	head, _, _ := strings.Cut(pred, ":")
	if !strings.Contains(norm, head) {
		return false
	}
	i := strings.LastIndex(pred, ": ")
	return i < 0 || strings.Contains(norm, pred[i+2:])
}
