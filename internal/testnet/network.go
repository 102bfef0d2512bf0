package testnet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/p2p"
)

// Limits of the in-memory sync, like the real protocol's: a batch handed to the
// ingester, and what one anti-entropy exchange moves.
const (
	ingestChunk     = 256
	maxSyncTransfer = 8192
	callTimeout     = time.Minute
)

// ErrClosed is returned by a closed transport.
var ErrClosed = errors.New("testnet: transport closed")

// Network is an in-memory network between the nodes of one Net. Node i reaches node
// j iff both are up and in the same partition group. Gossip floods: a published
// envelope goes straight to every other node after that link's delay (the issue's
// flood publishing, without relays); whatever a partition or a crash keeps from a
// node comes back by fetch-by-id and anti-entropy, as with the real sync protocol.
type Network struct {
	sim     *Sim
	seed    uint64
	network msg.ID
	quantum int64 // ms: delivery times are rounded up to it (fewer instants)
	aeEvery int64 // ms between anti-entropy rounds

	mu       sync.Mutex
	members  []*member
	group    []int // partition group of each node
	minDelay int64 // ms
	maxDelay int64 // ms
	aeRound  uint64

	stats Stats
}

// Stats counts what the network carried.
type Stats struct {
	Published  int // envelopes handed to Publish
	Delivered  int // gossip deliveries (Validate calls)
	Dropped    int // gossip deliveries lost to a partition or a down node
	Fetched    int // envelopes moved by fetch-by-id
	Synced     int // envelopes moved by anti-entropy
	SyncRounds int
	Blobs      int // blobs copied
}

type member struct {
	idx     int
	account msg.Account
	pid     peer.ID
	tr      *memTransport // nil while down
}

// NetworkConfig parameterises a Network.
type NetworkConfig struct {
	Seed               uint64
	Network            msg.ID
	MinDelay, MaxDelay time.Duration
	Quantum            time.Duration // default 5 ms
	AntiEntropy        time.Duration // default 250 ms
}

// NewNetwork makes a network of len(accounts) nodes on sim, all connected, and
// schedules its anti-entropy rounds.
func NewNetwork(sim *Sim, cfg NetworkConfig, accounts []msg.Account) (*Network, error) {
	if cfg.Quantum <= 0 {
		cfg.Quantum = 5 * time.Millisecond
	}
	if cfg.AntiEntropy <= 0 {
		cfg.AntiEntropy = 250 * time.Millisecond
	}
	nw := &Network{sim: sim, seed: cfg.Seed, network: cfg.Network, quantum: cfg.Quantum.Milliseconds(),
		aeEvery: cfg.AntiEntropy.Milliseconds(), group: make([]int, len(accounts))}
	nw.setDelay(cfg.MinDelay, cfg.MaxDelay)
	for i, a := range accounts {
		pid, err := peer.Decode(a.String())
		if err != nil {
			return nil, fmt.Errorf("testnet: peer id of node %d: %w", i, err)
		}
		nw.members = append(nw.members, &member{idx: i, account: a, pid: pid})
	}
	sim.AddIdleCheck(nw.allPublished)
	nw.scheduleAE(sim.NowMs() + nw.aeEvery)
	return nw, nil
}

// SetDelay sets the range of per-link gossip delays; each (envelope, link) gets a
// delay drawn from it by the seed, rounded up to the quantum.
func (nw *Network) SetDelay(lo, hi time.Duration) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.setDelay(lo, hi)
}

func (nw *Network) setDelay(lo, hi time.Duration) {
	nw.minDelay = max(lo.Milliseconds(), 1)
	nw.maxDelay = max(hi.Milliseconds(), nw.minDelay)
}

// Partition splits the network: each group is a list of node indexes; nodes in no
// group form one more group together. Messages in flight across the cut are lost.
// It replaces any earlier partition.
func (nw *Network) Partition(groups ...[]int) {
	nw.mu.Lock()
	for i := range nw.group {
		nw.group[i] = 0
	}
	for g, idxs := range groups {
		for _, i := range idxs {
			nw.group[i] = g + 1
		}
	}
	nw.mu.Unlock()
	// Nodes a new grouping puts together sync at once, as new connections do.
	nw.sim.Schedule(nw.sim.NowMs(), nw.antiEntropy(false, nil))
}

