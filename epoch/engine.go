package epoch

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/guild-net/guild/msg"
)

// Message is what the epoch rule needs of one held message (SPEC §3: structurally valid, all
// ancestors held). Build it with FromEnvelope.
type Message struct {
	ID      msg.ID
	Author  msg.Account
	Seq     uint64
	Prev    msg.ID // zero iff Seq == 1
	Parents []msg.ID
	TsMs    uint64
	// Checkpoint is set for a CHECKPOINT message, with its heads resolved: a checkpoint whose
	// heads blob is not held is itself not held, so it never reaches the engine.
	Checkpoint *CheckpointInfo
	// ParentNums, when it has one entry per parent, gives each parent's number (see
	// Engine.Len), so that Add finds the parents without an id index. A caller that
	// tracks numbers has just looked the parents up in its own index; a second lookup
	// in the engine's was a tenth of a rebuild. Left empty, Add looks them up by id.
	ParentNums []uint32
}

// CheckpointInfo is the part of a CHECKPOINT payload the epoch rule reads.
type CheckpointInfo struct {
	Epoch uint64
	Heads []msg.Head
}

// FromEnvelope converts a held envelope. For a checkpoint that carries a heads blob,
// blobHeads is the decoded blob; otherwise it is ignored.
func FromEnvelope(env *msg.Envelope, blobHeads []msg.Head) *Message {
	m := new(Message)
	FillMessage(m, env, blobHeads)
	return m
}

// FillMessage is FromEnvelope into m, for a caller that converts every message of a
// log and reuses one Message: Add keeps nothing of it.
func FillMessage(m *Message, env *msg.Envelope, blobHeads []msg.Head) {
	*m = Message{ID: env.ID, Author: env.Body.Author, Seq: env.Body.Seq, Parents: env.Body.Parents, TsMs: env.Body.TsMs}
	if env.Body.Prev != nil {
		m.Prev = *env.Body.Prev
	}
	cp, ok := env.Payload.(*msg.Checkpoint)
	if !ok {
		return
	}
	heads := cp.Heads
	if cp.HeadsBlob != nil {
		heads = blobHeads
	}
	m.Checkpoint = &CheckpointInfo{Epoch: cp.Epoch, Heads: heads}
}

// NoChange is the dirtyFrom Add returns when no cut, batch or liveness can have changed.
const NoChange = math.MaxUint64

// Errors of Add. Both mean the caller broke the contract that only held messages arrive, in
// an order where ancestors come first.
var (
	ErrMissingAncestor = errors.New("epoch: ancestor not added yet")
	ErrNotStructural   = errors.New("epoch: message is not structurally valid")
)

// Engine indexes the held messages of one node and computes cuts, batches and settledness
// from them. It is not safe for concurrent use; it only grows.
type Engine struct {
	cfg        Config
	all        []*node          // every node, by number: the order of Add
	byID       map[msg.ID]*node // built on first use: see index
	accts      map[msg.Account]*account
	acctList   []*account
	segs       []*segment
	listedSegs []*segment          // segments some counted checkpoint lists, in creation order
	pending    map[msg.ID]pendList // listed heads not held yet → their listings in pend
	pend       []pendListing       // listings of pending heads, linked by next; free ones too
	pendFree   int32               // first free pend entry, -1 if none
	nodeSlab   []node              // nodes are carved from chunks: one allocation per many
	ptrSlab    []*node             // parents slices likewise
	forkKids   map[*node][]*node   // children of nodes with two or more children
	newHeads   []*node             // heads newly listed or newly held, for the stop rule
	wt         []uint64            // scratch: weight by account index for the current call
	members    []int               // scratch: account indexes of the current witnesses
	qbuf       []support           // scratch for quorum prefixes
	cands      []candidate         // scratch for Cut
	forks      int                 // accounts with fork evidence
}

type account struct {
	id       msg.Account
	idx      int
	roots    []*node             // seq-1 messages; two or more is a fork
	chain    *segment            // the first root's segment: while not forked, every message
	forked   bool                // holds fork evidence (two messages at one seq)
	cpEpochs map[uint64]struct{} // epochs with a valid checkpoint of this account
}

