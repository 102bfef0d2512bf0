package state_test

import (
	"testing"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/state"
)

// replayEpoch is one epoch of the replay workload as the ledger hands it to Apply.
type replayEpoch struct {
	batch []*msg.Envelope
	in    state.Inputs
}

// BenchmarkApplyReplay isolates Apply's share of ingest's BenchmarkReplay: the same
// log (1,000 authors, 4 witnesses, 100 epochs, about 100,000 messages) is run once
// through the ledger to capture each epoch's batch and inputs, then every iteration
// applies all epochs from the genesis state exactly as the ledger does, keeping every
// epoch's state alive (the ledger does, and that is what makes GC expensive).
// Run it with -cpu 1, like the replay benchmark.
func BenchmarkApplyReplay(b *testing.B) {
	c := simlog.Replay()
	log, err := simlog.Generate(c)
	if err != nil {
		b.Fatal(err)
	}
	led, err := ledger.New(log.Genesis, ledger.Options{Blobs: log.Blob})
	if err != nil {
		b.Fatal(err)
	}
	envs := log.ByLamport()
	now := int64(log.Genesis.GenesisTsMs) + int64(c.Epochs+10)*int64(c.EpochMs)
	for _, e := range envs {
		if _, err := led.IngestAdmitted(e, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := led.Advance(uint64(c.Epochs + 2)); err != nil {
		b.Fatal(err)
	}

	epochs := make([]replayEpoch, led.Epochs())
	msgs := 0
	for k := range epochs {
		r, ok := led.Epoch(uint64(k))
		if !ok {
			b.Fatalf("epoch %d not computed", k)
		}
		ep := replayEpoch{in: state.Inputs{Seed: r.Seed, Live: r.Batch.Live}}
		for _, id := range r.Batch.IDs {
			e, ok := led.DAG().Envelope(id)
			if !ok {
				b.Fatalf("batch %d names %s, which the dag does not hold", k, id.Short())
			}
			ep.batch = append(ep.batch, e)
		}
		for _, f := range r.Batch.Forks {
			ep.in.Forks = append(ep.in.Forks, state.Fork{Author: f.Author, Seq: f.Seq})
		}
		for _, m := range r.Batch.Misbehaviour {
			ep.in.Misbehaviours = append(ep.in.Misbehaviours, m.Author)
		}
		epochs[k] = ep
		msgs += len(ep.batch)
	}
	last, _ := led.Epoch(uint64(len(epochs) - 1))
	want := last.Root()
	gen := led.GenesisState()

	states := make([]*state.State, len(epochs))
	replay := func() {
		s := gen
		for k, ep := range epochs {
			n, err := state.Apply(s, uint64(k), ep.batch, ep.in)
			if err != nil {
				b.Fatal(err)
			}
			states[k], s = n, n
		}
	}
	replay()
	if got := states[len(states)-1].Root(); got != want {
		b.Fatalf("final root %s, the ledger's %s", got.Short(), want.Short())
	}
	clear(states)
	led = nil

	b.ReportAllocs()
	for b.Loop() {
		replay()
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if got := states[len(states)-1].Root(); got != want {
		b.Fatalf("final root after the timed runs %s, the ledger's %s", got.Short(), want.Short())
	}
}
