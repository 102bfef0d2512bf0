package epoch

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/internal/bucket"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// Cut is an agreed cut C_k as this node computes it. It stores one prefix length per author
// branch segment, not a set of ids, so keeping one per epoch is cheap. A Cut stays valid (and
// answers the same) while its engine grows.
type Cut struct {
	epoch uint64
	tips  []uint64 // per segment: the highest seq of the segment in the cut (0: none)
	e     *Engine
}

// Batch is epoch k's batch C_k \ C_{k−1} and the inputs of Apply that the epoch rule derives.
type Batch struct {
	Epoch uint64
	IDs   []msg.ID // ascending
	Refs  []uint32 // the number of each of IDs (see Engine.Len), index for index
	Hash  msg.ID   // WIRE §4 batch hash of IDs
	Live  bool
	// Forks are the fork pairs first contained in C_k, sorted by (author, seq).
	Forks []ForkPair
	// Misbehaviour are the checkpoint-misbehaviour pairs first contained in C_k, sorted by
	// (author, second's seq, second's id).
	Misbehaviour []MisbehaviourPair
}

// ForkPair is fork evidence: two held messages of one author at one seq with the same prev
// (or both at seq 1). Every other same-seq pair descends from such a pair at a lower seq, which
// is contained no later, so these are all the state needs; with several, the smallest seq
// counts (SPEC §3). A and B are the two smallest ids at the fork that C_k contains, A < B.
type ForkPair struct {
	Author msg.Account
	Seq    uint64
	A, B   msg.ID
}

// MisbehaviourPair is two checkpoints of one signer for one epoch on one chain: First is the
// lowest-seq one, Second the later one, which does not count.
type MisbehaviourPair struct {
	Author        msg.Account
	Epoch         uint64
	First, Second msg.ID
}

// Epoch is k of C_k.
func (c *Cut) Epoch() uint64 { return c.epoch }

// Contains reports whether the message id is in the cut.
func (c *Cut) Contains(id msg.ID) bool {
	n := c.e.index()[id]
	return n != nil && c.has(n)
}

func (c *Cut) has(n *node) bool {
	return n.seg.idx < len(c.tips) && n.seq <= c.tips[n.seg.idx]
}

// Equal reports whether two cuts of one engine hold the same messages (epochs aside).
func (c *Cut) Equal(o *Cut) bool {
	if c == nil || o == nil {
		return c == o
	}
	a, b := c.tips, o.tips
	if len(a) > len(b) {
		a, b = b, a
	}
	if !slices.Equal(a, b[:len(a)]) {
		return false
	}
	for _, t := range b[len(a):] {
		if t != 0 {
			return false
		}
	}
	return true
}

// Len is the number of messages in the cut.
func (c *Cut) Len() int {
	n := 0
	for i, t := range c.tips {
		if s := c.e.segs[i]; t >= s.start {
			n += int(t - s.start + 1)
		}
	}
	return n
}

// Heads lists the cut's maximal messages per author branch, sorted by (author, seq, id):
// what `guild log inspect` shows as the cut.
func (c *Cut) Heads() []msg.Head {
	var hs []msg.Head
	for i, t := range c.tips {
		s := c.e.segs[i]
		if t < s.start {
			continue
		}
		n := s.nodes[t-s.start]
		if c.kidIn(n) {
			continue
		}
		hs = append(hs, msg.Head{Author: n.a.id, Seq: n.seq, ID: n.id})
	}
	slices.SortFunc(hs, msg.CompareHeads)
	return hs
}

func (c *Cut) kidIn(n *node) bool {
	if n.firstKid != nil && c.has(n.firstKid) {
		return true
	}
	for _, k := range c.e.forkKids[n] {
		if c.has(k) {
			return true
		}
	}
	return false
}