// node is one held message. Its author's messages form a tree by prev; the tree is cut into
// segments (maximal runs that were extended by a first child), so that a cut is one prefix
// length per segment and a non-forking author has exactly one segment.
type node struct {
	// The first 64 bytes hold what a listing reads (id, account, seq, segment, the
	// new-head flag): a listed head is usually out of cache, and nodes are 128 bytes
	// carved from page-aligned slabs, so a listing costs one line, not three.
	id      msg.ID
	a       *account
	seq     uint64
	seg     *segment
	newHead bool   // in Engine.newHeads
	num     uint32 // position in Engine.all

	depth    uint64 // 1 + max depth of prev and parents: the lamport clock, recomputed
	prev     *node
	parents  []*node
	firstKid *node
	cp       *cpState
	lastCp   *node // the nearest checkpoint at or below this node on its chain
}

// cpMax is the largest epoch among the checkpoints at or below n on its chain (0 if none).
func (n *node) cpMax() uint64 {
	if n.lastCp == nil {
		return 0
	}
	return n.lastCp.cp.max
}

type cpState struct {
	epoch  uint64
	max    uint64 // the largest epoch among the checkpoints at or below this one
	valid  bool
	prevCp *node // the nearest checkpoint below on the chain
	dupOf  *node // the lowest-seq earlier checkpoint for the same epoch on the chain
}

type segment struct {
	idx    int
	parent *segment
	attach uint64 // seq of the node in parent this segment hangs from (0 for a root)
	start  uint64 // seq of its first node
	nodes  []*node
	stairs []stair // per listing witness
	listed bool    // in Engine.listedSegs
	top    uint64  // the highest seq any listing reaches in this segment
}

// stair records, for one witness and one segment, the highest seq of the segment that the
// witness's counted checkpoints for epochs ≤ e list (directly or through a later head): steps
// rise in both epoch and seq, and the answer for e is the last step with epoch ≤ e.
type stair struct {
	w     int
	hint  int // index the last query answered from; cuts go up one epoch at a time
	steps []step
}

type step struct{ epoch, seq uint64 }

type listing struct {
	w     *account
	epoch uint64
	head  msg.Head
}

type support struct{ seq, weight uint64 }

// pendListing is one listing of a head not held yet, in a list per head id.
type pendListing struct {
	l    listing
	next int32 // -1 ends the list
}

// pendList is the first and last entry of a head's listings, oldest first.
type pendList struct{ first, last int32 }

// slabChunk is how many nodes (and parent pointers) one allocation holds. The engine
// keeps every node for its lifetime, so a chunk never pins garbage.
const slabChunk = 512

func (e *Engine) newNode() *node {
	if len(e.nodeSlab) == 0 {
		e.nodeSlab = make([]node, slabChunk)
	}
	n := &e.nodeSlab[0]
	e.nodeSlab = e.nodeSlab[1:]
	return n
}

// parentSlice gives a slice of k parent slots whose capacity ends at k, so that no
// append can reach a neighbour's slots.
func (e *Engine) parentSlice(k int) []*node {
	if k == 0 {
		return nil
	}
	if k > slabChunk/4 {
		return make([]*node, k)
	}
	if len(e.ptrSlab) < k {
		e.ptrSlab = make([]*node, slabChunk)
	}
	p := e.ptrSlab[:k:k]
	e.ptrSlab = e.ptrSlab[k:]
	return p
}

// addPending records l for a head that is not held yet.
func (e *Engine) addPending(l listing) {
	i := e.pendFree
	if i >= 0 {
		e.pendFree = e.pend[i].next
	} else {
		i = int32(len(e.pend))
		e.pend = append(e.pend, pendListing{})
	}
	e.pend[i] = pendListing{l: l, next: -1}
	if pl, ok := e.pending[l.head.ID]; ok {
		e.pend[pl.last].next = i
		e.pending[l.head.ID] = pendList{pl.first, i}
	} else {
		e.pending[l.head.ID] = pendList{i, i}
	}
}

// eachPending calls f for every listing in the list starting at i.
func (e *Engine) eachPending(i int32, f func(l listing) bool) bool {
	for ; i >= 0; i = e.pend[i].next {
		if !f(e.pend[i].l) {
			return false
		}
	}
	return true
}

// supports calls f with the weight and supported seq for epoch k of every current witness
// (set by setWeights) that has a stair in s, walking whichever list is shorter.
func (e *Engine) supports(s *segment, k uint64, f func(weight, seq uint64)) {
	if len(s.stairs) <= 2*len(e.members) {
		for i := range s.stairs {
			st := &s.stairs[i]
			if w := e.wt[st.w]; w > 0 {
				f(w, st.query(k))
			}
		}
		return
	}
	for _, m := range e.members {
		if i, ok := s.find(m); ok {
			f(e.wt[m], s.stairs[i].query(k))
		}
	}
}

