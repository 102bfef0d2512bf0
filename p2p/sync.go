package p2p

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
)

// Sync tuning that is not worth an option.
const (
	maxDigestRounds  = 16               // DIGEST exchanges per session
	reverseMin       = 5 * time.Second  // least time between reverse pulls of one peer
	msgsFrameBytes   = 1 << 20          // soft size of one MSGS frame
	msgsFrameCount   = 1024             // envelopes per MSGS frame
	rangePage        = 256              // envelopes read per author at a time when merging
	maxWanted        = 65_536           // ids waiting to be fetched
	wantAttempts     = 3                // passes over the peers before a wanted id is dropped
	headsFrameCount  = 50_000           // entries per HEADS frame
	syncPenalty      = 20.0             // an envelope the node rejected, served by sync
	protocolPenalty  = 50.0             // a frame that breaks the protocol
	ingestQueueDepth = 4                // MSGS frames buffered between network and ingest
	sessionTimeout   = 10 * time.Minute // whole-session bound
)

// SyncStats summarises one pulling session.
type SyncStats struct {
	Rounds   int // DIGEST exchanges
	Received int // envelopes received
	Accepted int // envelopes the node accepted
	Agreed   bool
}

type syncer struct {
	h      *Host
	mu     sync.Mutex
	active map[peer.ID]bool
	rerun  map[peer.ID]bool
	last   map[peer.ID]time.Time // end of the last reverse-triggered pull
	wanted map[msg.ID]int        // id → passes tried
	sem    chan struct{}
	kick   chan struct{}
}

func newSyncer(h *Host) *syncer {
	return &syncer{h: h, active: map[peer.ID]bool{}, rerun: map[peer.ID]bool{}, last: map[peer.ID]time.Time{},
		wanted: map[msg.ID]int{}, sem: make(chan struct{}, h.cfg.sessions), kick: make(chan struct{}, 1)}
}

func (s *syncer) start() {
	h := s.h
	if h.cfg.syncOnConnect {
		h.h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
			s.trigger(c.RemotePeer())
		}})
	}
	h.wg.Add(1)
	go s.loop()
}

// loop runs the periodic round and the fetches of wanted ids.
func (s *syncer) loop() {
	defer s.h.wg.Done()
	var tick <-chan time.Time
	if s.h.cfg.syncInterval > 0 {
		t := time.NewTicker(s.h.cfg.syncInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.h.ctx.Done():
			return
		case <-tick:
			for _, p := range s.h.h.Network().Peers() {
				s.trigger(p)
			}
		case <-s.kick:
			s.fetchWanted()
		}
	}
}

// trigger starts a pulling session with p unless one is running, in which
// case it runs once more afterwards.
func (s *syncer) trigger(p peer.ID) {
	if p == s.h.h.ID() {
		return
	}
	s.mu.Lock()
	if s.active[p] {
		s.rerun[p] = true
		s.mu.Unlock()
		return
	}
	s.active[p] = true
	s.mu.Unlock()
	s.h.wg.Add(1)
	go func() {
		defer s.h.wg.Done()
		for {
			select {
			case s.sem <- struct{}{}:
			case <-s.h.ctx.Done():
				return
			}
			ctx, cancel := context.WithTimeout(s.h.ctx, sessionTimeout)
			st, err := s.pull(ctx, p)
			cancel()
			<-s.sem
			switch {
			case err != nil:
				s.h.m.syncRuns.WithLabelValues("error").Inc()
				if s.h.ctx.Err() == nil {
					s.h.log.Debug("sync session failed", "remote", p.ShortString(), "err", err)
				}
			case st.Received == 0:
				s.h.m.syncRuns.WithLabelValues("agreed").Inc()
			default:
				s.h.m.syncRuns.WithLabelValues("pulled").Inc()
				s.h.log.Debug("sync session", "remote", p.ShortString(), "rounds", st.Rounds, "received", st.Received, "accepted", st.Accepted)
			}
			s.mu.Lock()
			if !s.rerun[p] || s.h.ctx.Err() != nil {
				delete(s.active, p)
				delete(s.rerun, p)
				s.mu.Unlock()
				return
			}
			delete(s.rerun, p)
			s.mu.Unlock()
		}
	}()
}

