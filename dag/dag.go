package dag

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/guild-net/guild/msg"
)

// Config holds the local limits of one node. A zero field takes its default.
type Config struct {
	// FutureSkewMs: a message with ts_ms > now + FutureSkewMs is deferred (SPEC §3, 5 s).
	FutureSkewMs int64
	// MaxOrphans and MaxOrphanBytes bound the orphan buffer (SPEC §3: 4,096 and 16 MiB).
	MaxOrphans     int
	MaxOrphanBytes int
	// MaxUnadmittedPerAuthor and MaxUnadmittedBytes bound the messages of unadmitted
	// authors (SPEC §3: 64 per author, 16 MiB in total).
	MaxUnadmittedPerAuthor int
	MaxUnadmittedBytes     int
	// MaxDeferred and MaxDeferredBytes bound the future-message queue (a local choice:
	// 4,096 and 16 MiB; the message furthest in the future is dropped first).
	MaxDeferred      int
	MaxDeferredBytes int
}

// DefaultConfig gives the limits of SPEC §3.
func DefaultConfig() Config {
	return Config{
		FutureSkewMs:           5000,
		MaxOrphans:             4096,
		MaxOrphanBytes:         16 << 20,
		MaxUnadmittedPerAuthor: 64,
		MaxUnadmittedBytes:     16 << 20,
		MaxDeferred:            4096,
		MaxDeferredBytes:       16 << 20,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.FutureSkewMs == 0 {
		c.FutureSkewMs = d.FutureSkewMs
	}
	for _, p := range []struct{ v, def *int }{
		{&c.MaxOrphans, &d.MaxOrphans}, {&c.MaxOrphanBytes, &d.MaxOrphanBytes},
		{&c.MaxUnadmittedPerAuthor, &d.MaxUnadmittedPerAuthor}, {&c.MaxUnadmittedBytes, &d.MaxUnadmittedBytes},
		{&c.MaxDeferred, &d.MaxDeferred}, {&c.MaxDeferredBytes, &d.MaxDeferredBytes},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	return c
}

// Admitter judges admission (SPEC §3): whether author a is admitted at the epoch of
// tsMs clamped to the caller's current epoch, by the caller's state after k−2.
// A nil Admitter admits everyone.
type Admitter interface {
	Admitted(a msg.Account, tsMs uint64) bool
}

// AdmitAll admits every author: for replaying a log whose admission was judged when
// it was stored, and for tests.
type AdmitAll struct{}

// Admitted always reports true.
func (AdmitAll) Admitted(msg.Account, uint64) bool { return true }

type nodeState uint8

const (
	stNone nodeState = iota // transient, while moving between buffers
	stInDag
	stOrphan
	stDeferred
	stUnadmitted
	stEvicted
)

// Node is a message that entered the dag: all its ancestors are in the dag too.
// Its fields never change once it is returned; callers must not modify them (the owner's
// tag, SetTag, is the one thing a caller may write).
type Node struct {
	// id, seq, lamport and ts copy the envelope's: a child reads them of its prev and
	// parents, whose envelopes are long out of cache when it arrives (about a tenth of
	// a rebuild went to those reads).
	id               msg.ID
	seq, lamport, ts uint64

	Env *msg.Envelope
	// Invalid is the *StructuralError that makes the message structurally invalid,
	// nil when it is valid (a valid message below an invalid one is not held either).
	Invalid error
	// Held: structurally valid and every ancestor held (SPEC §3).
	Held bool

	state   nodeState
	missing uint8   // orphan: ancestor references not yet in the dag
	headIdx int32   // index in author.heads; -1 when not a head
	link    *Node   // prev, when it is the same author's seq−1 message
	skip    *Node   // an older node on the link chain, for logarithmic ancestor lookup
	au      *author // the author's entry, once it has one (always when held): see sameAuthor
	tag     uint32
}

// Tag gives the number the dag's owner attached with SetTag, 0 if none.
func (n *Node) Tag() uint32 { return n.tag }

// SetTag attaches a number of the owner's to n: the dag itself never reads it. The
// ledger numbers a node as the epoch engine does, so that a child's parents, which the
// dag has just looked up, need no second lookup in the engine.
func (n *Node) SetTag(t uint32) { n.tag = t }

// ID is the message id.
func (n *Node) ID() msg.ID { return n.id }

// Author is the message's author.
func (n *Node) Author() msg.Account { return n.Env.Body.Author }

// Seq is the message's sequence number in its author's chain.
func (n *Node) Seq() uint64 { return n.seq }

// TsMs is the message's timestamp.
func (n *Node) TsMs() uint64 { return n.ts }

// Lamport is the message's lamport clock.
func (n *Node) Lamport() uint64 { return n.lamport }

// Prev is the author's previous message; nil for seq 1 and when the prev link is
// broken (ErrPrevMismatch).
func (n *Node) Prev() *Node { return n.link }

// Result reports one envelope's fate.
type Result struct {
	ID     msg.ID
	Status Status
	// Node is the message's node when it is in the dag (Accepted, Rejected, and
	// Duplicate of a message already in the dag).
	Node *Node
	// Missing (Orphan): ancestors the dag does not store in any form, for sync to
	// fetch. Ancestors waiting in a buffer are not listed; an orphan whose ancestors
	// are all buffered has an empty list.
	Missing []msg.ID
	// Reason (Rejected): a *StructuralError.
	Reason error
	// Added: every message that entered the dag in this call, the message itself and
	// the orphans it released, ancestors before descendants.
	Added []*Node
	// Evicted: messages this call dropped from a bounded buffer (possibly the message
	// itself), so a store may forget them; sync can bring them back.
	Evicted []msg.ID
}

// DAG is the log of one network as a graph of author chains and parent links.
// It is not safe for concurrent use.
type DAG struct {
	cfg     Config
	idx     index // every stored message: dag and buffers
	authors map[msg.Account]*author
	waiting map[msg.ID][]*Node // missing id → orphans waiting for it

	orphanQ     fifo
	orphanN     int
	orphanBytes int

	unadm      map[msg.Account][]*Node // per author, arrival order
	unadmQ     fifo
	unadmN     int
	unadmBytes int

	deferred      []*Node // by (ts, id)
	deferredBytes int

	inDag, held, invalid int
	restoring            bool // see Restoring
}

// New makes an empty dag.
func New(cfg Config) *DAG {
	return &DAG{
		cfg:     cfg.withDefaults(),
		authors: make(map[msg.Account]*author),
		waiting: make(map[msg.ID][]*Node),
		unadm:   make(map[msg.Account][]*Node),
	}
}

// Reserve makes room for n more messages, so that a caller loading a known number of
// stored messages does not pay for the id index growing step by step.
func (d *DAG) Reserve(n int) {
	d.idx.reserve(n)
}

// Ingest takes one envelope that passed msg.Decode. The checks run in this order:
// duplicate, future (deferred), admission (ignored), ancestors present (orphan),
// structure (accepted or rejected). nowMs is the caller's clock.
func (d *DAG) Ingest(e *msg.Envelope, nowMs int64, adm Admitter) Result {
	if n := d.idx.get(&e.ID); n != nil {
		if n.state == stUnadmitted && admitted(adm, e) {
			// The author has been admitted since: this is a promotion of one message.
			d.unadmRemove(n)
			return d.attach(n)
		}
		r := Result{ID: e.ID, Status: Duplicate}
		if n.state == stInDag {
			r.Node = n
		}
		return r
	}
	n := &Node{id: e.ID, seq: e.Body.Seq, lamport: e.Body.Lamport, ts: e.Body.TsMs, Env: e, headIdx: -1}
	d.idx.put(n)
	if d.future(e, nowMs) {
		return d.deferAdd(n)
	}
	return d.admit(n, adm)
}

// Tick releases the deferred messages that are no longer in the future at nowMs, in
// (ts, id) order, and ingests each (admission, ancestors, structure). Their receive
// time is nowMs. It costs O(1) when nothing is due.
func (d *DAG) Tick(nowMs int64, adm Admitter) []Result {
	i := 0
	for i < len(d.deferred) && !d.future(d.deferred[i].Env, nowMs) {
		i++
	}
	if i == 0 {
		return nil
	}
	due := slices.Clone(d.deferred[:i])
	d.deferred = slices.Delete(d.deferred, 0, i)
	out := make([]Result, 0, len(due))
	for _, n := range due {
		d.deferredBytes -= n.Env.Size()
		n.state = stNone
		out = append(out, d.admit(n, adm))
	}
	return out
}

// NextDue reports the earliest nowMs at which Tick releases a deferred message.
func (d *DAG) NextDue() (nowMs int64, ok bool) {
	if len(d.deferred) == 0 {
		return 0, false
	}
	ts := d.deferred[0].ts
	if ts > 1<<62 {
		return 1 << 62, true
	}
	return int64(ts) - d.cfg.FutureSkewMs, true
}

// Promote ingests every stored message of an unadmitted author without asking for
// admission: call it when a counted checkpoint lists one of its messages (SPEC §3
// judges admission at each message's own epoch, so an author admitted later does not
// by itself bring its earlier messages in). Messages arriving later are judged by the
// Admitter again. Results come in (seq, id) order.
func (d *DAG) Promote(a msg.Account) []Result {
	list := d.unadm[a]
	if len(list) == 0 {
		return nil
	}
	list = slices.Clone(list)
	for _, n := range list {
		d.unadmRemove(n)
	}
	slices.SortFunc(list, func(x, y *Node) int {
		if x.seq != y.seq {
			if x.seq < y.seq {
				return -1
			}
			return 1
		}
		return bytes.Compare(x.Env.ID[:], y.Env.ID[:])
	})
	out := make([]Result, 0, len(list))
	for _, n := range list {
		out = append(out, d.attach(n))
	}
	return out
}

func admitted(adm Admitter, e *msg.Envelope) bool {
	return adm == nil || adm.Admitted(e.Body.Author, e.Body.TsMs)
}

func (d *DAG) future(e *msg.Envelope, nowMs int64) bool {
	limit := nowMs + d.cfg.FutureSkewMs
	if limit < 0 {
		return true
	}
	return e.Body.TsMs > uint64(limit)
}

func (d *DAG) admit(n *Node, adm Admitter) Result {
	if !admitted(adm, n.Env) {
		r := Result{ID: n.Env.ID, Status: Ignored}
		d.unadmAdd(n, &r)
		return r
	}
	return d.attach(n)
}

// attach puts n in the dag if all its ancestors are there, else in the orphan buffer.
func (d *DAG) attach(n *Node) Result {
	r := Result{ID: n.Env.ID}
	b := &n.Env.Body
	var buf [1 + msg.MaxParents]*Node
	anc := buf[:0] // prev, then parents: handed to place to save a second lookup
	var miss int
	note := func(id msg.ID) {
		a := d.idx.get(&id)
		if a != nil && a.state == stInDag {
			anc = append(anc, a)
			return
		}
		miss++
		d.waiting[id] = append(d.waiting[id], n)
		if a == nil && !slices.Contains(r.Missing, id) {
			r.Missing = append(r.Missing, id)
		}
	}
	if b.Prev != nil {
		note(*b.Prev)
	}
	for _, p := range b.Parents {
		note(p)
	}
	if miss > 0 {
		n.missing = uint8(miss) // ≤ 1 + MaxParents
		r.Status = Orphan
		d.orphanAdd(n, &r)
		return r
	}
	d.enter(n, anc, &r)
	r.Node = n
	if n.Invalid != nil {
		r.Status, r.Reason = Rejected, n.Invalid
	} else {
		r.Status = Accepted
	}
	return r
}

// enter places n and then, breadth first, every orphan that n completes.
func (d *DAG) enter(n *Node, anc []*Node, r *Result) {
	d.place(n, anc)
	start := len(r.Added)
	r.Added = append(r.Added, n)
	if len(d.waiting) == 0 {
		return
	}
	for i := start; i < len(r.Added); i++ {
		id := r.Added[i].Env.ID
		ws, ok := d.waiting[id]
		if !ok {
			continue
		}
		delete(d.waiting, id)
		for _, w := range ws {
			if w.state != stOrphan {
				continue
			}
			w.missing--
			if w.missing == 0 {
				d.orphanN--
				d.orphanBytes -= w.Env.Size()
				d.place(w, nil)
				r.Added = append(r.Added, w)
			}
		}
	}
}

// place adds n, whose ancestors are all in the dag, and decides its validity and
// whether it is held. Neither ever changes afterwards: they depend only on n and its
// ancestors, which is what makes the dag a function of the set of envelopes.
//
// anc holds the nodes of prev (if any) and then of the parents, in body order; nil
// means look them up.
func (d *DAG) place(n *Node, anc []*Node) {
	n.state = stInDag
	b := &n.Env.Body
	if anc == nil {
		var buf [1 + msg.MaxParents]*Node
		anc = buf[:0]
		if b.Prev != nil {
			anc = append(anc, d.idx.get(b.Prev))
		}
		for i := range b.Parents {
			anc = append(anc, d.idx.get(&b.Parents[i]))
		}
	}
	held := true
	var err error
	var maxLam, maxTs uint64
	var tsFrom *Node
	au := d.authors[b.Author] // nil until the author has a held message
	n.au = au
	if b.Prev != nil {
		p := anc[0]
		anc = anc[1:]
		switch {
		case !sameAuthor(p, au, &b.Author):
			err = &StructuralError{ErrPrevMismatch, fmt.Sprintf("prev %s is by another author", p.id.Short())}
		case p.seq+1 != b.Seq:
			err = &StructuralError{ErrPrevMismatch, fmt.Sprintf("prev %s has seq %d, want %d", p.id.Short(), p.seq, b.Seq-1)}
		default:
			n.link = p
		}
		held = p.Held
		maxLam, maxTs, tsFrom = p.lamport, p.ts, p
	}
	for i, id := range b.Parents {
		p := anc[i]
		if err == nil && sameAuthor(p, au, &b.Author) {
			err = &StructuralError{ErrParentSameAuthor, "parent " + id.Short()}
		}
		held = held && p.Held
		maxLam = max(maxLam, p.lamport)
		if p.ts > maxTs {
			maxTs, tsFrom = p.ts, p
		}
	}
	if err == nil && b.Lamport != maxLam+1 {
		err = &StructuralError{ErrLamport, fmt.Sprintf("%d, want %d", b.Lamport, maxLam+1)}
	}
	if err == nil && b.TsMs < maxTs {
		err = &StructuralError{ErrTimestamp, fmt.Sprintf("%d < %d of %s", b.TsMs, maxTs, tsFrom.id.Short())}
	}
	if n.link != nil {
		n.skip = d.ancestor(n.link, skipSeq(b.Seq))
	}
	n.Invalid = err
	n.Held = held && err == nil
	d.inDag++
	if err != nil {
		d.invalid++
	}
	if n.Held {
		d.held++
		d.hold(n)
	}
}

// sameAuthor reports whether p is by the author a, whose entry is au (nil if none).
// An entry is shared by the author's nodes, so comparing entries spares reading p's
// envelope; a p without one (an author with nothing held yet) is compared by account.
func sameAuthor(p *Node, au *author, a *msg.Account) bool {
	if p.au != nil {
		return p.au == au
	}
	return p.Env.Body.Author == *a
}

// Get gives the node of a message in the dag.
func (d *DAG) Get(id msg.ID) (*Node, bool) {
	n := d.idx.get(&id)
	if n == nil || n.state != stInDag {
		return nil, false
	}
	return n, true
}

// Held reports whether the message is in the dag and held.
func (d *DAG) Held(id msg.ID) bool {
	n, ok := d.Get(id)
	return ok && n.Held
}

// Has reports whether the message is stored in any form: in the dag, or waiting as
// an orphan, a deferred or an unadmitted message.
func (d *DAG) Has(id msg.ID) bool {
	return d.idx.get(&id) != nil
}

// Envelope gives a stored message in any form, for sync to serve.
func (d *DAG) Envelope(id msg.ID) (*msg.Envelope, bool) {
	n := d.idx.get(&id)
	if n == nil {
		return nil, false
	}
	return n.Env, true
}

// Stats counts what the dag stores, for metrics.
type Stats struct {
	Nodes, Held, Invalid    int // in the dag; Invalid counts structurally invalid ones
	Authors, ForkedAuthors  int // authors with held messages; those with fork evidence
	Orphans, OrphanBytes    int
	Unadmitted, UnadmBytes  int
	Deferred, DeferredBytes int
	Waiting                 int // distinct ids orphans wait for
}

// Stats gives the current counts.
func (d *DAG) Stats() Stats {
	s := Stats{
		Nodes: d.inDag, Held: d.held, Invalid: d.invalid, Authors: len(d.authors),
		Orphans: d.orphanN, OrphanBytes: d.orphanBytes,
		Unadmitted: d.unadmN, UnadmBytes: d.unadmBytes,
		Deferred: len(d.deferred), DeferredBytes: d.deferredBytes,
		Waiting: len(d.waiting),
	}
	for _, a := range d.authors {
		if a.minFork != 0 {
			s.ForkedAuthors++
		}
	}
	return s
}