// NewEngine returns an empty engine.
func NewEngine(cfg Config) *Engine {
	return &Engine{
		cfg:      cfg,
		accts:    make(map[msg.Account]*account),
		pending:  make(map[msg.ID]pendList),
		pendFree: -1,
		forkKids: make(map[*node][]*node),
	}
}

// Reserve makes room for n more messages, so that a caller loading a known number of
// stored messages does not pay for growth step by step.
func (e *Engine) Reserve(n int) {
	e.all = slices.Grow(e.all, n)
}

// index gives the id index, building it the first time it is needed. Adding messages
// whose parents come by number needs none (a rebuild), so a node builds it only once
// something asks by id: a fork, a recomputation's stop rule, a parked message.
func (e *Engine) index() map[msg.ID]*node {
	if e.byID == nil {
		e.byID = make(map[msg.ID]*node, len(e.all))
		for _, n := range e.all {
			e.byID[n.id] = n
		}
	}
	return e.byID
}

// Config gives the engine's parameters.
func (e *Engine) Config() Config { return e.cfg }

// Len is the number of messages added. Messages are numbered in the order they are
// added, from 0, so Len before an Add that adds a message is that message's number
// (Batch.Refs, Message.ParentNums).
func (e *Engine) Len() int { return len(e.all) }

// Has reports whether id was added.
func (e *Engine) Has(id msg.ID) bool { _, ok := e.index()[id]; return ok }

func (e *Engine) markForked(a *account) {
	if !a.forked {
		a.forked = true
		e.forks++
	}
}

// Forks counts the accounts the engine holds fork evidence against: a caller can tell
// whether an Add brought new evidence without asking about the author twice.
func (e *Engine) Forks() int { return e.forks }

// Forked reports whether the engine holds fork evidence against a.
func (e *Engine) Forked(a msg.Account) bool {
	ac := e.accts[a]
	return ac != nil && ac.forked
}

// Add indexes a newly held message. Ancestors must have been added first (a held message's
// ancestors are held, so the order in which messages become held always works); adding a
// message twice is a no-op. dirtyFrom is the earliest epoch whose cut, batch or liveness can
// differ because of it, or NoChange.
func (e *Engine) Add(m *Message) (dirtyFrom uint64, err error) {
	if m.Seq == 0 {
		return NoChange, fmt.Errorf("message %s: seq 0: %w", m.ID.Short(), ErrNotStructural)
	}
	a := e.account(m.Author)
	if e.find(a, m.Seq, m.ID) != nil {
		return NoChange, nil
	}
	var prev *node
	if m.Seq > 1 {
		prev = e.find(a, m.Seq-1, m.Prev)
		if prev == nil {
			if e.index()[m.Prev] != nil {
				return NoChange, fmt.Errorf("message %s: prev is not the author's seq−1: %w", m.ID.Short(), ErrNotStructural)
			}
			return NoChange, fmt.Errorf("message %s: prev %s: %w", m.ID.Short(), m.Prev.Short(), ErrMissingAncestor)
		}
	}
	parents := e.parentSlice(len(m.Parents))
	depth := uint64(0)
	if prev != nil {
		depth = prev.depth
	}
	byNum := len(m.ParentNums) == len(m.Parents)
	for i, pid := range m.Parents {
		var p *node
		if byNum {
			if j := m.ParentNums[i]; j < uint32(len(e.all)) && e.all[j].id == pid {
				p = e.all[j]
			}
		} else {
			p = e.index()[pid]
		}
		if p == nil {
			return NoChange, fmt.Errorf("message %s: parent %s: %w", m.ID.Short(), pid.Short(), ErrMissingAncestor)
		}
		if p.a == a {
			return NoChange, fmt.Errorf("message %s: parent by the same author: %w", m.ID.Short(), ErrNotStructural)
		}
		parents[i] = p
		depth = max(depth, p.depth)
	}
	n := e.newNode()
	*n = node{id: m.ID, a: a, seq: m.Seq, depth: depth + 1, prev: prev, parents: parents, num: uint32(len(e.all))}
	e.place(n)
	e.all = append(e.all, n)
	if e.byID != nil {
		e.byID[m.ID] = n
	}

	dirtyFrom = NoChange
	if m.Checkpoint != nil {
		if e.checkpoint(n, m.TsMs, m.Checkpoint) {
			dirtyFrom = m.Checkpoint.Epoch
		}
	}
	if pl, ok := e.pending[m.ID]; ok {
		delete(e.pending, m.ID)
		for j := pl.first; j >= 0; {
			l, next := e.pend[j].l, e.pend[j].next
			e.pend[j] = pendListing{next: e.pendFree}
			e.pendFree = j
			if e.list(l.w, l.epoch, &l.head, n) {
				dirtyFrom = min(dirtyFrom, l.epoch)
			}
			j = next
		}
	}
	return dirtyFrom, nil
}

