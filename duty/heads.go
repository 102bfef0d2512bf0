package duty

import (
	"bytes"
	"slices"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
)

// Log is the part of the message graph duty reads. *dag.DAG implements it; the node
// passes its dag, holding only messages that are durable in its store.
type Log interface {
	// Authors lists, sorted, the authors with held messages.
	Authors() []msg.Account
	// Heads gives an author's held branch heads.
	Heads(a msg.Account) []*dag.Node
	// Get gives a message in the dag.
	Get(id msg.ID) (*dag.Node, bool)
	// LatestBefore gives the newest message on a held head's prev-chain with ts_ms < tsMs.
	LatestBefore(head msg.ID, tsMs uint64) (*dag.Node, bool)
	// OnChain reports whether x is on head's prev-chain (x = head included).
	OnChain(head, x msg.ID) bool
}

// Received gives a message's receive time on the node's clock (Unix ms), and false
// when the node has no durable receive time for it (or does not hold it durably). A
// deferred message's receive time is when it stopped being deferred (SPEC §3). The
// time is when this message itself arrived, not when it became held: duty looks at
// the ancestors itself.
type Received func(id msg.ID) (ms int64, ok bool)

// Standing is what duty reads from the signer's own state after epoch k−2.
type Standing interface {
	// Admitted: named in genesis, or REP > 0 or credits > 0 (SPEC §3).
	Admitted(a msg.Account) bool
	// Rep is the account's µREP balance.
	Rep(a msg.Account) uint64
	// Credits is the account's µcredits (free and frozen).
	Credits(a msg.Account) uint64
}

// HeadsInput is what Heads needs for one epoch.
type HeadsInput struct {
	Epoch    uint64
	Config   epoch.Config // End, DutyTime and MaxHeads are used
	Log      Log
	Received Received
	Standing Standing // the signer's state after Epoch−2 (genesis state for Epoch < 2)
	Listed   *Listed  // the signer's earlier counted listings; nil means none
}

// Selection is the head list of one checkpoint with what was left out.
type Selection struct {
	Heads []msg.Head // sorted by (author, seq, id)
	// Omitted counts branch heads left out because an earlier checkpoint of the
	// signer already listed them.
	Omitted int
	// Dropped counts heads beyond max_heads, left for a later checkpoint.
	Dropped int
}

// Heads picks the heads of the checkpoint for epoch in.Epoch (SPEC §4). For each branch
// head of each author admitted by in.Standing it lists the newest message on that
// branch with ts_ms < end(k) that the signer received, together with every ancestor
// (prev and parents, transitively), before its own end(k)+g. Heads already covered by
// the signer's earlier listings are omitted, and so is a head on the prev-chain of
// another head of the same list (it adds no support). Over max_heads, the heads of
// authors with more REP, then more credits, then the smaller account id are kept.
//
// Cost: one walk over the ancestors received since the signer's last listings (a walk
// stops at a message covered by an earlier listing, whose ancestors were all checked
// then), plus O(log seq) per branch head.
func Heads(in HeadsInput) Selection {
	end := in.Config.End(in.Epoch)
	w := walker{log: in.Log, recv: in.Received, listed: in.Listed, due: in.Config.DutyTime(in.Epoch), memo: map[msg.ID]bool{}}
	var sel Selection
	var picks []*dag.Node
	for _, a := range in.Log.Authors() {
		if !in.Standing.Admitted(a) {
			continue
		}
		var mine []*dag.Node
		for _, h := range in.Log.Heads(a) {
			c, ok := in.Log.LatestBefore(h.ID(), end)
			for ok && !w.good(c) {
				// Timestamps and arrival closures only grow along a chain, so the newest
				// qualifying message is found by stepping down.
				c = c.Prev()
				ok = c != nil
			}
			if !ok || slices.Contains(mine, c) {
				continue
			}
			if in.Listed.Covers(in.Log, a, c.ID()) {
				sel.Omitted++
				continue
			}
			mine = append(mine, c)
		}
		picks = append(picks, tips(in.Log, mine)...)
	}
	if limit := in.Config.MaxHeads; limit > 0 && len(picks) > limit {
		rank := make(map[msg.Account][2]uint64)
		for _, n := range picks {
			if _, ok := rank[n.Author()]; !ok {
				rank[n.Author()] = [2]uint64{in.Standing.Rep(n.Author()), in.Standing.Credits(n.Author())}
			}
		}
		slices.SortFunc(picks, func(x, y *dag.Node) int {
			rx, ry := rank[x.Author()], rank[y.Author()]
			for i := range rx {
				if rx[i] != ry[i] {
					if rx[i] > ry[i] {
						return -1
					}
					return 1
				}
			}
			return headOrder(x, y)
		})
		sel.Dropped = len(picks) - limit
		picks = picks[:limit]
	}
	slices.SortFunc(picks, headOrder)
	sel.Heads = make([]msg.Head, len(picks))
	for i, n := range picks {
		sel.Heads[i] = msg.Head{Author: n.Author(), Seq: n.Seq(), ID: n.ID()}
	}
	return sel
}