// Heal reconnects every node and starts a sync round at once, as new connections do.
func (nw *Network) Heal() {
	nw.mu.Lock()
	for i := range nw.group {
		nw.group[i] = 0
	}
	nw.mu.Unlock()
	nw.sim.Schedule(nw.sim.NowMs(), nw.antiEntropy(false, nil))
}

// Stats gives the network's counters.
func (nw *Network) Stats() Stats {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.stats
}

// Factory gives node i's transport factory.
func (nw *Network) Factory(i int) node.TransportFactory {
	return func(ctx context.Context, in node.Inbound) (node.Transport, error) {
		if in.Network != nw.network {
			return nil, fmt.Errorf("testnet: node %d is on network %s, the testnet on %s", i, in.Network.Short(), nw.network.Short())
		}
		m := nw.members[i]
		t := &memTransport{nw: nw, m: m, in: in, pub: map[uint64]bool{}}
		seq, ok, err := ownHead(in.Log, m.account)
		if err != nil {
			return nil, err
		}
		if ok {
			t.mark = seq
		}
		nw.mu.Lock()
		if m.tr != nil && !m.tr.isClosed() {
			nw.mu.Unlock()
			return nil, fmt.Errorf("testnet: node %d already has a running transport", i)
		}
		m.tr = t
		nw.mu.Unlock()
		// Sync runs at once on every new connection (issue 3).
		nw.sim.Schedule(nw.sim.NowMs(), nw.antiEntropy(false, m))
		return t, nil
	}
}

// ownHead reads the author's highest stored seq from the frontier.
func ownHead(l p2p.LogSource, a msg.Account) (uint64, bool, error) {
	hs, err := l.Frontier()
	if err != nil {
		return 0, false, fmt.Errorf("testnet: frontier: %w", err)
	}
	var seq uint64
	ok := false
	for _, h := range hs {
		if h.Author == a {
			seq, ok = max(seq, h.Seq), true
		}
	}
	return seq, ok, nil
}

// reachable reports whether i and j can talk now (caller holds nw.mu).
func (nw *Network) reachable(i, j int) bool {
	return i != j && nw.group[i] == nw.group[j] && nw.up(j) && nw.up(i)
}

func (nw *Network) up(i int) bool {
	t := nw.members[i].tr
	return t != nil && !t.isClosed()
}

// peersOf lists the nodes i reaches, ascending (caller holds nw.mu).
func (nw *Network) peersOf(i int) []*memTransport {
	var out []*memTransport
	for j := range nw.members {
		if nw.reachable(i, j) {
			out = append(out, nw.members[j].tr)
		}
	}
	return out
}

// mix is splitmix64: the deterministic randomness of the network.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// delay is the link delay of one envelope from i to j (caller holds nw.mu): a
// function of the seed, the envelope and the link, so it does not depend on the
// order in which goroutines publish.
func (nw *Network) delay(id msg.ID, i, j int) int64 {
	h := nw.seed
	for k := 0; k < len(id); k += 8 {
		h = mix(h ^ binary.LittleEndian.Uint64(id[k:]))
	}
	h = mix(h ^ uint64(i)<<32 ^ uint64(j))
	span := uint64(nw.maxDelay - nw.minDelay + 1)
	return nw.minDelay + int64(h%span)
}

// at rounds a virtual time up to the quantum.
func (nw *Network) at(t int64) int64 {
	q := nw.quantum
	return (t + q - 1) / q * q
}

// allPublished is a barrier condition: every running node's own messages up to its
// stored head have reached its transport (the node publishes in the background
// after storing, SPEC §1.4).
func (nw *Network) allPublished() bool {
	nw.mu.Lock()
	trs := make([]*memTransport, 0, len(nw.members))
	for _, m := range nw.members {
		if m.tr != nil && !m.tr.isClosed() {
			trs = append(trs, m.tr)
		}
	}
	nw.mu.Unlock()
	for _, t := range trs {
		t.mu.Lock()
		mark := t.mark
		t.mu.Unlock()
		unpublished := false
		err := t.in.Log.Range(t.m.account, mark+1, math.MaxUint64, func(uint64, []byte) bool {
			unpublished = true
			return false
		})
		if err == nil && unpublished && !t.isClosed() {
			return false
		}
	}
	return true
}

