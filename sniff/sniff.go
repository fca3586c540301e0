package sniff

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultMaxPending caps the queries awaiting a response; beyond it the
// one due first is dropped from tracking and counted.
const DefaultMaxPending = 100000

// Options configure a capture.
type Options struct {
	// Interface to capture on; "" or "any" for all.
	Interface string
	// Netns, if set, is the network namespace file to capture in
	// (/proc/PID/ns/net): a pod's, a lab's.
	Netns string
	// Name, if set, is a glob (path.Match) the question name must match,
	// without its trailing dot ("localhost*").
	Name string
	// PID and Comm, if set, keep only queries of that process.
	PID  int
	Comm string
	// MaxPending caps the queries awaiting a response (0: DefaultMaxPending).
	MaxPending int
	// Proc is the proc mount ("" = /proc).
	Proc string
	// Ready, if set, is called once the capture is running: every DNS
	// packet after that is seen.
	Ready func()
	// Explain snapshots each process when first seen (its files, its
	// binary) and, at the end, holds the model's prediction of each of
	// its lookups to what was captured (Summary.Explanations).
	Explain bool
}

// Sniffer captures DNS, pairs answers with queries and attributes each
// query to its process.
type Sniffer struct {
	o       Options
	cap     *Capture
	attr    *attributor
	early   *earlyWatcher
	tr      *tracker
	reasm   *reassembler
	sum     *Summary
	emit    func(Exchange)
	views   map[int]View
	hostV   *View
	dedup   map[uint64]time.Time
	seed    maphash.Seed
	lastExp time.Time
	snaps   map[int]*Snapshot
	seen    map[int][]Exchange
}

// Run captures until ctx ends, calling emit for every exchange (answered,
// or flagged unanswered once its timeout passed), and returns the summary.
func Run(ctx context.Context, o Options, emit func(Exchange)) (*Summary, error) {
	if o.Name != "" {
		if _, err := path.Match(o.Name, ""); err != nil {
			return nil, &InputError{fmt.Errorf("--name %q: %w", o.Name, err)}
		}
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if o.Netns != "" {
		if _, err := os.Stat(o.Netns); err != nil {
			return nil, &InputError{fmt.Errorf("--netns %s: %w", o.Netns, err)}
		}
	}
	c, err := OpenCapture(CaptureOptions{Interface: o.Interface, Netns: o.Netns})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s := &Sniffer{o: o, cap: c, emit: emit, views: map[int]View{}, dedup: map[uint64]time.Time{},
		seed: maphash.MakeSeed(), reasm: newReassembler(), snaps: map[int]*Snapshot{}, seen: map[int][]Exchange{}}
	s.attr = newAttributor(o.Proc, o.Netns)
	defer s.attr.close()
	s.attr.warm()
	// Without the early watcher, attribution still works, only later.
	if w, err := startEarly(CaptureOptions{Interface: o.Interface, Netns: o.Netns}, s.attr); err == nil {
		s.early = w
		defer w.close()
	}
	s.sum = newSummary(time.Now())
	s.tr = newTracker(o.MaxPending, s.report)
	if o.Ready != nil {
		o.Ready()
	}
	if err := s.loop(ctx); err != nil {
		return nil, err
	}
	end := time.Now()
	s.tr.finish(end)
	s.sum.trackerCounts = s.tr.counts
	s.sum.AttributionLookups, s.sum.AttributionFailures = s.attr.Lookups, s.attr.Failures
	s.sum.TCPLost = s.reasm.Lost
	s.sum.Kernel, _ = c.Stats()
	s.sum.finish(end)
	if o.Explain {
		s.sum.Explanations = explain(s.snaps, s.seen)
	}
	return s.sum, nil
}

// drainWait is how long, after the capture is told to stop, the loop
// still waits for blocks: the kernel hands a block that is not full over
// ringRetire ms after it opened it, by its own timer, so by then every
// packet that came before the stop is in user space, however late this
// process is scheduled (a late process only waits longer).
const drainWait = 4 * ringRetire * time.Millisecond

func (s *Sniffer) loop(ctx context.Context) error {
	// stopAt is when the stop was seen; packets up to it are still read.
	var stopAt time.Time
	for {
		if stopAt.IsZero() && ctx.Err() != nil {
			stopAt = time.Now()
		}
		wait := 50 * time.Millisecond
		if !stopAt.IsZero() {
			wait = max(time.Until(stopAt.Add(drainWait)), 0)
		}
		p, ok, err := s.cap.Next(wait)
		if err != nil {
			return err
		}
		if ok && !stopAt.IsZero() && p.Time.After(stopAt) {
			// The ring is in order: all that came before the stop is read.
			return nil
		}
		if ok {
			s.packet(p)
		}
		now := time.Now()
		if now.Sub(s.lastExp) >= 10*time.Millisecond {
			s.tr.expire(now)
			s.reasm.expire(now)
			s.gcDedup(now)
			s.lastExp = now
		}
		if !ok && !stopAt.IsZero() && !now.Before(stopAt.Add(drainWait)) {
			return nil
		}
	}
}

// dedupWindow is how long an identical packet counts as a copy of one
// already seen (the same packet on a bridge, a veth and the uplink).
const dedupWindow = 250 * time.Millisecond

func (s *Sniffer) duplicate(seg Segment, at time.Time) bool {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(seg.Transport)
	b, _ := seg.Src.MarshalBinary()
	h.Write(b)
	b, _ = seg.Dst.MarshalBinary()
	h.Write(b)
	h.WriteString(strconv.FormatUint(uint64(seg.Seq), 16))
	h.WriteByte(seg.Flags)
	h.Write(seg.Payload)
	k := h.Sum64()
	if t, ok := s.dedup[k]; ok && at.Sub(t) < dedupWindow && at.Sub(t) > -dedupWindow {
		return true
	}
	s.dedup[k] = at
	return false
}

func (s *Sniffer) gcDedup(now time.Time) {
	if len(s.dedup) < 4096 {
		return
	}
	for k, t := range s.dedup {
		if now.Sub(t) > dedupWindow {
			delete(s.dedup, k)
		}
	}
}

func (s *Sniffer) packet(p Packet) {
	seg, err := ParseSegment(p.Protocol, p.Data)
	if err != nil {
		return
	}
	if s.duplicate(seg, p.Time) {
		s.sum.Duplicates++
		return
	}
	var msgs [][]byte
	if seg.Transport == "udp" {
		msgs = [][]byte{seg.Payload}
	} else {
		msgs = s.reasm.add(seg, p.Time)
	}
	for _, raw := range msgs {
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			s.sum.Malformed++
			continue
		}
		s.message(p.Time, seg, m)
	}
}