func (e *Engine) account(id msg.Account) *account {
	a := e.accts[id]
	if a == nil {
		a = &account{id: id, idx: len(e.acctList)}
		e.accts[id] = a
		e.acctList = append(e.acctList, a)
	}
	return a
}

// place links n into its author's tree and segment and records fork evidence.
func (e *Engine) place(n *node) {
	p := n.prev
	switch {
	case p == nil:
		n.seg = e.newSegment(nil, 0, 1)
		n.a.roots = append(n.a.roots, n)
		if n.a.chain == nil {
			n.a.chain = n.seg
		}
		if len(n.a.roots) > 1 {
			e.markForked(n.a)
		}
	case p.firstKid == nil:
		p.firstKid = n
		n.seg = p.seg // p had no child, so it ends its segment
	default:
		kids := e.forkKids[p]
		if kids == nil {
			kids = []*node{p.firstKid}
		}
		e.forkKids[p] = append(kids, n)
		e.markForked(n.a)
		n.seg = e.newSegment(p.seg, p.seq, n.seq)
	}
	n.seg.nodes = append(n.seg.nodes, n)
	if p != nil {
		n.lastCp = p.lastCp
	}
}

func (e *Engine) newSegment(parent *segment, attach, start uint64) *segment {
	s := &segment{idx: len(e.segs), parent: parent, attach: attach, start: start}
	e.segs = append(e.segs, s)
	return s
}

// checkpoint applies SPEC §4 "Checkpoint validity" and "Counting" to a new checkpoint and
// records its listings. It reports whether any support changed.
func (e *Engine) checkpoint(n *node, ts uint64, c *CheckpointInfo) bool {
	k := c.Epoch
	cs := &cpState{epoch: k, max: k, prevCp: n.lastCp}
	earlier, below := n.lastCp != nil, n.cpMax()
	cs.valid = ts >= e.cfg.DutyTime(k) && (!earlier || k > below)
	if earlier && k <= below {
		cs.max = below
		for c := n.lastCp; c != nil; c = c.cp.prevCp {
			if c.cp.epoch == k {
				cs.dupOf = c // keep walking: the lowest seq one is the pair's first
			}
		}
	}
	n.cp = cs
	n.lastCp = n
	if !cs.valid {
		return false
	}
	a := n.a
	if a.cpEpochs == nil {
		a.cpEpochs = make(map[uint64]struct{})
	}
	a.cpEpochs[k] = struct{}{}
	changed := false
	for i := range c.Heads {
		h := &c.Heads[i] // 72 bytes: 400,000 copies a rebuild were measurable
		if x := e.lookupHead(h); x != nil {
			changed = e.list(a, k, h, x) || changed
		} else {
			e.addPending(listing{w: a, epoch: k, head: *h})
		}
	}
	return changed
}

// find gives a's message at seq with the given id, if added. A message's id fixes its
// author and seq, so for an author that never forked the only place to look is index
// seq−1 of its one segment, in the small account table rather than the large id map.
func (e *Engine) find(a *account, seq uint64, id msg.ID) *node {
	if !a.forked {
		if a.chain == nil {
			return nil
		}
		if nodes := a.chain.nodes; seq-1 < uint64(len(nodes)) && nodes[seq-1].id == id {
			return nodes[seq-1]
		}
		return nil
	}
	if n := e.index()[id]; n != nil && n.a == a && n.seq == seq {
		return n
	}
	return nil
}

// lookupHead finds a listed head. For an author that never forked, the node is at index
// seq−1 of its only segment, found through the small, cache-resident account table instead of
// the large id map.
func (e *Engine) lookupHead(h *msg.Head) *node {
	if a := e.accts[h.Author]; a != nil && !a.forked && a.chain != nil {
		nodes := a.chain.nodes
		if h.Seq-1 < uint64(len(nodes)) && nodes[h.Seq-1].id == h.ID {
			return nodes[h.Seq-1]
		}
	}
	return e.index()[h.ID]
}