// headOrder is the (author, seq, id) order of WIRE §3.
func headOrder(x, y *dag.Node) int {
	xa, ya := x.Author(), y.Author()
	if c := bytes.Compare(xa[:], ya[:]); c != 0 {
		return c
	}
	if x.Seq() != y.Seq() {
		if x.Seq() < y.Seq() {
			return -1
		}
		return 1
	}
	xi, yi := x.ID(), y.ID()
	return bytes.Compare(xi[:], yi[:])
}

// tips drops the messages of one author that lie on the prev-chain of another one:
// listing both supports exactly what listing the newer one supports.
func tips(log Log, ns []*dag.Node) []*dag.Node {
	if len(ns) < 2 {
		return ns
	}
	out := ns[:0:0]
	for i, n := range ns {
		below := false
		for j, m := range ns {
			if i != j && log.OnChain(m.ID(), n.ID()) {
				below = true
				break
			}
		}
		if !below {
			out = append(out, n)
		}
	}
	return out
}

// walker decides, with memoisation, whether a message and all its ancestors were
// received before the duty time.
type walker struct {
	log    Log
	recv   Received
	listed *Listed
	due    uint64
	memo   map[msg.ID]bool
}

// good reports whether n and all its ancestors have durable receive times before
// w.due. The walk is iterative (chains are long) and visits each message once.
func (w *walker) good(n *dag.Node) bool {
	if v, ok := w.memo[n.ID()]; ok {
		return v
	}
	stack := []*dag.Node{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		if _, done := w.memo[x.ID()]; done {
			stack = stack[:len(stack)-1]
			continue
		}
		if w.listed.Covers(w.log, x.Author(), x.ID()) {
			// An earlier listing checked x and its ancestors against an earlier, smaller
			// duty time; receive times never change.
			w.memo[x.ID()] = true
			stack = stack[:len(stack)-1]
			continue
		}
		anc, ok := w.ancestors(x)
		pending := false
		for _, a := range anc {
			if _, done := w.memo[a.ID()]; !done {
				stack = append(stack, a)
				pending = true
			}
		}
		if pending {
			continue
		}
		v := ok && w.arrived(x.ID())
		for _, a := range anc {
			v = v && w.memo[a.ID()]
		}
		w.memo[x.ID()] = v
		stack = stack[:len(stack)-1]
	}
	return w.memo[n.ID()]
}

// ancestors gives x's prev and parents; false when one is not in the log (never for a
// held message).
func (w *walker) ancestors(x *dag.Node) ([]*dag.Node, bool) {
	b := &x.Env.Body
	out := make([]*dag.Node, 0, 1+len(b.Parents))
	ok := true
	if b.Prev != nil {
		if p := x.Prev(); p != nil {
			out = append(out, p)
		} else if p, found := w.log.Get(*b.Prev); found {
			out = append(out, p)
		} else {
			ok = false
		}
	}
	for _, id := range b.Parents {
		if p, found := w.log.Get(id); found {
			out = append(out, p)
		} else {
			ok = false
		}
	}
	return out, ok
}

func (w *walker) arrived(id msg.ID) bool {
	ms, ok := w.recv(id)
	return ok && receivedBefore(ms, w.due)
}

// receivedBefore compares a local clock reading with a protocol time.
func receivedBefore(ms int64, t uint64) bool {
	return ms < 0 || uint64(ms) < t
}

// Listed remembers what the signer's own earlier counted checkpoints listed, per
// author reduced to the messages that are not on the prev-chain of another listed one
// (so its size is bounded by authors × branches). The node adds each checkpoint's
// heads once it is signed, and on restart re-adds those of its own chain in order
// (reading heads blobs). An honest signer's checkpoints all count: it never signs two
// for one epoch on one chain.
type Listed struct {
	by map[msg.Account][]msg.ID
}

// Add records the heads of one of the signer's checkpoints.
func (l *Listed) Add(log Log, heads []msg.Head) {
	if l.by == nil {
		l.by = make(map[msg.Account][]msg.ID)
	}
	for _, h := range heads {
		if l.Covers(log, h.Author, h.ID) {
			continue
		}
		kept := l.by[h.Author][:0:0]
		for _, old := range l.by[h.Author] {
			if !log.OnChain(h.ID, old) {
				kept = append(kept, old)
			}
		}
		l.by[h.Author] = append(kept, h.ID)
	}
}

// Covers reports whether id (by author a) was listed, or lies on the prev-chain of a
// listed message: listing it again would support nothing new (SPEC §4, support).
func (l *Listed) Covers(log Log, a msg.Account, id msg.ID) bool {
	if l == nil {
		return false
	}
	for _, h := range l.by[a] {
		if h == id || log.OnChain(h, id) {
			return true
		}
	}
	return false
}

// Len counts the remembered messages.
func (l *Listed) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for _, hs := range l.by {
		n += len(hs)
	}
	return n
}