// Cut computes C_k from Q_k ∪ C_{k−1} (SPEC §4 "Agreed cut") and epoch k's batch. prev must
// be this engine's C_{k−1} (nil for k = 0; anything else panics, a programming error) and ws
// the witnesses of k. The cut reflects every message added so far; prev must too, i.e. it
// must have been computed after the last Add that reported a dirtyFrom ≤ k−1, which is what
// recomputing from dirtyFrom upwards guarantees.
//
// Q_k needs, per branch segment, the seqs each witness supports; they form a prefix whose
// length is read from the witness's stair, so the quorum prefix is found by sorting the
// witnesses by that length. C_k is then the largest parent-closed subset: messages of
// Q_k \ C_{k−1} are decided in lamport order, so every ancestor is decided first, and a
// message stays iff its prev and parents are in.
func (e *Engine) Cut(k uint64, ws WitnessSet, prev *Cut) (*Cut, *Batch) {
	if (k == 0) != (prev == nil) || (prev != nil && (prev.epoch != k-1 || prev.e != e)) {
		panic(fmt.Sprintf("epoch: Cut(%d) needs this engine's C_%d", k, int64(k)-1))
	}
	unweight := e.setWeights(ws)
	defer unweight()

	tips := make([]uint64, len(e.segs))
	if prev != nil {
		copy(tips, prev.tips)
	}
	// Candidates are sorted as keys holding what the order reads, not as node pointers:
	// a comparison then touches no node.
	cands := e.cands[:0]
	for _, s := range e.listedSegs {
		lo := max(tips[s.idx], s.start-1)
		if s.top <= lo {
			continue // everything listed here is in C_{k−1} already
		}
		q := e.quorumTip(s, k, ws)
		if q <= lo {
			continue
		}
		for _, n := range s.nodes[lo+1-s.start : q+1-s.start] {
			cands = append(cands, candidate{n.depth, binary.BigEndian.Uint64(n.id[:8]), n})
		}
	}
	e.cands = cands
	sorted := sortCandidates(cands)
	in := func(n *node) bool { return n.seq <= tips[n.seg.idx] }
	var added []*node
next:
	for i := range sorted {
		n := sorted[i].n
		if n.prev != nil && !in(n.prev) {
			continue
		}
		for _, p := range n.parents {
			if !in(p) {
				continue next
			}
		}
		tips[n.seg.idx] = n.seq
		added = append(added, n)
	}
	clear(cands) // the scratch must not keep nodes alive for the collector to mark
	cut := &Cut{epoch: k, tips: tips, e: e}
	return cut, e.batch(k, ws, prev, cut, added)
}

// candidate is a message of Q_k \ C_{k−1} waiting to be decided, with its sort key: depth
// (the recomputed lamport clock), then id, whose first 8 bytes big-endian order as the bytes.
type candidate struct {
	depth, id uint64
	n         *node
}

func compareCandidates(a, b candidate) int {
	if c := cmp.Compare(a.depth, b.depth); c != 0 {
		return c
	}
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	return pmap.Compare32(a.n.id, b.n.id)
}

// sortCandidates gives cs in (depth, id) order, in a new slice. An epoch's candidates
// span a narrow band of depths, so a bucket sort on the depth above the id's leading
// bits leaves buckets of one or two: about a third of the time a comparison sort took.
func sortCandidates(cs []candidate) []candidate {
	if len(cs) == 0 {
		return nil
	}
	lo, hi := cs[0].depth, cs[0].depth
	for _, c := range cs {
		lo, hi = min(lo, c.depth), max(hi, c.depth)
	}
	s := uint(bits.Len64(hi - lo))
	// Monotone in (depth, id): the depth above bit 64−s, the id's leading bits below
	// (Go's shifts by 64 give 0, so s = 0 and s = 64 need no case of their own).
	key := func(c candidate) uint64 { return (c.depth-lo)<<(64-s) | c.id>>s }
	return bucket.Sort(cs, key, compareCandidates)
}

// quorumTip gives the highest seq of segment s in Q_k, or 0.
func (e *Engine) quorumTip(s *segment, k uint64, ws WitnessSet) uint64 {
	buf := e.qbuf[:0]
	var total uint64
	e.supports(s, k, func(w, seq uint64) {
		if seq >= s.start {
			buf = append(buf, support{seq, w})
			total += w
		}
	})
	e.qbuf = buf
	if !e.quorum(ws, total) {
		return 0
	}
	slices.SortFunc(buf, func(a, b support) int {
		switch {
		case a.seq > b.seq:
			return -1
		case a.seq < b.seq:
			return 1
		}
		return 0
	})
	var acc uint64
	for _, sp := range buf {
		acc += sp.weight
		if e.quorum(ws, acc) {
			return sp.seq
		}
	}
	return 0 // unreachable: the whole list is a quorum
}

