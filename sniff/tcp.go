package sniff

import (
	"net/netip"
	"time"
)

// DNS over TCP frames every message with a two-byte length (RFC 1035
// 4.2.2); a message may span segments and a segment hold several. The
// reassembler keeps, per direction of each connection, the bytes in
// sequence order and cuts messages out of them.

// Limits on what reassembly holds.
const (
	maxStreams       = 4096
	maxStreamBuffer  = 2 * (65535 + 2) // two whole messages
	maxOutOfOrder    = 64
	streamIdleExpiry = 2 * time.Minute
)

type flowKey struct{ src, dst netip.AddrPort }

type stream struct {
	synced bool   // next is known
	next   uint32 // sequence number of the next byte expected
	buf    []byte // contiguous bytes from next-len(buf) on, not yet a whole message
	// pending holds segments that arrived ahead of next.
	pending map[uint32][]byte
	last    time.Time
	// lost says bytes were missed (a gap that never filled): the stream's
	// framing is unknown until the buffer empties on a message boundary.
	lost bool
}

// reassembler turns TCP segments into DNS messages.
type reassembler struct {
	streams map[flowKey]*stream
	// Lost counts byte ranges given up on (never filled gaps, overflow).
	Lost int
	// Evicted counts streams dropped because the table was full.
	Evicted int
}

func newReassembler() *reassembler { return &reassembler{streams: map[flowKey]*stream{}} }

// seqLess reports a < b in sequence space (RFC 1982 arithmetic).
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }

// add takes one segment and returns the whole messages it completes.
func (r *reassembler) add(s Segment, at time.Time) [][]byte {
	k := flowKey{s.Src, s.Dst}
	st := r.streams[k]
	if s.Flags&tcpRST != 0 {
		delete(r.streams, k)
		delete(r.streams, flowKey{s.Dst, s.Src})
		return nil
	}
	if st == nil {
		if len(s.Payload) == 0 && s.Flags&tcpSYN == 0 {
			return nil // a bare ACK or FIN of a connection not followed
		}
		if len(r.streams) >= maxStreams {
			r.evictOldest()
		}
		st = &stream{}
		r.streams[k] = st
	}
	st.last = at
	seq := s.Seq
	if s.Flags&tcpSYN != 0 {
		st.synced, st.next, st.buf, st.pending = true, seq+1, nil, nil
		return nil
	}
	if !st.synced {
		// Joined mid-connection: assume the segment starts a message (a
		// DNS client or server writes each message whole).
		st.synced, st.next = true, seq
	}
	var out [][]byte
	r.insert(st, seq, s.Payload)
	out = r.cut(st, out)
	if s.Flags&tcpFIN != 0 && len(st.pending) == 0 {
		delete(r.streams, k)
	}
	return out
}

// insert appends payload at seq to the stream, holding it back when it
// arrives ahead of a gap and dropping what was already seen.
func (r *reassembler) insert(st *stream, seq uint32, payload []byte) {
	if len(payload) == 0 {
		return
	}
	if seqLess(seq, st.next) {
		dup := st.next - seq
		if int(dup) >= len(payload) {
			return // a retransmission of bytes already taken
		}
		payload, seq = payload[dup:], st.next
	}
	if seq != st.next {
		if len(st.pending) >= maxOutOfOrder {
			// The gap is not filling: skip to the earliest held segment.
			r.Lost++
			st.lost, st.buf = true, nil
			st.next = r.earliest(st)
			r.drainPending(st)
			if seq != st.next {
				st.pending[seq] = append([]byte(nil), payload...)
				return
			}
		} else {
			if st.pending == nil {
				st.pending = map[uint32][]byte{}
			}
			st.pending[seq] = append([]byte(nil), payload...)
			return
		}
	}
	st.buf = append(st.buf, payload...)
	st.next += uint32(len(payload))
	r.drainPending(st)
	if len(st.buf) > maxStreamBuffer {
		r.Lost++
		st.lost, st.buf = true, nil
	}
}

func (r *reassembler) earliest(st *stream) uint32 {
	first, ok := uint32(0), false
	for s := range st.pending {
		if !ok || seqLess(s, first) {
			first, ok = s, true
		}
	}
	return first
}

// drainPending moves held segments that now join on.
func (r *reassembler) drainPending(st *stream) {
	for len(st.pending) > 0 {
		moved := false
		for seq, p := range st.pending {
			end := seq + uint32(len(p))
			switch {
			case !seqLess(st.next, end): // wholly old
				delete(st.pending, seq)
				moved = true
			case !seqLess(st.next, seq): // overlaps or abuts next
				st.buf = append(st.buf, p[st.next-seq:]...)
				st.next = end
				delete(st.pending, seq)
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

// cut takes the whole messages off the front of the stream's buffer.
func (r *reassembler) cut(st *stream, out [][]byte) [][]byte {
	if st.lost {
		// The framing was lost with the missing bytes; the next segment
		// that starts on an empty buffer is taken as a message start.
		st.buf, st.lost = nil, false
		return out
	}
	for len(st.buf) >= 2 {
		n := int(st.buf[0])<<8 | int(st.buf[1])
		if len(st.buf) < 2+n {
			break
		}
		out = append(out, append([]byte(nil), st.buf[2:2+n]...))
		st.buf = st.buf[2+n:]
	}
	if len(st.buf) == 0 {
		st.buf = nil
	}
	return out
}

func (r *reassembler) evictOldest() {
	var oldest flowKey
	var at time.Time
	for k, s := range r.streams {
		if at.IsZero() || s.last.Before(at) {
			oldest, at = k, s.last
		}
	}
	delete(r.streams, oldest)
	r.Evicted++
}

// expire forgets streams idle since before now-streamIdleExpiry.
func (r *reassembler) expire(now time.Time) {
	for k, s := range r.streams {
		if now.Sub(s.last) > streamIdleExpiry {
			delete(r.streams, k)
		}
	}
}