// want queues ids to fetch, asking from first.
func (s *syncer) want(from peer.ID, ids []msg.ID) {
	s.mu.Lock()
	for _, id := range ids {
		if len(s.wanted) >= maxWanted {
			break
		}
		if _, ok := s.wanted[id]; !ok {
			s.wanted[id] = 0
		}
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	_ = from // fetchWanted asks every connected peer; the sender is one of them
}

// Want asks the network for envelopes by id: orphans' missing ancestors and
// checkpoint-listed heads the node does not hold. It returns at once.
func (h *Host) Want(ids ...msg.ID) {
	if h.sync != nil && len(ids) > 0 {
		h.sync.want("", ids)
	}
}

// SyncWith runs one pulling session with p and waits for it. If a session
// with p is already running it waits for that one to end first, so one peer
// is never pulled twice at once.
func (h *Host) SyncWith(ctx context.Context, p peer.ID) (SyncStats, error) {
	if h.sync == nil {
		return SyncStats{}, errors.New("p2p: sync is off")
	}
	s := h.sync
	for {
		s.mu.Lock()
		if !s.active[p] {
			s.active[p] = true
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return SyncStats{}, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	st, err := s.pull(ctx, p)
	s.mu.Lock()
	rerun := s.rerun[p]
	delete(s.active, p)
	delete(s.rerun, p)
	s.mu.Unlock()
	if rerun {
		s.trigger(p)
	}
	return st, err
}

// fetchWanted asks every connected peer for the wanted ids (and the node's
// own Missing list) until none is left; ids nobody has are dropped after
// wantAttempts passes (the periodic session asks again via Missing).
func (s *syncer) fetchWanted() {
	s.mu.Lock()
	ids := make([]msg.ID, 0, len(s.wanted))
	for id, n := range s.wanted {
		if n >= wantAttempts {
			delete(s.wanted, id)
			continue
		}
		s.wanted[id] = n + 1
		ids = append(ids, id)
	}
	s.mu.Unlock()
	ids = append(ids, s.h.deps.Log.Missing()...)
	ids = s.notHeld(ids)
	for _, p := range s.h.h.Network().Peers() {
		if len(ids) == 0 {
			break
		}
		ctx, cancel := context.WithTimeout(s.h.ctx, sessionTimeout)
		func() {
			defer cancel()
			st, err := s.h.h.NewStream(ctx, p, SyncProtocol)
			if err != nil {
				return
			}
			defer st.Close()
			c := newFrameConn(st, s.h.cfg.maxFrame, s.h.cfg.streamTimeout)
			if _, err := s.fetchIDs(ctx, c, p, ids); err != nil {
				s.h.log.Debug("fetch by id failed", "remote", p.ShortString(), "err", err)
			}
		}()
		ids = s.notHeld(ids)
	}
	s.mu.Lock()
	for id := range s.wanted {
		if s.h.deps.Log.Has(id) {
			delete(s.wanted, id)
		}
	}
	s.mu.Unlock()
}

func (s *syncer) notHeld(ids []msg.ID) []msg.ID {
	seen := make(map[msg.ID]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] && !s.h.deps.Log.Has(id) {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// pull is one session as the pulling side: DIGEST until the frontiers agree
// or a round brings nothing, then the wanted ids.
func (s *syncer) pull(ctx context.Context, p peer.ID) (SyncStats, error) {
	var st SyncStats
	stream, err := s.h.h.NewStream(ctx, p, SyncProtocol)
	if err != nil {
		return st, fmt.Errorf("sync with %s: %w", p.ShortString(), err)
	}
	defer stream.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = stream.SetDeadline(dl)
	}
	c := newFrameConn(stream, s.h.cfg.maxFrame, s.h.cfg.streamTimeout)
	fail := func(err error) (SyncStats, error) {
		if errors.Is(err, ErrProtocol) {
			s.h.Penalize(p, protocolPenalty, err.Error())
		}
		stream.Reset()
		return st, fmt.Errorf("sync with %s: %w", p.ShortString(), err)
	}
	for st.Rounds < maxDigestRounds {
		st.Rounds++
		front, err := s.h.deps.Log.Frontier()
		if err != nil {
			return fail(err)
		}
		entries, err := s.exchangeDigest(c, computeDigest(front))
		if err != nil {
			return fail(err)
		}
		if len(entries) == 0 {
			st.Agreed = true
			break
		}
		ranges, gets := s.plan(front, entries)
		if len(ranges) == 0 && len(gets) == 0 {
			break // the peer lacks what we hold; its own pull fixes that
		}
		before := st.Accepted
		truncated := false
		for len(ranges) > 0 {
			n := min(len(ranges), MaxRanges)
			r, acc, tr, err := s.fetchRange(ctx, c, p, ranges[:n])
			st.Received += r
			st.Accepted += acc
			if err != nil {
				return fail(err)
			}
			truncated = truncated || tr
			ranges = ranges[n:]
		}
		if len(gets) > 0 {
			fs, err := s.fetchIDs(ctx, c, p, gets)
			st.Received += fs.Received
			st.Accepted += fs.Accepted
			if err != nil {
				return fail(err)
			}
		}
		if st.Accepted == before && !truncated {
			break
		}
	}
	// Orphans' ancestors and unheld listed heads: an agreeing peer may still
	// hold them below its frontier.
	if missing := s.notHeld(s.h.deps.Log.Missing()); len(missing) > 0 {
		fs, err := s.fetchIDs(ctx, c, p, missing)
		st.Received += fs.Received
		st.Accepted += fs.Accepted
		if err != nil {
			return fail(err)
		}
	}
	return st, nil
}

// exchangeDigest sends our digest and reads the peer's frontier entries in the
// buckets that differ.
func (s *syncer) exchangeDigest(c *frameConn, d digest) ([]Head, error) {
	var b be
	for i := range d {
		b.raw(d[i][:])
	}
	if err := c.send(frameDigest, b.b); err != nil {
		return nil, err
	}
	var out []Head
	for {
		typ, payload, err := c.expect(frameHeads, frameEnd)
		if err != nil {
			return nil, err
		}
		if typ == frameEnd {
			if len(payload) != 1 || payload[0] != statusOK {
				return nil, fmt.Errorf("%w: bad END after HEADS", ErrProtocol)
			}
			return out, nil
		}
		p := be{b: payload}
		n := int(p.getU32())
		if n > p.left()/72 || len(out)+n > MaxHeadEntries {
			return nil, fmt.Errorf("%w: HEADS with %d entries", ErrProtocol, n)
		}
		for i := 0; i < n; i++ {
			var h Head
			copy(h.Author[:], p.take(32))
			h.Seq = p.getU64()
			copy(h.ID[:], p.take(32))
			out = append(out, h)
		}
		if !p.done() {
			return nil, fmt.Errorf("%w: HEADS payload length", ErrProtocol)
		}
	}
}

// seqRange is one (author, from, to) of a RANGE request.
type seqRange struct {
	Author   msg.Account
	From, To uint64
}

// plan compares the peer's entries with our frontier: seqs above our top for
// an author come by range (all ids at those seqs, forks included); an id at
// or below our top that we lack (a fork branch) comes by id.
func (s *syncer) plan(front, peerEntries []Head) ([]seqRange, []msg.ID) {
	top := make(map[msg.Account]uint64, len(front))
	for _, h := range front {
		if h.Seq > top[h.Author] {
			top[h.Author] = h.Seq
		}
	}
	want := map[msg.Account]uint64{}
	var order []msg.Account
	var gets []msg.ID
	for _, e := range peerEntries {
		t := top[e.Author]
		if e.Seq > t {
			if _, ok := want[e.Author]; !ok {
				order = append(order, e.Author)
			}
			want[e.Author] = max(want[e.Author], e.Seq)
		} else if !s.h.deps.Log.Has(e.ID) {
			gets = append(gets, e.ID)
		}
	}
	ranges := make([]seqRange, 0, len(order))
	for _, a := range order {
		ranges = append(ranges, seqRange{Author: a, From: top[a] + 1, To: want[a]})
	}
	return ranges, gets
}

// batch is one MSGS frame's envelopes on their way to the Ingester.
type batch struct{ envs [][]byte }

// ingestPipe runs the Ingester beside the network reader so reading the next
// frame overlaps verifying and storing the previous one.
type ingestPipe struct {
	ch       chan batch
	done     chan struct{}
	accepted int
	rejected int
	missing  []msg.ID
}

func (s *syncer) newIngestPipe(ctx context.Context, p peer.ID) *ingestPipe {
	ip := &ingestPipe{ch: make(chan batch, ingestQueueDepth), done: make(chan struct{})}
	go func() {
		defer close(ip.done)
		for b := range ip.ch {
			outs := s.h.deps.Ingester.IngestBatch(ctx, p, b.envs)
			for _, o := range outs {
				switch o.Verdict {
				case Accept:
					ip.accepted++
				case Reject:
					ip.rejected++
				}
				ip.missing = append(ip.missing, o.Missing...)
			}
		}
	}()
	return ip
}

// finish waits for the ingester and accounts for rejected envelopes.
func (s *syncer) finish(ip *ingestPipe, p peer.ID) {
	close(ip.ch)
	<-ip.done
	s.h.m.syncMsgs.WithLabelValues("rejected").Add(float64(ip.rejected))
	if ip.rejected > 0 {
		s.h.Penalize(p, syncPenalty*float64(ip.rejected), "sync served envelopes the node rejected")
	}
}

// readMsgs reads MSGS frames until END, checking each envelope with ok and
// handing them to ip. It returns the envelope count and the END status.
func (s *syncer) readMsgs(c *frameConn, ip *ingestPipe, ok func(envInfo) bool) (int, byte, error) {
	n := 0
	for {
		typ, payload, err := c.expect(frameMsgs, frameEnd)
		if err != nil {
			return n, 0, err
		}
		if typ == frameEnd {
			if len(payload) != 1 {
				return n, 0, fmt.Errorf("%w: END length", ErrProtocol)
			}
			return n, payload[0], nil
		}
		envs, err := decodeMsgs(payload, s.h.cfg.envelopeMax)
		if err != nil {
			return n, 0, err
		}
		for _, e := range envs {
			info, err := parseEnvelope(e)
			if err != nil || !ok(info) {
				return n, 0, fmt.Errorf("%w: unrequested or unparsable envelope", ErrProtocol)
			}
		}
		n += len(envs)
		s.h.m.syncMsgs.WithLabelValues("received").Add(float64(len(envs)))
		ip.ch <- batch{envs: envs}
	}
}

// fetchRange sends one RANGE request and ingests the answer.
func (s *syncer) fetchRange(ctx context.Context, c *frameConn, p peer.ID, rs []seqRange) (recv, accepted int, truncated bool, err error) {
	var b be
	b.u32(uint32(s.h.cfg.rangeLimit))
	b.u32(uint32(len(rs)))
	asked := make(map[msg.Account]seqRange, len(rs))
	for _, r := range rs {
		b.raw(r.Author[:])
		b.u64(r.From)
		b.u64(r.To)
		asked[r.Author] = r
	}
	if err := c.send(frameRange, b.b); err != nil {
		return 0, 0, false, err
	}
	ip := s.newIngestPipe(ctx, p)
	n, status, rerr := s.readMsgs(c, ip, func(e envInfo) bool {
		r, ok := asked[e.Author]
		return ok && e.Seq >= r.From && e.Seq <= r.To
	})
	s.finish(ip, p)
	if rerr != nil {
		return n, ip.accepted, false, rerr
	}
	if status != statusOK && status != statusTruncated {
		return n, ip.accepted, false, endError(status)
	}
	return n, ip.accepted, status == statusTruncated, nil
}

// fetchIDs asks for ids, then for the ancestors the node reports missing,
// up to wantRounds levels deep.
func (s *syncer) fetchIDs(ctx context.Context, c *frameConn, p peer.ID, ids []msg.ID) (SyncStats, error) {
	var st SyncStats
	asked := map[msg.ID]bool{}
	for round := 0; round < s.h.cfg.wantRounds && len(ids) > 0; round++ {
		var next []msg.ID
		for len(ids) > 0 {
			n := min(len(ids), MaxGetIDs)
			part := ids[:n]
			ids = ids[n:]
			var b be
			b.u32(uint32(len(part)))
			want := make(map[msg.ID]bool, len(part))
			for _, id := range part {
				b.raw(id[:])
				want[id] = true
				asked[id] = true
			}
			if err := c.send(frameGet, b.b); err != nil {
				return st, err
			}
			ip := s.newIngestPipe(ctx, p)
			got, status, err := s.readMsgs(c, ip, func(e envInfo) bool { return want[e.ID] })
			s.finish(ip, p)
			st.Received += got
			st.Accepted += ip.accepted
			if err != nil {
				return st, err
			}
			if status != statusOK {
				return st, endError(status)
			}
			for _, id := range ip.missing {
				if !asked[id] {
					asked[id] = true
					next = append(next, id)
				}
			}
		}
		ids = s.notHeld(next)
	}
	return st, nil
}

// decodeMsgs reads a MSGS payload: u32 n, then n × (u32 len, envelope).
func decodeMsgs(payload []byte, envMax int) ([][]byte, error) {
	p := be{b: payload}
	n := int(p.getU32())
	if n > p.left()/5+1 {
		return nil, fmt.Errorf("%w: MSGS count %d", ErrProtocol, n)
	}
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		l := int(p.getU32())
		if l > envMax || l == 0 {
			return nil, fmt.Errorf("%w: envelope of %d bytes", ErrProtocol, l)
		}
		e := p.take(l)
		if e == nil {
			return nil, fmt.Errorf("%w: MSGS truncated", ErrProtocol)
		}
		out = append(out, e)
	}
	if !p.done() {
		return nil, fmt.Errorf("%w: MSGS payload length", ErrProtocol)
	}
	return out, nil
}

// msgsWriter packs envelopes into MSGS frames.
type msgsWriter struct {
	c     *frameConn
	buf   be
	n     int
	count int
	bytes int
}

func (w *msgsWriter) add(env []byte) error {
	if w.n == 0 {
		w.buf.b = append(w.buf.b[:0], 0, 0, 0, 0)
	}
	w.buf.u32(uint32(len(env)))
	w.buf.raw(env)
	w.n++
	w.count++
	w.bytes += len(env)
	if w.n >= msgsFrameCount || len(w.buf.b) >= msgsFrameBytes {
		return w.flushFrame()
	}
	return nil
}

func (w *msgsWriter) flushFrame() error {
	if w.n == 0 {
		return nil
	}
	b := w.buf.b
	b[0], b[1], b[2], b[3] = byte(w.n>>24), byte(w.n>>16), byte(w.n>>8), byte(w.n)
	w.n = 0
	return w.c.write(frameMsgs, b)
}

func (w *msgsWriter) end(status byte) error {
	if err := w.flushFrame(); err != nil {
		return err
	}
	if err := w.c.write(frameEnd, []byte{status}); err != nil {
		return err
	}
	return w.c.flush()
}

// serve answers a peer's requests on one stream until it closes it.
func (s *syncer) serve(stream network.Stream) {
	defer stream.Close()
	p := stream.Conn().RemotePeer()
	c := newFrameConn(stream, s.h.cfg.maxFrame, s.h.cfg.streamTimeout)
	for {
		typ, payload, err := c.read()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				if errors.Is(err, ErrProtocol) {
					s.h.Penalize(p, protocolPenalty, err.Error())
				}
				stream.Reset()
			}
			return
		}
		switch typ {
		case frameDigest:
			err = s.serveDigest(c, p, payload)
		case frameRange:
			err = s.serveRange(c, payload)
		case frameGet:
			err = s.serveGet(c, payload)
		default:
			err = fmt.Errorf("%w: request frame %#x", ErrProtocol, typ)
		}
		if err != nil {
			if errors.Is(err, ErrProtocol) {
				_ = c.send(frameEnd, []byte{statusBadRequest})
				s.h.Penalize(p, protocolPenalty, err.Error())
			}
			stream.Reset()
			return
		}
	}
}

func (s *syncer) serveDigest(c *frameConn, p peer.ID, payload []byte) error {
	if len(payload) != 256*32 {
		return fmt.Errorf("%w: DIGEST of %d bytes", ErrProtocol, len(payload))
	}
	var theirs digest
	for i := range theirs {
		copy(theirs[i][:], payload[i*32:])
	}
	front, err := s.h.deps.Log.Frontier()
	if err != nil {
		_ = c.send(frameEnd, []byte{statusInternal})
		return err
	}
	ours := computeDigest(front)
	var b be
	n := 0
	differ := false
	flush := func() error {
		if n == 0 {
			return nil
		}
		b.b[0], b.b[1], b.b[2], b.b[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		n = 0
		return c.write(frameHeads, b.b)
	}
	for i := range ours {
		if ours[i] != theirs[i] {
			differ = true
		}
	}
	sent := 0
	for _, h := range front {
		if ours[h.Author[0]] == theirs[h.Author[0]] || sent >= MaxHeadEntries {
			continue
		}
		if n == 0 {
			b.b = append(b.b[:0], 0, 0, 0, 0)
		}
		b.raw(h.Author[:])
		b.u64(h.Seq)
		b.raw(h.ID[:])
		n++
		sent++
		if n >= headsFrameCount {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := c.send(frameEnd, []byte{statusOK}); err != nil {
		return err
	}
	if differ {
		// The peer may hold what we lack (it may be the one ahead).
		s.mu.Lock()
		due := time.Since(s.last[p]) >= reverseMin
		if due {
			s.last[p] = time.Now()
		}
		s.mu.Unlock()
		if due {
			s.trigger(p)
		}
	}
	return nil
}

// rangeItem is one envelope waiting in the lamport merge.
type rangeItem struct {
	lamport uint64
	seq     uint64
	env     []byte
}

// rangeCursor reads one author's range a page at a time.
type rangeCursor struct {
	r    seqRange
	next uint64
	done bool
	buf  []rangeItem
	err  error
}

// fill loads the next page; a page never splits the ids of one seq.
func (rc *rangeCursor) fill(log LogSource) {
	if len(rc.buf) > 0 || rc.done || rc.err != nil {
		return
	}
	stopped := false
	var last uint64
	err := log.Range(rc.r.Author, rc.next, rc.r.To, func(seq uint64, env []byte) bool {
		if len(rc.buf) >= rangePage && seq != last {
			rc.next = seq
			stopped = true
			return false
		}
		info, err := parseEnvelope(env)
		if err != nil {
			rc.err = fmt.Errorf("stored envelope of %s at %d: %w", rc.r.Author, seq, err)
			return false
		}
		rc.buf = append(rc.buf, rangeItem{lamport: info.Lamport, seq: seq, env: env})
		last = seq
		return true
	})
	if err != nil && rc.err == nil {
		rc.err = err
	}
	if !stopped {
		rc.done = true
	}
}

// cursorHeap orders cursors by their first envelope's (lamport, author, seq):
// lamport grows along prev and parents, so the merged stream puts every
// ancestor before its descendants.
type cursorHeap []*rangeCursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	a, b := h[i].buf[0], h[j].buf[0]
	if a.lamport != b.lamport {
		return a.lamport < b.lamport
	}
	if c := bytes.Compare(h[i].r.Author[:], h[j].r.Author[:]); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*rangeCursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (s *syncer) serveRange(c *frameConn, payload []byte) error {
	p := be{b: payload}
	limit := int(p.getU32())
	n := int(p.getU32())
	if p.bad || n > MaxRanges || n != p.left()/48 || p.left()%48 != 0 {
		return fmt.Errorf("%w: RANGE header", ErrProtocol)
	}
	limit = min(max(limit, 1), s.h.cfg.rangeLimit)
	hp := make(cursorHeap, 0, n)
	for i := 0; i < n; i++ {
		var r seqRange
		copy(r.Author[:], p.take(32))
		r.From, r.To = p.getU64(), p.getU64()
		if r.From == 0 || r.To < r.From {
			return fmt.Errorf("%w: RANGE [%d, %d]", ErrProtocol, r.From, r.To)
		}
		rc := &rangeCursor{r: r, next: r.From}
		rc.fill(s.h.deps.Log)
		if rc.err != nil {
			_ = c.send(frameEnd, []byte{statusInternal})
			return rc.err
		}
		if len(rc.buf) > 0 {
			hp = append(hp, rc)
		}
	}
	heap.Init(&hp)
	w := &msgsWriter{c: c}
	status := statusOK
	for hp.Len() > 0 {
		if w.count >= limit || w.bytes >= s.h.cfg.rangeBytes {
			status = statusTruncated
			break
		}
		rc := hp[0]
		it := rc.buf[0]
		rc.buf = rc.buf[1:]
		if err := w.add(it.env); err != nil {
			return err
		}
		rc.fill(s.h.deps.Log)
		if rc.err != nil {
			_ = w.end(statusInternal)
			return rc.err
		}
		if len(rc.buf) == 0 {
			heap.Pop(&hp)
		} else {
			heap.Fix(&hp, 0)
		}
	}
	s.h.m.syncMsgs.WithLabelValues("served").Add(float64(w.count))
	return w.end(status)
}

func (s *syncer) serveGet(c *frameConn, payload []byte) error {
	p := be{b: payload}
	n := int(p.getU32())
	if p.bad || n > MaxGetIDs || p.left() != n*32 {
		return fmt.Errorf("%w: GET header", ErrProtocol)
	}
	w := &msgsWriter{c: c}
	for i := 0; i < n; i++ {
		var id msg.ID
		copy(id[:], p.take(32))
		env, ok, err := s.h.deps.Log.Get(id)
		if err != nil {
			_ = w.end(statusInternal)
			return err
		}
		if ok {
			if err := w.add(env); err != nil {
				return err
			}
		}
	}
	s.h.m.syncMsgs.WithLabelValues("served").Add(float64(w.count))
	return w.end(statusOK)
}