func (e *Engine) batch(k uint64, ws WitnessSet, prev, cut *Cut, added []*node) *Batch {
	b := &Batch{Epoch: k, IDs: make([]msg.ID, len(added)), Refs: make([]uint32, len(added))}
	// Everything below is a sum or is sorted afterwards, so added may be reordered.
	slices.SortFunc(added, func(x, y *node) int { return pmap.Compare32(x.id, y.id) })
	for i, n := range added {
		b.IDs[i], b.Refs[i] = n.id, n.num
	}
	b.Hash = msg.BatchHash(b.IDs)

	var signed uint64
	seenSigner := map[int]bool{}
	seenFork := map[*node]bool{}
	seenRoots := map[*account]bool{}
	for _, n := range added {
		if n.cp != nil && n.cp.valid && !seenSigner[n.a.idx] {
			seenSigner[n.a.idx] = true
			signed += e.wt[n.a.idx]
		}
		if n.cp != nil && n.cp.dupOf != nil {
			b.Misbehaviour = append(b.Misbehaviour, MisbehaviourPair{Author: n.a.id, Epoch: n.cp.epoch, First: n.cp.dupOf.id, Second: n.id})
		}
		var kids []*node
		switch {
		case n.prev == nil && len(n.a.roots) > 1 && !seenRoots[n.a]:
			seenRoots[n.a] = true
			kids = n.a.roots
		case n.prev != nil && !seenFork[n.prev]:
			if kids = e.forkKids[n.prev]; kids != nil {
				seenFork[n.prev] = true
			}
		}
		if kids != nil {
			if fp, ok := newForkPair(kids, prev, cut); ok {
				b.Forks = append(b.Forks, fp)
			}
		}
	}
	b.Live = k >= 1 && e.quorum(ws, signed)
	slices.SortFunc(b.Forks, func(x, y ForkPair) int {
		if c := bytes.Compare(x.Author[:], y.Author[:]); c != 0 {
			return c
		}
		if x.Seq != y.Seq {
			if x.Seq < y.Seq {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.A[:], y.A[:])
	})
	slices.SortFunc(b.Misbehaviour, func(x, y MisbehaviourPair) int {
		if c := bytes.Compare(x.Author[:], y.Author[:]); c != 0 {
			return c
		}
		sx, sy := cutSeq(cut, x.Second), cutSeq(cut, y.Second)
		if sx != sy {
			if sx < sy {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.Second[:], y.Second[:])
	})
	return b
}

func cutSeq(c *Cut, id msg.ID) uint64 { return c.e.index()[id].seq }

// newForkPair reports the pair at one fork point if C_k holds two of its children and
// C_{k−1} did not.
func newForkPair(kids []*node, prev, cut *Cut) (ForkPair, bool) {
	before := 0
	var inCut []msg.ID
	for _, k := range kids {
		if prev != nil && prev.has(k) {
			before++
		}
		if cut.has(k) {
			inCut = append(inCut, k.id)
		}
	}
	if before >= 2 || len(inCut) < 2 {
		return ForkPair{}, false
	}
	sortIDs(inCut)
	return ForkPair{Author: kids[0].a.id, Seq: kids[0].seq, A: inCut[0], B: inCut[1]}, true
}

// Settled applies SPEC §4 "Settled" to epoch k: prevSettled is whether k−1 is settled
// (ignored for k = 0), ws the witnesses of k and cut this engine's current C_k. The node holds
// every message of its own cut by construction; what can still move the cut is a listed head
// it lacks, a forking witness, or checkpoints for k not yet seen:
// θ_den·(U_k + max_{x∉C_k} sup_k(x)) < θ_num·W_k.
func (e *Engine) Settled(k uint64, ws WitnessSet, cut *Cut, prevSettled bool) bool {
	if (k > 0 && !prevSettled) || ws.Total == 0 {
		return false
	}
	clear := e.setWeights(ws)
	defer clear()
	for _, pl := range e.pending {
		if !e.eachPending(pl.first, func(l listing) bool { return l.epoch > k || e.wt[l.w.idx] == 0 }) {
			return false
		}
	}
	var unsigned uint64
	for i, m := range ws.Members {
		a := e.accts[m]
		if a != nil && a.forked {
			return false
		}
		if a == nil {
			unsigned += ws.Weights[i]
		} else if _, ok := a.cpEpochs[k]; !ok {
			unsigned += ws.Weights[i]
		}
	}
	var outside uint64
	for _, s := range e.listedSegs {
		from := s.start
		if s.idx < len(cut.tips) {
			from = max(from, cut.tips[s.idx]+1)
		}
		if s.top < from {
			continue // no support outside the cut here
		}
		var sup uint64
		e.supports(s, k, func(w, seq uint64) {
			if seq >= from {
				sup += w
			}
		})
		outside = max(outside, sup)
	}
	lhs := mul128(u128{}.add64(unsigned).add64(outside), e.cfg.ThetaDen)
	return lhs.cmp(mul64(e.cfg.ThetaNum, ws.Total)) < 0
}

// quorum applies the genesis θ: the engine's own, so a witness set decoded from storage
// without θ cannot change the rule.
func (e *Engine) quorum(ws WitnessSet, weight uint64) bool {
	return quorum(e.cfg.ThetaNum, e.cfg.ThetaDen, weight, ws.Total)
}

func sortIDs(ids []msg.ID) {
	slices.SortFunc(ids, func(a, b msg.ID) int { return bytes.Compare(a[:], b[:]) })
}

// Seed derives seed_k from seed_{k−1} and this batch (WIRE §4); seed_{−1} is the network id.
func (b *Batch) Seed(prevSeed msg.ID) msg.ID { return msg.Seed(b.Epoch, prevSeed, b.Hash) }
