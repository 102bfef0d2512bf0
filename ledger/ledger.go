package ledger

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/state"
)

// Options tune a ledger.
type Options struct {
	DAG dag.Config
	// Blobs appends the content of a blob the node holds to dst, for checkpoint head
	// lists; the ledger reuses dst. Nil means no blobs are held: a checkpoint with a
	// heads blob waits for BlobArrived.
	Blobs func(dst []byte, id msg.ID) ([]byte, bool)
}

// Record is what the ledger keeps of one computed epoch.
type Record struct {
	Epoch   uint64
	Cut     *epoch.Cut
	Batch   *epoch.Batch
	Seed    msg.ID
	State   *state.State // the state after this epoch
	Settled bool

	root   msg.ID
	rooted bool
}

// Root gives the state root after the epoch, computing it once.
func (r *Record) Root() msg.ID {
	if !r.rooted {
		r.root, r.rooted = r.State.Root(), true
	}
	return r.root
}

// Ledger composes dag, epoch engine and state for one network.
type Ledger struct {
	gen     *genesis.Genesis
	cfg     epoch.Config
	opts    Options
	dag     *dag.DAG
	eng     *epoch.Engine
	genesis *state.State
	epochs  []*Record

	dirty    uint64      // earliest epoch to recompute; math.MaxUint64 when none
	parked   []*dag.Node // held messages waiting for a heads blob (or for a parked ancestor)
	nowMs    int64
	invalid  []dag.Result // structurally invalid messages seen, for inspection
	newHeads []msg.ID     // newly listed or held heads not yet seen through a full recomputation
	maxCP    uint64
	anyCP    bool
	network  msg.ID // seed_{−1}
	// settleFrom and firstUnsettled bound the epochs settle must look at again.
	settleFrom     uint64
	firstUnsettled uint64
	replay         bool          // inside IngestAdmitted: listed messages need no promotion
	scratch        epoch.Message // the message being added: the engine keeps none of it
	blobBuf        []byte        // the heads blob being read, likewise
	headsBuf       []msg.Head    // and its heads
	// envs holds every envelope the engine holds, by engine number (Batch.Refs), so
	// that a batch's envelopes are found without a lookup per id.
	envs   []*msg.Envelope
	numBuf []uint32 // the parents' engine numbers of the message being added
}

// ErrEngine reports a broken contract between the dag and the epoch engine: a bug.
var ErrEngine = errors.New("ledger: epoch engine refused a held message")

// New gives an empty ledger for g.
func New(g *genesis.Genesis, o Options) (*Ledger, error) {
	st, err := state.Genesis(g)
	if err != nil {
		return nil, err
	}
	cfg := state.EpochConfig(g)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Ledger{gen: g, cfg: cfg, opts: o, dag: dag.New(o.DAG), eng: epoch.NewEngine(cfg), genesis: st,
		dirty: math.MaxUint64, network: g.NetworkID(), settleFrom: math.MaxUint64}, nil
}

// Genesis gives the network's genesis.
func (l *Ledger) Genesis() *genesis.Genesis { return l.gen }

// Config gives the epoch rule's configuration.
func (l *Ledger) Config() epoch.Config { return l.cfg }

// DAG exposes the message graph to readers (sync, inspection).
func (l *Ledger) DAG() *dag.DAG { return l.dag }

// Engine exposes the epoch engine to readers.
func (l *Ledger) Engine() *epoch.Engine { return l.eng }

// Ingest takes one decoded envelope received at nowMs.
func (l *Ledger) Ingest(e *msg.Envelope, nowMs int64) (dag.Result, error) {
	l.nowMs = max(l.nowMs, nowMs)
	r := l.dag.Ingest(e, nowMs, admitter{l})
	if err := l.absorb(r); err != nil {
		return r, err
	}
	return r, nil
}

