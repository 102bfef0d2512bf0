package ingest

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// TestLoadAnyOrder rebuilds from stores that hold one log in different orders: as
// released, children before parents throughout, and shuffled. Each must rebuild
// every epoch exactly as a ledger fed the log ancestors first. The default log is
// adversarial (forks, late and withheld checkpoints, backdating), and its reversed
// store puts more messages ahead of their ancestors than the dag's orphan bound, which
// a rebuild must not apply; the wide one has checkpoints whose heads travel as blobs,
// which the ledger reads from the store into reused buffers.
func TestLoadAnyOrder(t *testing.T) {
	wide := simlog.Replay()
	wide.Authors, wide.Epochs, wide.EpochMs = 700, 3, 4000
	for name, c := range map[string]simlog.Config{"default": simlog.Default(), "wide": wide} {
		t.Run(name, func(t *testing.T) { testLoadAnyOrder(t, c) })
	}
}

func testLoadAnyOrder(t *testing.T, c simlog.Config) {
	lg, err := simlog.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Authors > 600 && len(lg.Blobs) == 0 {
		t.Fatal("the wide log has no heads blob")
	}
	if n := len(lg.Envelopes); c.Authors < 600 && n <= dag.DefaultConfig().MaxOrphans {
		t.Fatalf("%d messages: too few to overflow the orphan bound", n)
	}
	now := receivedAt(lg)
	ref, err := ledger.New(lg.Genesis, ledger.Options{Blobs: lg.Blob})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lg.ByLamport() {
		if _, err := ref.IngestAdmitted(e, now); err != nil {
			t.Fatal(err)
		}
	}
	last, ok := ref.LastCheckpointEpoch()
	if !ok {
		t.Fatal("no checkpoint in the log")
	}
	target := last + 2
	if err := ref.Advance(target); err != nil {
		t.Fatal(err)
	}

	reversed := lg.ByLamport()
	slices.Reverse(reversed)
	shuffled := slices.Clone(lg.Envelopes)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for name, order := range map[string][]*msg.Envelope{"released": lg.ByRelease(), "reversed": reversed, "shuffled": shuffled} {
		t.Run(name, func(t *testing.T) {
			st, err := store.Open(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for id, b := range lg.Blobs {
				if got, err := st.PutBlob(t.Context(), b); err != nil || got != id {
					t.Fatalf("blob %s: stored as %s (%v)", id.Short(), got.Short(), err)
				}
			}
			for _, e := range order {
				st.Put(store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: now})
			}
			p, err := New(st, lg.Genesis, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			n, err := p.Load(now, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(lg.Envelopes) {
				t.Fatalf("loaded %d of %d", n, len(lg.Envelopes))
			}
			l := p.Ledger()
			if err := l.Advance(target); err != nil {
				t.Fatal(err)
			}
			if got, want := l.DAG().Stats(), ref.DAG().Stats(); got != want {
				t.Fatalf("dag %+v, want %+v", got, want)
			}
			if l.Epochs() != ref.Epochs() {
				t.Fatalf("%d epochs, want %d", l.Epochs(), ref.Epochs())
			}
			for k := range uint64(ref.Epochs()) {
				a, _ := l.Epoch(k)
				b, _ := ref.Epoch(k)
				if a.Root() != b.Root() || a.Batch.Hash != b.Batch.Hash || a.Settled != b.Settled {
					t.Fatalf("epoch %d: root %s batch %s settled %v, want %s %s %v", k,
						a.Root().Short(), a.Batch.Hash.Short(), a.Settled, b.Root().Short(), b.Batch.Hash.Short(), b.Settled)
				}
			}
		})
	}
}
