package ingest

import (
	"context"
	"fmt"

	"github.com/guild-net/guild/dag"
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

// Load rebuilds the ledger from every stored message. Messages are replayed
// ancestors first (see replayOrder), so nothing waits as an orphan; signatures were
// checked when the messages were stored, and their ids are the store's (see
// msg.StoredDecoder). progress, if set, is called every 10,000 messages.
func (p *Pipeline) Load(nowMs int64, progress func(done, total int)) (int, error) {
	envs := make([]*msg.Envelope, 0, p.st.Len())
	var ferr error
	// The ledger keeps every envelope for the life of the node: a StoredDecoder carves
	// them from shared slabs, as store.All does their bytes.
	dec := msg.NewStoredDecoder(p.opts)
	err := p.st.All(func(r store.Record) bool {
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
	envs = sortByLamport(envs)
	p.led.Reserve(len(envs))
	done := 0
	err = replayOrder(envs, func(e *msg.Envelope) error {
		if _, err := p.led.IngestAdmitted(e, nowMs); err != nil {
			return err
		}
		done++
		if progress != nil && done%10000 == 0 {
			progress(done, len(envs))
		}
		return nil
	})
	if err != nil {
		return done, err
	}
	return len(envs), nil
}