// IngestAdmitted ingests without asking for admission: for rebuilding from the store,
// whose messages were judged when they arrived. Admission decides only which buffer an
// unadmitted author's message waits in, never what enters a cut, so the rebuilt state
// is the same. A rebuild in the store's order brackets its calls with Restoring.
func (l *Ledger) IngestAdmitted(e *msg.Envelope, nowMs int64) (dag.Result, error) {
	l.nowMs = max(l.nowMs, nowMs)
	r := l.dag.Ingest(e, nowMs, dag.AdmitAll{})
	// Everyone is admitted here, so nothing waits in the unadmitted buffer and a
	// checkpoint's listed heads need no promotion.
	l.replay = true
	err := l.absorb(r)
	l.replay = false
	return r, err
}

// Restoring brackets a rebuild from the node's store (see dag.DAG.Restoring): while
// on, a stored message that comes before its ancestors waits for them however many
// wait. Turning it off applies the orphan bounds again; the orphans that evicts stay
// in the store, for sync to serve and a later rebuild to try again.
func (l *Ledger) Restoring(on bool) { l.dag.Restoring(on) }

// Reserve makes room for n more messages, for a caller about to load n stored ones.
func (l *Ledger) Reserve(n int) {
	l.dag.Reserve(n)
	l.eng.Reserve(n)
	l.envs = slices.Grow(l.envs, n)
}

// Tick releases deferred (future) messages whose time has come.
func (l *Ledger) Tick(nowMs int64) error {
	l.nowMs = max(l.nowMs, nowMs)
	for _, r := range l.dag.Tick(nowMs, admitter{l}) {
		if err := l.absorb(r); err != nil {
			return err
		}
	}
	return nil
}

// BlobArrived retries checkpoints that were waiting for a heads blob.
func (l *Ledger) BlobArrived() error { return l.feed(nil) }

func (l *Ledger) absorb(r dag.Result) error {
	if r.Status == dag.Rejected {
		l.invalid = append(l.invalid, r)
	}
	return l.feed(r.Added)
}

// feed hands newly held messages to the epoch engine, ancestors first. A checkpoint
// whose heads blob is not held counts as not held (SPEC §4), and so do its
// descendants, until the blob arrives.
func (l *Ledger) feed(added []*dag.Node) error {
	queue := added
	if len(l.parked) > 0 {
		queue = append(l.parked, added...)
		l.parked = nil
	}
	// The dag hands over messages ancestors first, and every earlier held message
	// reached the engine unless it was parked: until something is parked, the
	// ancestor check (two or more map lookups a message) cannot fail.
	check := len(queue) > len(added)
	for progress := true; progress && len(queue) > 0; {
		progress = false
		var rest []*dag.Node
		for _, n := range queue {
			if !n.Held {
				continue
			}
			m, ok := l.message(n)
			if !ok || check && !l.ancestorsAdded(n) {
				rest = append(rest, n)
				check = true
				continue
			}
			forks, num := l.eng.Forks(), l.eng.Len()
			d, err := l.eng.Add(m)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrEngine, n.ID().Short(), err)
			}
			if l.eng.Len() > num { // added, as number num
				n.SetTag(uint32(num) + 1)
				l.envs = append(l.envs, n.Env)
			}
			l.dirty = min(l.dirty, d)
			progress = true
			if l.eng.Forks() > forks {
				// Fork evidence against a witness unsettles every epoch it witnesses.
				l.settleFrom = 0
			}
			if m.Checkpoint != nil {
				// A checkpoint for j can list a head not held, or add support outside a
				// cut, for epochs j and later only.
				l.settleFrom = min(l.settleFrom, m.Checkpoint.Epoch)
				l.maxCP, l.anyCP = max(l.maxCP, m.Checkpoint.Epoch), true
				if !l.replay {
					l.promoteListed(m.Checkpoint.Heads)
				}
			}
		}
		queue = rest
		if len(l.parked) > 0 {
			// A checkpoint of this pass promoted messages (promoteListed): they are
			// held now and go to the engine with the rest, their ancestors checked.
			queue = append(queue, l.parked...)
			l.parked = nil
			check, progress = true, true
		}
	}
	l.parked = queue
	return nil
}

func (l *Ledger) ancestorsAdded(n *dag.Node) bool {
	b := &n.Env.Body
	if b.Prev != nil && !l.eng.Has(*b.Prev) {
		return false
	}
	for _, p := range b.Parents {
		if !l.eng.Has(p) {
			return false
		}
	}
	return true
}

