package ingest

import (
	"context"
	"fmt"
	"math"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/store"
)

// Outcome is what happened to one submitted envelope.
type Outcome struct {
	ID msg.ID
	// Err is the stateless rejection (a *msg.RejectError), or a storage or ledger
	// failure. With Err set nothing was stored.
	Err    error
	Result dag.Result   // the dag's verdict (structural checks, orphans, duplicates…)
	Ticket store.Ticket // resolves once the envelope is durable
}

// Pipeline feeds one ledger from bytes, through the store.
type Pipeline struct {
	st   *store.Store
	led  *ledger.Ledger
	opts msg.Options
}

// New makes a pipeline over st for the network of g. Call Load to rebuild from what
// st already holds before submitting anything.
func New(st *store.Store, g *genesis.Genesis, lo ledger.Options) (*Pipeline, error) {
	if lo.Blobs == nil {
		lo.Blobs = func(dst []byte, id msg.ID) ([]byte, bool) {
			b, ok, err := st.AppendBlob(dst, id)
			return b, ok && err == nil
		}
	}
	led, err := ledger.New(g, lo)
	if err != nil {
		return nil, err
	}
	return &Pipeline{st: st, led: led, opts: msg.Options{
		Network:  g.NetworkID(),
		MaxBytes: int(g.Params.Get(params.EnvelopeMaxBytes)),
	}}, nil
}

// Ledger gives the ledger the pipeline feeds.
func (p *Pipeline) Ledger() *ledger.Ledger { return p.led }

// Store gives the store the pipeline writes.
func (p *Pipeline) Store() *store.Store { return p.st }

// Options gives the stateless decoding options of the network.
func (p *Pipeline) Options() msg.Options { return p.opts }

// Submit decodes, verifies, stores and ingests one envelope received at nowMs.
func (p *Pipeline) Submit(raw []byte, nowMs int64) Outcome {
	e, err := msg.Decode(raw, p.opts)
	if err != nil {
		return Outcome{Err: err}
	}
	return p.accept(e, nowMs)
}

// SubmitBatch is Submit for many envelopes, verifying their signatures together.
func (p *Pipeline) SubmitBatch(raws [][]byte, nowMs int64) []Outcome {
	out := make([]Outcome, len(raws))
	envs := make([]*msg.Envelope, 0, len(raws))
	idx := make([]int, 0, len(raws))
	o := p.opts
	o.SkipVerify = true
	for i, raw := range raws {
		e, err := msg.Decode(raw, o)
		if err != nil {
			out[i] = Outcome{Err: err}
			continue
		}
		out[i].ID = e.ID
		envs = append(envs, e)
		idx = append(idx, i)
	}
	bad := msg.VerifyBatch(envs)
	b := 0
	for j, e := range envs {
		i := idx[j]
		if b < len(bad) && bad[b] == j {
			b++
			out[i].Err = e.VerifySignature()
			continue
		}
		out[i] = p.accept(e, nowMs)
	}
	return out
}

// accept stores a stateless-valid envelope and ingests it. Everything that passed the
// stateless checks is stored, structurally invalid messages included: they are
// evidence, and sync serves them.
func (p *Pipeline) accept(e *msg.Envelope, nowMs int64) Outcome {
	t := p.st.Put(store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: nowMs})
	r, err := p.led.Ingest(e, nowMs)
	return Outcome{ID: e.ID, Err: err, Result: r, Ticket: t}
}

// SubmitOwn stores an envelope this node signed, fsynced before it returns and
// before anyone else can see it (SPEC §1.4), then ingests it.
func (p *Pipeline) SubmitOwn(ctx context.Context, e *msg.Envelope, nowMs int64) (dag.Result, error) {
	if err := p.st.PutSync(ctx, store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: nowMs}); err != nil {
		return dag.Result{}, fmt.Errorf("store own message: %w", err)
	}
	return p.led.Ingest(e, nowMs)
}