// envelope is one envelope being moved, with what ordering needs.
type envelope struct {
	raw     []byte
	id      msg.ID
	author  msg.Account
	seq     uint64
	lamport uint64
}

func (nw *Network) decode(raw []byte) (envelope, error) {
	e, err := msg.Decode(raw, msg.Options{Network: nw.network, SkipVerify: true})
	if err != nil {
		return envelope{}, err
	}
	return envelope{raw: raw, id: e.ID, author: e.Body.Author, seq: e.Body.Seq, lamport: e.Body.Lamport}, nil
}

// causal sorts envelopes so that ancestors come first (lamport grows along prev and
// parents) and drops duplicates.
func causal(es []envelope) []envelope {
	slices.SortFunc(es, func(a, b envelope) int {
		if a.lamport != b.lamport {
			if a.lamport < b.lamport {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(a.author[:], b.author[:]); c != 0 {
			return c
		}
		if a.seq != b.seq {
			if a.seq < b.seq {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.id[:], b.id[:])
	})
	return slices.CompactFunc(es, func(a, b envelope) bool { return a.id == b.id })
}

// ingestWork hands envs to t's ingester in causal order and chunks; ancestors the
// node still lacks are fetched by id.
func (nw *Network) ingestWork(t *memTransport, from *member, envs []envelope) func() {
	envs = causal(envs)
	return func() {
		var missing []msg.ID
		for len(envs) > 0 {
			n := min(len(envs), ingestChunk)
			raws := make([][]byte, n)
			for i := range raws {
				raws[i] = envs[i].raw
			}
			envs = envs[n:]
			outs, ok := t.ingest(from.pid, raws)
			if !ok {
				return
			}
			for _, o := range outs {
				missing = append(missing, o.Missing...)
			}
		}
		if len(missing) > 0 {
			t.Want(missing...)
		}
	}
}

// fetch is a fetch-by-id round for t: ids t does not hold are looked up in the nodes
// t reaches and ingested; ancestors found missing then start another round.
func (nw *Network) fetch(t *memTransport, ids []msg.ID) func() []func() {
	return func() []func() {
		if t.isClosed() {
			return nil
		}
		nw.mu.Lock()
		peers := nw.peersOf(t.m.idx)
		nw.mu.Unlock()
		var found []envelope
		var from *member
		for _, id := range ids {
			if t.in.Log.Has(id) {
				continue
			}
			for _, p := range peers {
				raw, ok, err := p.in.Log.Get(id)
				if err != nil || !ok {
					continue
				}
				e, err := nw.decode(raw)
				if err != nil {
					continue
				}
				found = append(found, e)
				if from == nil {
					from = p.m
				}
				break
			}
		}
		if len(found) == 0 {
			return nil
		}
		nw.mu.Lock()
		nw.stats.Fetched += len(found)
		nw.mu.Unlock()
		return []func(){nw.ingestWork(t, from, found)}
	}
}

func (nw *Network) scheduleAE(at int64) {
	nw.sim.Schedule(at, nw.antiEntropy(true, nil))
}

// antiEntropy is a sync round. A periodic round has every running node pull from
// one node it reaches, a different one each round, and schedules the next round.
// Otherwise it is the sync of new connections: after a heal every node pulls from
// every node it reaches; after node only started, it pulls from every node it
// reaches and they pull from it.
func (nw *Network) antiEntropy(periodic bool, only *member) func() []func() {
	return func() []func() {
		if periodic {
			nw.scheduleAE(nw.sim.NowMs() + nw.aeEvery)
		}
		nw.mu.Lock()
		nw.aeRound++
		round := nw.aeRound
		nw.stats.SyncRounds++
		type pull struct {
			to   *memTransport
			from []*memTransport
		}
		var pulls []pull
		for i := range nw.members {
			if !nw.up(i) {
				continue
			}
			ps := nw.peersOf(i)
			if len(ps) == 0 {
				continue
			}
			switch {
			case periodic:
				ps = ps[(round+uint64(i))%uint64(len(ps)):][:1]
			case only != nil && only.idx != i:
				if !nw.reachable(i, only.idx) {
					continue
				}
				ps = []*memTransport{only.tr}
			}
			pulls = append(pulls, pull{nw.members[i].tr, ps})
		}
		nw.mu.Unlock()
		fronts := map[*memTransport][]p2p.Head{}
		frontier := func(t *memTransport) ([]p2p.Head, error) {
			if f, ok := fronts[t]; ok {
				return f, nil
			}
			f, err := t.in.Log.Frontier()
			fronts[t] = f
			return f, err
		}
		var work []func()
		for _, pl := range pulls {
			fb, err := frontier(pl.to)
			if err != nil {
				continue
			}
			pd := newPlan(pl.to, fb)
			for _, a := range pl.from {
				fa, err := frontier(a)
				if err != nil {
					continue
				}
				envs, err := pd.pull(nw, a, fa)
				if err != nil || len(envs) == 0 {
					continue
				}
				nw.mu.Lock()
				nw.stats.Synced += len(envs)
				nw.mu.Unlock()
				work = append(work, nw.ingestWork(pl.to, a.m, envs))
			}
		}
		return work
	}
}

// plan is what one node pulls in one round, so that pulling from several peers does
// not fetch anything twice.
type plan struct {
	b       *memTransport
	top     map[msg.Account]uint64 // highest seq held or already planned, per author
	planned map[msg.ID]bool
	n       int
}

func newPlan(b *memTransport, fb []p2p.Head) *plan {
	pd := &plan{b: b, top: map[msg.Account]uint64{}, planned: map[msg.ID]bool{}}
	for _, h := range fb {
		pd.top[h.Author] = max(pd.top[h.Author], h.Seq)
	}
	return pd
}

// pull gives what a (with frontier fa) holds that b lacks: per author, a's messages
// above b's highest seq (a range transfer), a's frontier ids b does not hold (fork
// branches), and b's wanted ids a holds.
func (pd *plan) pull(nw *Network, a *memTransport, fa []p2p.Head) ([]envelope, error) {
	topA := map[msg.Account]uint64{}
	var authors []msg.Account
	for _, h := range fa {
		if _, ok := topA[h.Author]; !ok {
			authors = append(authors, h.Author)
		}
		topA[h.Author] = max(topA[h.Author], h.Seq)
	}
	var out []envelope
	var derr error
	add := func(raw []byte) bool {
		if pd.n >= maxSyncTransfer {
			return false
		}
		e, err := nw.decode(raw)
		if err != nil {
			derr = err
			return false
		}
		if !pd.planned[e.id] {
			pd.planned[e.id] = true
			pd.n++
			out = append(out, e)
		}
		return true
	}
	for _, au := range authors {
		lo := pd.top[au] + 1
		if topA[au] < lo {
			continue
		}
		if err := a.in.Log.Range(au, lo, topA[au], func(_ uint64, env []byte) bool { return add(env) }); err != nil {
			return nil, err
		}
		pd.top[au] = topA[au]
	}
	want := pd.b.in.Log.Missing()
	for _, h := range fa {
		want = append(want, h.ID)
	}
	for _, id := range want {
		if pd.planned[id] || pd.b.in.Log.Has(id) {
			continue
		}
		raw, ok, err := a.in.Log.Get(id)
		if err != nil || !ok {
			continue
		}
		add(raw)
	}
	return out, derr
}

// memTransport is one node's node.Transport on a Network.
type memTransport struct {
	nw *Network
	m  *member
	in node.Inbound

	mu     sync.Mutex
	closed bool
	active sync.WaitGroup // inbound calls in progress
	// Own messages published: every seq ≤ mark has been, pub holds those above it.
	// mark starts at the own head when the transport starts: a node does not
	// republish after a restart, sync carries those.
	mark uint64
	pub  map[uint64]bool
}

var _ node.Transport = (*memTransport)(nil)

func (t *memTransport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// enter starts an inbound call unless the transport is closed.
func (t *memTransport) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.active.Add(1)
	return true
}

func (t *memTransport) ingest(from peer.ID, raws [][]byte) ([]p2p.Outcome, bool) {
	if !t.enter() {
		return nil, false
	}
	defer t.active.Done()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return t.in.Ingester.IngestBatch(ctx, from, raws), true
}

func (t *memTransport) validate(from peer.ID, raw []byte) (p2p.Outcome, bool) {
	if !t.enter() {
		return p2p.Outcome{}, false
	}
	defer t.active.Done()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return t.in.Validator.Validate(ctx, from, raw), true
}

// Publish implements node.Transport: the envelope reaches every other node after its
// link delay, if the two are still connected then.
func (t *memTransport) Publish(ctx context.Context, env []byte) error {
	nw := t.nw
	e, err := nw.decode(env)
	if err != nil {
		return fmt.Errorf("testnet: publish: %w", err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	if e.author == t.m.account && e.seq > t.mark {
		t.pub[e.seq] = true
		for t.pub[t.mark+1] {
			delete(t.pub, t.mark+1)
			t.mark++
		}
	}
	t.mu.Unlock()
	now := nw.sim.NowMs()
	nw.mu.Lock()
	nw.stats.Published++
	from := t.m
	type hop struct {
		to int
		at int64
	}
	var hops []hop
	for j := range nw.members {
		if j != from.idx {
			hops = append(hops, hop{j, nw.at(now + nw.delay(e.id, from.idx, j))})
		}
	}
	nw.mu.Unlock()
	for _, h := range hops {
		j := h.to
		nw.sim.Schedule(h.at, func() []func() {
			nw.mu.Lock()
			// A crashed sender's envelopes still in flight are lost with it.
			ok := nw.reachable(from.idx, j)
			var to *memTransport
			if ok {
				to = nw.members[j].tr
				nw.stats.Delivered++
			} else {
				nw.stats.Dropped++
			}
			nw.mu.Unlock()
			if !ok {
				return nil
			}
			return []func(){func() {
				out, ok := to.validate(from.pid, env)
				if ok && len(out.Missing) > 0 {
					to.Want(out.Missing...)
				}
			}}
		})
	}
	nw.sim.Touch()
	return nil
}

// Want implements node.Transport: a fetch round one round trip from now.
func (t *memTransport) Want(ids ...msg.ID) {
	if len(ids) == 0 || t.isClosed() {
		return
	}
	nw := t.nw
	ids = slices.Clone(ids)
	nw.mu.Lock()
	rtt := 2 * nw.minDelay
	nw.mu.Unlock()
	nw.sim.Schedule(nw.at(nw.sim.NowMs()+rtt), nw.fetch(t, ids))
}

// FetchBlob implements node.Transport: the blob is copied chunk by chunk from the
// first reachable node holding it, verified against id, and stored.
func (t *memTransport) FetchBlob(ctx context.Context, id msg.ID) error {
	nw := t.nw
	nw.sim.begin()
	defer nw.sim.end()
	if has, err := t.in.Blobs.HasBlob(id); err == nil && has {
		return nil
	}
	nw.mu.Lock()
	peers := nw.peersOf(t.m.idx)
	nw.mu.Unlock()
	for _, p := range peers {
		size, ok, err := p.in.Blobs.BlobSize(id)
		if err != nil || !ok {
			continue
		}
		content := make([]byte, 0, size)
		for i := uint32(0); int64(len(content)) < size; i++ {
			c, ok, err := p.in.Blobs.BlobChunk(id, i)
			if err != nil || !ok || len(c) == 0 {
				break
			}
			content = append(content, c...)
		}
		if msg.BlobID(content) != id {
			continue
		}
		if _, err := t.in.Blobs.PutBlob(ctx, content); err != nil {
			return fmt.Errorf("testnet: store blob %s: %w", id.Short(), err)
		}
		nw.mu.Lock()
		nw.stats.Blobs++
		nw.mu.Unlock()
		return nil
	}
	return fmt.Errorf("testnet: blob %s: no reachable node holds it", id.Short())
}

// Peers implements node.Transport.
func (t *memTransport) Peers() []node.Peer {
	nw := t.nw
	nw.mu.Lock()
	defer nw.mu.Unlock()
	var out []node.Peer
	for _, p := range nw.peersOf(t.m.idx) {
		out = append(out, node.Peer{ID: p.m.pid.String()})
	}
	return out
}

// Addrs implements node.Transport: an in-memory node has none.
func (t *memTransport) Addrs() []string { return nil }

// Close implements node.Transport: no inbound call starts after it returns.
func (t *memTransport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.active.Wait()
	t.nw.sim.Touch()
	return nil
}
