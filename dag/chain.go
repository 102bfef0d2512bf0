package dag

import (
	"bytes"
	"slices"

	"github.com/guild-net/guild/msg"
)

// author indexes one author's held messages. A held message at seq s has held
// ancestors at every seq below s, so held seqs are dense from 1 and a slice indexed
// by seq−1 replaces a per-message map. Forks are rare and live in a side map.
type author struct {
	slots   []*Node            // slots[s−1]: the first held message at seq s
	forks   map[uint64][]*Node // the other held messages at an occupied seq
	minFork uint64             // the smallest fork seq; 0 when none
	heads   []*Node            // held messages without a held same-author child
}

func (d *DAG) hold(n *Node) {
	a := n.au
	if a == nil {
		if a = d.authors[n.Env.Body.Author]; a == nil {
			a = &author{}
			d.authors[n.Env.Body.Author] = a
		}
		n.au = a
	}
	s := n.seq
	switch {
	case uint64(len(a.slots)) == s-1:
		a.slots = append(a.slots, n)
	case uint64(len(a.slots)) >= s:
		if a.forks == nil {
			a.forks = make(map[uint64][]*Node)
		}
		a.forks[s] = append(a.forks[s], n)
		if a.minFork == 0 || s < a.minFork {
			a.minFork = s
		}
	default:
		panic("dag: held message above a gap in its author's chain")
	}
	if p := n.link; p != nil && p.headIdx >= 0 {
		n.headIdx = p.headIdx
		a.heads[p.headIdx] = n
		p.headIdx = -1
		return
	}
	n.headIdx = int32(len(a.heads))
	a.heads = append(a.heads, n)
}

func bySeqID(x, y *Node) int {
	if x.seq != y.seq {
		if x.seq < y.seq {
			return -1
		}
		return 1
	}
	return bytes.Compare(x.Env.ID[:], y.Env.ID[:])
}

// Heads gives the branch heads of the author's held chain, sorted by (seq, id):
// one head unless the author forked.
func (d *DAG) Heads(a msg.Account) []*Node {
	au := d.authors[a]
	if au == nil {
		return nil
	}
	out := slices.Clone(au.heads)
	slices.SortFunc(out, bySeqID)
	return out
}

// HeldAt gives the held messages at (a, seq), sorted by id: more than one is fork
// evidence.
func (d *DAG) HeldAt(a msg.Account, seq uint64) []*Node {
	au := d.authors[a]
	if au == nil || seq == 0 || seq > uint64(len(au.slots)) {
		return nil
	}
	out := append([]*Node{au.slots[seq-1]}, au.forks[seq]...)
	slices.SortFunc(out, bySeqID)
	return out
}

// Authors lists, sorted, the authors with at least one held message.
func (d *DAG) Authors() []msg.Account {
	out := make([]msg.Account, 0, len(d.authors))
	for a := range d.authors {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Fork is fork evidence (SPEC §3): held messages A and B (A < B, the two smallest
// ids there) share author and seq.
type Fork struct {
	Author msg.Account
	Seq    uint64
	A, B   msg.ID
}

func (au *author) fork(a msg.Account, s uint64) Fork {
	ids := []msg.ID{au.slots[s-1].Env.ID}
	for _, n := range au.forks[s] {
		ids = append(ids, n.Env.ID)
	}
	slices.SortFunc(ids, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
	return Fork{Author: a, Seq: s, A: ids[0], B: ids[1]}
}

// Forks gives, sorted by author, each forked author's evidence at its smallest fork
// seq (the one that counts, SPEC §3).
func (d *DAG) Forks() []Fork {
	var out []Fork
	for _, a := range d.Authors() {
		if au := d.authors[a]; au.minFork != 0 {
			out = append(out, au.fork(a, au.minFork))
		}
	}
	return out
}

// ForksOf gives the author's fork evidence at every forked seq, ascending.
func (d *DAG) ForksOf(a msg.Account) []Fork {
	au := d.authors[a]
	if au == nil || au.minFork == 0 {
		return nil
	}
	seqs := make([]uint64, 0, len(au.forks))
	for s := range au.forks {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	out := make([]Fork, len(seqs))
	for i, s := range seqs {
		out[i] = au.fork(a, s)
	}
	return out
}

// OnChain reports whether x is on head's prev-chain (x = head included): both in
// the dag, same author, and x reached from head through valid prev links. For a held
// head whose author has no fork at x's seq it is a seq comparison; otherwise a walk
// over skip links, O(log(seq distance)).
func (d *DAG) OnChain(head, x msg.ID) bool {
	h, ok := d.Get(head)
	if !ok {
		return false
	}
	n, ok := d.Get(x)
	if !ok || n.Env.Body.Author != h.Env.Body.Author || n.seq > h.seq {
		return false
	}
	if h.Held {
		// Every ancestor of a held head is held, so x must be held, and if it is the
		// only held message at its seq the chain must pass through it.
		if !n.Held {
			return false
		}
		if len(n.au.forks[n.seq]) == 0 {
			return true
		}
	}
	return d.ancestor(h, n.seq) == n
}

// Ancestor gives the message at seq on head's prev-chain (head itself at its own seq).
func (d *DAG) Ancestor(head msg.ID, seq uint64) (*Node, bool) {
	h, ok := d.Get(head)
	if !ok {
		return nil, false
	}
	n := d.ancestor(h, seq)
	return n, n != nil
}

// LatestBefore gives the newest message on a held head's prev-chain with ts_ms <
// tsMs: what a witness lists for a branch when the epoch ends at tsMs (SPEC §4).
// Timestamps never decrease along a held chain, so this is a binary search over seq,
// O(log² seq). It reports false for a head that is not held or when even seq 1 is
// too new.
func (d *DAG) LatestBefore(head msg.ID, tsMs uint64) (*Node, bool) {
	h, ok := d.Get(head)
	if !ok || !h.Held {
		return nil, false
	}
	if h.ts < tsMs {
		return h, true
	}
	// ts(lo) < tsMs ≤ ts(hi); seq 0 stands for "none".
	lo, hi := uint64(0), h.seq
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if d.ancestor(h, mid).ts < tsMs {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return nil, false
	}
	return d.ancestor(h, lo), true
}

// ancestor finds the node at seq on n's link chain, nil if the chain breaks first.
// Below a held node, a seq with a single held message needs no walk.
func (d *DAG) ancestor(n *Node, seq uint64) *Node {
	if n.Held && seq >= 1 && seq <= n.seq {
		if au := n.au; len(au.forks[seq]) == 0 {
			return au.slots[seq-1]
		}
	}
	return walk(n, seq)
}

// walk follows skip and prev links down to seq.
func walk(n *Node, seq uint64) *Node {
	for n != nil && n.seq > seq {
		if n.skip != nil && n.skip.seq >= seq {
			n = n.skip
		} else {
			n = n.link
		}
	}
	if n == nil || n.seq != seq {
		return nil
	}
	return n
}

// skipSeq picks the seq a node at seq s skips to. Heights (seq−1) follow the scheme
// of Bitcoin's block index, which clears low bits: even heights clear their lowest
// set bit, odd ones take the height below with its two lowest set bits cleared, plus
// one. A greedy walk then reaches any ancestor in few hops (measured: at most 73 over
// a 20,000-message chain).
func skipSeq(s uint64) uint64 {
	h := s - 1
	if h < 2 {
		return 1
	}
	clear := func(x uint64) uint64 { return x & (x - 1) }
	if h&1 == 1 {
		return clear(clear(h-1)) + 1 + 1
	}
	return clear(h) + 1
}