// Load rebuilds the ledger from every stored message, replaying them in the order
// they were stored, with the epochs computed as the replay passes them (see
// advancer). Signatures were checked when the messages were stored, and their ids
// are the store's (see msg.StoredDecoder). progress, if set, is called every 10,000
// messages.
//
// The store's order is the order of arrival, parents before children nearly always,
// and the dag lets a message that comes first wait for its ancestors (Restoring), so
// the result is the same in any order (SPEC §4, P1). Replaying in that order rather
// than sorted by lamport clock reads the envelopes in the order they were decoded
// into memory, and a child's ancestors a moment after them. The scan decodes every
// envelope before the first is ingested: ingesting each as the scan reads it was
// slower (docs/perf.md), pebble's block reads and the ledger evicting each other's
// data from the cache.
func (p *Pipeline) Load(nowMs int64, progress func(done, total int)) (int, error) {
	envs := make([]*msg.Envelope, 0, p.st.Len())
	var ferr error
	// The ledger keeps every envelope for the life of the node: a StoredDecoder carves
	// them from shared slabs, and keeps none of the bytes the scan lends it.
	dec := msg.NewStoredDecoder(p.opts)
	err := p.st.Scan(func(r store.Record) bool {
		e, err := dec.Decode(r.Envelope, r.ID)
		if err != nil {
			ferr = fmt.Errorf("stored message %s no longer decodes: %w", r.ID.Short(), err)
			return false
		}
		envs = append(envs, e)
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("load store: %w", err)
	}
	p.led.Reserve(len(envs))
	p.led.Restoring(true)
	defer p.led.Restoring(false)
	adv := newAdvancer(p.led, nowMs)
	for i, e := range envs {
		if _, err := p.led.IngestAdmitted(e, nowMs); err != nil {
			return i, fmt.Errorf("load store: %w", err)
		}
		if err := adv.passed(e.Body.TsMs); err != nil {
			return i + 1, fmt.Errorf("load store: %w", err)
		}
		if progress != nil && (i+1)%10000 == 0 {
			progress(i+1, len(envs))
		}
	}
	return len(envs), nil
}

// advancer computes epochs while a rebuild is still loading, once the replay has
// moved well past them: an epoch's cut and Apply then read messages that were
// ingested moments ago and are still in cache, instead of every epoch reading a
// cold heap at the end. The result does not depend on when Advance runs (SPEC §4,
// P1): a message that arrives after its epoch was computed makes the ledger
// recompute from there, as it does on a live node.
type advancer struct {
	led   *ledger.Ledger
	cfg   epoch.Config
	nowMs uint64
	next  uint64 // the first epoch not yet computed
	maxTs uint64
	limit uint64 // maxTs from which next may be computed
}

func newAdvancer(led *ledger.Ledger, nowMs int64) *advancer {
	a := &advancer{led: led, cfg: led.Config(), nowMs: uint64(max(nowMs, 0))}
	a.limit = a.after(0)
	return a
}

// after gives the timestamp a replayed message must pass before epoch k is
// computed: k's checkpoints are signed at its duty time, reach a node within the
// future bound of the messages they list (listLagMs), and one more epoch covers
// checkpoints signed late.
func (a *advancer) after(k uint64) uint64 {
	t := a.cfg.DutyTime(k)
	for _, d := range []uint64{a.cfg.EpochMs, listLagMs} {
		if t > math.MaxUint64-d {
			return math.MaxUint64
		}
		t += d
	}
	return t
}

// passed notes a replayed message's timestamp and computes the epochs it leaves
// behind. It never computes an epoch the caller's clock has not reached, nor one
// past the last checkpointed epoch, so that Load computes nothing the caller's own
// Advance would not.
func (a *advancer) passed(tsMs uint64) error {
	if tsMs <= a.maxTs {
		return nil
	}
	a.maxTs = tsMs
	if tsMs <= a.limit {
		return nil
	}
	last, ok := a.led.LastCheckpointEpoch()
	if !ok {
		return nil
	}
	k := a.next
	for k <= last && a.cfg.DutyTime(k) <= a.nowMs && a.after(k) < tsMs {
		k++
	}
	if k == a.next {
		return nil
	}
	if err := a.led.Advance(k - 1); err != nil {
		return err
	}
	a.next, a.limit = k, a.after(k)
	return nil
}

// listLagMs is how far past a checkpoint's timestamp the messages it lists can be
// timestamped: the 5 s future bound of SPEC §3.
const listLagMs = 5_000