// message converts a held node for the engine into l's scratch message, which the
// engine does not keep. ok is false for a checkpoint whose heads blob is not held.
func (l *Ledger) message(n *dag.Node) (m *epoch.Message, ok bool) {
	cp, isCP := n.Env.Payload.(*msg.Checkpoint)
	if !isCP || cp.HeadsBlob == nil {
		epoch.FillMessage(&l.scratch, n.Env, nil)
		l.parentNums(&l.scratch)
		return &l.scratch, true
	}
	if l.opts.Blobs == nil {
		return nil, false
	}
	b, ok := l.opts.Blobs(l.blobBuf[:0], *cp.HeadsBlob)
	if !ok {
		return nil, false
	}
	l.blobBuf = b
	heads, err := msg.DecodeHeadsBlobInto(l.headsBuf, b)
	if err == nil {
		l.headsBuf = heads
	} else {
		// A heads blob that is not a valid head list can never be held: the checkpoint
		// lists nothing. Its id is fixed by the checkpoint, so every node sees the same bytes.
		heads = nil
	}
	epoch.FillMessage(&l.scratch, n.Env, heads)
	l.parentNums(&l.scratch)
	return &l.scratch, true
}

// parentNums gives m the engine numbers of its parents, which the dag nodes carry as
// tags (number + 1), or leaves them out if a parent has none yet.
func (l *Ledger) parentNums(m *epoch.Message) {
	nums := l.numBuf[:0]
	for _, id := range m.Parents {
		p, ok := l.dag.Get(id)
		if !ok || p.Tag() == 0 {
			return
		}
		nums = append(nums, p.Tag()-1)
	}
	l.numBuf, m.ParentNums = nums, nums
}

// promoteListed brings in stored messages of unadmitted authors that a checkpoint lists.
func (l *Ledger) promoteListed(heads []msg.Head) {
	for _, h := range heads {
		if n, ok := l.dag.Get(h.ID); ok && n.Held {
			continue
		}
		for _, r := range l.dag.Promote(h.Author) {
			_ = l.absorbNoPromote(r)
		}
	}
}

func (l *Ledger) absorbNoPromote(r dag.Result) error {
	if r.Status == dag.Rejected {
		l.invalid = append(l.invalid, r)
	}
	l.parked = append(l.parked, r.Added...)
	return nil
}

// admitter judges admission with the state after k−2, k being the epoch of the
// message's timestamp clamped to the current epoch (SPEC §3).
type admitter struct{ l *Ledger }

func (a admitter) Admitted(acc msg.Account, tsMs uint64) bool {
	l := a.l
	k := l.cfg.EpochOf(tsMs)
	if l.nowMs > 0 {
		k = min(k, l.cfg.EpochOf(uint64(l.nowMs)))
	}
	return l.stateBefore(k).Admitted(acc)
}

// stateBefore gives the state after k−2 (the genesis state for k < 2), or the newest
// computed state when k−2 is not computed yet.
func (l *Ledger) stateBefore(k uint64) *state.State {
	if k < 2 || len(l.epochs) == 0 {
		return l.genesis
	}
	j := min(k-2, uint64(len(l.epochs)-1))
	return l.epochs[j].State
}