func (s *Sniffer) message(at time.Time, seg Segment, m *dns.Msg) {
	if s.o.Name != "" && !s.nameMatches(m) {
		return
	}
	if m.Response {
		s.tr.response(at, seg.Transport, seg.Dst, seg.Src, m)
		return
	}
	a, ok := Attribution{}, false
	if s.early != nil {
		a, ok = s.early.get(seg.Transport, seg.Src, at)
	}
	if !ok {
		a = s.attr.attribute(seg.Transport, seg.Src, seg.Dst, time.Now())
	}
	if !s.processMatches(a.Process) {
		return
	}
	if p := a.Process; s.o.Explain && p != nil && s.snaps[p.PID] == nil && len(s.snaps) < maxExplainedProcs {
		s.snaps[p.PID] = snapshot(s.o.Proc, p)
	}
	timeout := s.view(a.Process).Timeout
	s.tr.query(at, seg.Transport, seg.Src, seg.Dst, m, a, timeout)
}

func (s *Sniffer) nameMatches(m *dns.Msg) bool {
	if len(m.Question) == 0 {
		return false
	}
	n := strings.TrimSuffix(strings.ToLower(m.Question[0].Name), ".")
	ok, _ := path.Match(strings.ToLower(s.o.Name), n)
	return ok
}

func (s *Sniffer) processMatches(p *Process) bool {
	switch {
	case s.o.PID != 0 && (p == nil || p.PID != s.o.PID):
		return false
	case s.o.Comm != "" && (p == nil || p.Comm != s.o.Comm):
		return false
	}
	return true
}

// view returns (reading once) the resolver files process p sees; for an
// unattributed query, this host's.
func (s *Sniffer) view(p *Process) View {
	if p == nil {
		if s.hostV == nil {
			v := readView("/")
			s.hostV = &v
		}
		return *s.hostV
	}
	if v, ok := s.views[p.PID]; ok {
		return v
	}
	v := readView(filepath.Join(s.o.Proc, strconv.Itoa(p.PID), "root"))
	if len(s.views) > 1<<14 {
		clear(s.views)
	}
	s.views[p.PID] = v
	return v
}

// report takes an exchange the tracker has settled.
func (s *Sniffer) report(x Exchange) {
	s.sum.add(x, s.view(x.Process).Signature(x.Name))
	if p := x.Process; s.o.Explain && p != nil && s.snaps[p.PID] != nil && len(s.seen[p.PID]) < maxExplained {
		s.seen[p.PID] = append(s.seen[p.PID], x)
	}
	if s.emit != nil {
		s.emit(x)
	}
}

// IsNoCapNetRaw reports whether err says CAP_NET_RAW is missing.
func IsNoCapNetRaw(err error) bool { return errors.Is(err, ErrNoCapNetRaw) }

// InputError is a problem with what sniff was asked (a bad glob, an
// interface or namespace that does not exist, no CAP_NET_RAW).
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err is (or wraps) an InputError, or is the
// missing capability.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie) || IsNoCapNetRaw(err)
}

// maxExplainedProcs caps the processes --explain snapshots.
const maxExplainedProcs = 256
