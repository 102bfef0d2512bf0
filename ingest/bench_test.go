package ingest

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// verifyRate measures single-core Ed25519 verification (msg.Verify) in msgs/s.
func verifyRate(envs []*msg.Envelope) float64 {
	n := min(len(envs), 3000)
	start := time.Now()
	for _, e := range envs[:n] {
		if !msg.Verify(e.Body.Author, e.ID, e.Sig[:]) {
			panic("bad signature in generated log")
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkIngest runs the whole ingest path on one goroutine: decode, batch verify,
// structural checks, the pebble store with group commit, epoch cuts and Apply, over a
// stream of ~300-byte POSTs and VOTEs from 100 admitted authors with 4 witnesses
// checkpointing every 1,000 messages.
func BenchmarkIngest(b *testing.B) {
	c := simlog.Default()
	c.Authors, c.Witnesses, c.PerEpoch, c.Epochs = 100, 4, 10, 20
	c.LateCheckpoint, c.WithheldCheckpoint, c.OfflineWitness, c.ForkingAuthor, c.ForkingWitness, c.Backdated = 0, 0, false, false, false, 0
	log, err := simlog.Generate(c)
	if err != nil {
		b.Fatal(err)
	}
	stream := log.ByRelease()
	raws := make([][]byte, len(stream))
	var bytes int
	for i, e := range stream {
		raws[i] = e.Raw
		bytes += len(e.Raw)
	}
	vr := verifyRate(stream)
	const batch = 64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		st, err := store.Open(filepath.Join(b.TempDir(), "store"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := New(st, log.Genesis, ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cfg := p.Ledger().Config()
		b.StartTimer()
		// Acknowledgements (gossipsub's Accept) wait for durability on their own
		// goroutine, as validators do; the ingest goroutine never blocks on fsync.
		ctx := context.Background()
		acks := make(chan store.Ticket, 4096)
		acked := make(chan error, 1)
		go func() {
			var first error
			for t := range acks {
				if err := t.Wait(ctx); err != nil && first == nil {
					first = err
				}
			}
			acked <- first
		}()
		for i := 0; i < len(raws); i += batch {
			j := min(i+batch, len(raws))
			now := int64(log.Release[stream[j-1].ID]) + 100
			outs := p.SubmitBatch(raws[i:j], now)
			for _, o := range outs {
				if o.Err != nil {
					b.Fatal(o.Err)
				}
				acks <- o.Ticket
			}
			if k := cfg.EpochOf(uint64(now)); k > 0 {
				if err := p.Ledger().Advance(k - 1); err != nil {
					b.Fatal(err)
				}
			}
		}
		close(acks)
		if err := <-acked; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if p.Ledger().Epochs() < c.Epochs {
			b.Fatalf("only %d epochs computed", p.Ledger().Epochs())
		}
		st.Close()
		b.StartTimer()
	}
	rate := float64(len(raws)*b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(rate/vr, "x-verify-bound")
	b.ReportMetric(vr, "verify/s")
	b.ReportMetric(float64(bytes)/float64(len(raws)), "B/msg")
}

// BenchmarkReplay rebuilds the state from a stored, already verified log of about
// 100,000 messages (posts, pool openings, votes and checkpoints over 100 epochs from
// 1,000 authors): read from pebble, decode, dag, epoch cuts and Apply.
func BenchmarkReplay(b *testing.B) {
	c := simlog.Replay()
	log, err := simlog.Generate(c)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "store")
	if err := log.WriteStore(dir); err != nil {
		b.Fatal(err)
	}
	target := uint64(c.Epochs + 2)
	now := int64(log.Genesis.GenesisTsMs) + int64(c.Epochs+10)*int64(c.EpochMs)
	gen, total := log.Genesis, len(log.Envelopes)
	// A restarting node holds nothing but its store: drop the generated log (some
	// 150 MB of envelopes) so that the collector does not mark it on every cycle of
	// the measured rebuild.
	log = nil
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		st, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		p, err := New(st, gen, ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := p.Load(now, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Ledger().Advance(target); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n != total {
			b.Fatalf("loaded %d of %d", n, total)
		}
		st.Close()
		// The next iteration is the next restart: a fresh process, not one sweeping
		// the last rebuild's heap.
		p = nil
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