// list applies one counted listing of the held head x, by witness w for epoch: w now supports
// x and every message on x's prev-chain from epoch on. A head whose author or seq does not match the
// message it names supports nothing.
func (e *Engine) list(w *account, epoch uint64, h *msg.Head, x *node) bool {
	if x.a.id != h.Author || x.seq != h.Seq {
		return false
	}
	if !x.newHead {
		x.newHead = true
		e.newHeads = append(e.newHeads, x)
	}
	changed := false
	for s, seq := x.seg, x.seq; s != nil; s, seq = s.parent, s.attach {
		// If this segment already had (epoch' ≤ epoch, seq' ≥ seq) for the witness, the
		// listing that put it there also reached every ancestor segment: stop.
		if !s.raise(w.idx, epoch, seq) {
			break
		}
		s.top = max(s.top, seq)
		if !s.listed {
			s.listed = true
			e.listedSegs = append(e.listedSegs, s)
		}
		changed = true
	}
	return changed
}

// raise records that witness w supports the segment up to seq from epoch on.
func (s *segment) raise(w int, epoch, seq uint64) bool {
	i, ok := s.find(w)
	if !ok {
		s.stairs = slices.Insert(s.stairs, i, stair{w: w})
	}
	return s.stairs[i].insert(epoch, seq)
}

// find locates witness w's stair; stairs are sorted by account index, because any admitted
// account can sign checkpoints and a segment may carry many stairs of non-witnesses.
func (s *segment) find(w int) (int, bool) {
	lo, hi := 0, len(s.stairs)
	for lo < hi {
		mid := (lo + hi) / 2
		if s.stairs[mid].w < w {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < len(s.stairs) && s.stairs[lo].w == w
}

func (st *stair) query(k uint64) uint64 {
	n := len(st.steps)
	if n > 0 && st.steps[n-1].epoch <= k {
		return st.steps[n-1].seq
	}
	if h := st.hint; h < n-1 && st.steps[h].epoch <= k {
		if st.steps[h+1].epoch > k {
			return st.steps[h].seq
		}
		if h+2 == n || st.steps[h+2].epoch > k {
			st.hint = h + 1
			return st.steps[h+1].seq
		}
	}
	// Binary search for the last step with epoch ≤ k.
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		if st.steps[mid].epoch <= k {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0
	}
	st.hint = lo - 1
	return st.steps[lo-1].seq
}

func (st *stair) insert(epoch, seq uint64) bool {
	if n := len(st.steps); n > 0 && epoch >= st.steps[n-1].epoch {
		// The common case: a checkpoint for the newest epoch so far.
		last := &st.steps[n-1]
		switch {
		case seq <= last.seq:
			return false
		case epoch == last.epoch:
			last.seq = seq
		default:
			st.steps = append(st.steps, step{epoch, seq})
		}
		return true
	}
	if st.query(epoch) >= seq {
		return false
	}
	i := 0
	for i < len(st.steps) && st.steps[i].epoch < epoch {
		i++
	}
	j := i
	for j < len(st.steps) && st.steps[j].seq <= seq {
		j++ // dominated by the new step
	}
	st.steps = append(st.steps[:i], append([]step{{epoch, seq}}, st.steps[j:]...)...)
	return true
}

// TakeNewHeads returns the heads that were newly listed or newly held since the last call,
// and forgets them. The recomputation stop rule waits until all of them are in the cut.
func (e *Engine) TakeNewHeads() []msg.ID {
	ids := make([]msg.ID, len(e.newHeads))
	for i, n := range e.newHeads {
		ids[i] = n.id
		n.newHead = false
	}
	e.newHeads = nil
	return ids
}

// DropNewHeads forgets the newly listed or held heads without listing them, for a caller
// with no recomputation for them to stop.
func (e *Engine) DropNewHeads() {
	for _, n := range e.newHeads {
		n.newHead = false
	}
	e.newHeads = e.newHeads[:0]
}

// MissingHeads returns the ids listed by counted checkpoints that are not held yet, sorted;
// the node fetches them by sync.
func (e *Engine) MissingHeads() []msg.ID {
	ids := make([]msg.ID, 0, len(e.pending))
	for id := range e.pending {
		ids = append(ids, id)
	}
	sortIDs(ids)
	return ids
}

// setWeights loads ws into the per-account scratch array; the returned func clears it.
func (e *Engine) setWeights(ws WitnessSet) func() {
	if len(e.wt) < len(e.acctList) {
		e.wt = make([]uint64, len(e.acctList)+len(e.acctList)/2+8)
	}
	e.members = e.members[:0]
	for i, m := range ws.Members {
		if a := e.accts[m]; a != nil && ws.Weights[i] > 0 {
			e.wt[a.idx] = ws.Weights[i]
			e.members = append(e.members, a.idx)
		}
	}
	return func() {
		for _, i := range e.members {
			e.wt[i] = 0
		}
		e.members = e.members[:0]
	}
}