// Advance computes every epoch up to target, recomputing from the earliest epoch that
// new messages may have changed.
func (l *Ledger) Advance(target uint64) error {
	from := min(l.dirty, uint64(len(l.epochs)))
	if from > target {
		return nil
	}
	var stop *epoch.StopRule
	if from < uint64(len(l.epochs)) {
		l.newHeads = append(l.newHeads, l.eng.TakeNewHeads()...)
		stop = epoch.NewStopRule(slices.Clone(l.newHeads))
	} else {
		// Nothing computed before is recomputed, so no stop rule waits on the new
		// heads: on a rebuild that is every message of the log.
		l.eng.DropNewHeads()
		l.newHeads = nil
	}
	stopped := false
	l.settleFrom = min(l.settleFrom, from)
	for k := from; k <= target; k++ {
		prev := l.genesis
		prevSeed := l.network
		var prevCut *epoch.Cut
		if k > 0 {
			p := l.epochs[k-1]
			prev, prevSeed, prevCut = p.State, p.Seed, p.Cut
		}
		ws, err := prev.Witnesses(k)
		if err != nil {
			return err
		}
		cut, batch := l.eng.Cut(k, ws, prevCut)
		seed := batch.Seed(prevSeed)
		envs := make([]*msg.Envelope, len(batch.IDs))
		for i, ref := range batch.Refs {
			envs[i] = l.envs[ref]
		}
		in := state.Inputs{Seed: seed, Live: batch.Live}
		for _, f := range batch.Forks {
			in.Forks = append(in.Forks, state.Fork{Author: f.Author, Seq: f.Seq})
		}
		for _, m := range batch.Misbehaviour {
			in.Misbehaviours = append(in.Misbehaviours, m.Author)
		}
		st, err := state.Apply(prev, k, envs, in)
		if err != nil {
			return fmt.Errorf("ledger: apply epoch %d: %w", k, err)
		}
		rec := &Record{Epoch: k, Cut: cut, Batch: batch, Seed: seed, State: st}
		if k < uint64(len(l.epochs)) {
			old := l.epochs[k]
			unchanged := old.Cut.Equal(cut) && old.Root() == rec.Root()
			l.epochs[k] = rec
			if stop.Observe(cut, unchanged) {
				stopped = true
				break
			}
		} else {
			l.epochs = append(l.epochs, rec)
		}
	}
	l.dirty = math.MaxUint64
	if !stopped && target+1 < uint64(len(l.epochs)) {
		// Epochs past the target were computed before these messages arrived: the
		// next Advance continues from here, still waiting for the same heads.
		l.dirty = target + 1
	} else {
		l.newHeads = nil
	}
	l.settle()
	return nil
}

// settle recomputes the settled flags from the first epoch that may have changed:
// the first one not settled before, the first recomputed, the earliest epoch of a
// checkpoint added since, or 0 after new fork evidence. An epoch's flag depends on
// the held messages only through these (a non-checkpoint message can only resolve a
// missing listed head, which the first unsettled epoch already waits for), so the
// settled prefix before them stands, and a long-running node does not re-examine
// every epoch since genesis on each Advance.
func (l *Ledger) settle() {
	from := min(l.settleFrom, l.firstUnsettled, uint64(len(l.epochs)))
	l.settleFrom = math.MaxUint64
	l.settleRange(from)
}

// settleRange recomputes the settled flags of epochs from on.
func (l *Ledger) settleRange(from uint64) {
	prev := from == 0 || l.epochs[from-1].Settled
	l.firstUnsettled = uint64(len(l.epochs))
	for k := from; k < uint64(len(l.epochs)); k++ {
		r := l.epochs[k]
		ws, err := l.prevState(k).Witnesses(k)
		if err != nil {
			r.Settled = false
		} else {
			r.Settled = l.eng.Settled(k, ws, r.Cut, prev)
		}
		prev = r.Settled
		if !prev {
			l.firstUnsettled = min(l.firstUnsettled, k)
		}
	}
}

func (l *Ledger) prevState(k uint64) *state.State {
	if k == 0 {
		return l.genesis
	}
	return l.epochs[k-1].State
}

// Epochs gives the number of computed epochs.
func (l *Ledger) Epochs() int { return len(l.epochs) }

// Epoch gives the record of epoch k.
func (l *Ledger) Epoch(k uint64) (*Record, bool) {
	if k >= uint64(len(l.epochs)) {
		return nil, false
	}
	return l.epochs[k], true
}

// Latest gives the newest computed state (the genesis state before epoch 0).
func (l *Ledger) Latest() *state.State {
	if len(l.epochs) == 0 {
		return l.genesis
	}
	return l.epochs[len(l.epochs)-1].State
}

// GenesisState gives the state before epoch 0.
func (l *Ledger) GenesisState() *state.State { return l.genesis }

// Invalid gives the structurally invalid messages seen so far.
func (l *Ledger) Invalid() []dag.Result { return l.invalid }

// LastCheckpointEpoch gives the highest epoch any held checkpoint names, for callers
// that replay a finished log.
func (l *Ledger) LastCheckpointEpoch() (uint64, bool) { return l.maxCP, l.anyCP }
