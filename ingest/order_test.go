package ingest

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
)

// TestReplayOrder checks that the replay order is a permutation of the stored log
// that keeps every ancestor first that was first in the store, that it holds checkpoints back
// (none comes earlier than in the store), and that a ledger fed in it computes the
// same epochs as one fed in the store's order and one fed as a live node meets the log.
func TestReplayOrder(t *testing.T) {
	// The default log has forks, late and withheld checkpoints and backdating; the wide
	// one has checkpoints whose heads travel as blobs, which the ledger reads into
	// reused buffers.
	wide := simlog.Replay()
	wide.Authors, wide.Epochs, wide.EpochMs = 700, 3, 4000
	for name, c := range map[string]simlog.Config{"default": simlog.Default(), "wide": wide} {
		t.Run(name, func(t *testing.T) { testReplayOrder(t, c) })
	}
}

func testReplayOrder(t *testing.T, c simlog.Config) {
	lg, err := simlog.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	if c.Authors > 600 && len(lg.Blobs) == 0 {
		t.Fatal("the wide log has no heads blob")
	}
	stored := lg.ByRelease()
	var got []*msg.Envelope
	if err := replayOrder(stored, func(e *msg.Envelope) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(stored) {
		t.Fatalf("%d messages out, %d in", len(got), len(stored))
	}
	pos := make(map[msg.ID]int, len(got))
	for i, e := range got {
		if _, dup := pos[e.ID]; dup {
			t.Fatalf("%s twice", e.ID.Short())
		}
		pos[e.ID] = i
	}
	// Held back means: at least as many other messages come before a checkpoint as in
	// the store.
	others := func(envs []*msg.Envelope) map[msg.ID]int {
		n, before := 0, make(map[msg.ID]int)
		for _, e := range envs {
			if e.Body.Kind == msg.KindCheckpoint {
				before[e.ID] = n
			} else {
				n++
			}
		}
		return before
	}
	was, now := others(stored), others(got)
	inPos := make(map[msg.ID]int, len(stored))
	for i, e := range stored {
		inPos[e.ID] = i
	}
	moved := 0
	for _, e := range stored {
		j, ok := pos[e.ID]
		if !ok {
			t.Fatalf("%s lost", e.ID.Short())
		}
		if e.Body.Kind == msg.KindCheckpoint {
			if now[e.ID] < was[e.ID] {
				t.Fatalf("checkpoint %s moved earlier", e.ID.Short())
			}
			if now[e.ID] > was[e.ID] {
				moved++
			}
		}
		anc := slices.Clone(e.Body.Parents)
		if e.Body.Prev != nil {
			anc = append(anc, *e.Body.Prev)
		}
		for _, a := range anc {
			// The log's release order has children of withheld messages before them;
			// only an order the store had must survive.
			if k, ok := pos[a]; ok && k > j && inPos[a] < inPos[e.ID] {
				t.Fatalf("%s at %d comes before its ancestor %s at %d", e.ID.Short(), j, a.Short(), k)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no checkpoint was held back")
	}

	// Fed as a rebuild feeds it (everyone admitted), in both orders, and as a live node
	// meets it (admission judged, orphans waiting for their ancestors).
	feed := func(envs []*msg.Envelope, live bool) *ledger.Ledger {
		l, err := ledger.New(lg.Genesis, ledger.Options{Blobs: lg.Blob,
			DAG: dag.Config{MaxOrphans: 1 << 20, MaxOrphanBytes: 1 << 30}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range envs {
			if live {
				_, err = l.Ingest(e, 1<<50)
			} else {
				_, err = l.IngestAdmitted(e, 1<<50)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		last, _ := l.LastCheckpointEpoch()
		if err := l.Advance(last + 2); err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := feed(stored, false)
	for name, b := range map[string]*ledger.Ledger{"replay order": feed(got, false), "live": feed(stored, true)} {
		if a.Epochs() != b.Epochs() {
			t.Fatalf("%d epochs in store order, %d in %s", a.Epochs(), b.Epochs(), name)
		}
		for k := range uint64(a.Epochs()) {
			ra, _ := a.Epoch(k)
			rb, _ := b.Epoch(k)
			if ra.Root() != rb.Root() || ra.Batch.Hash != rb.Batch.Hash || ra.Settled != rb.Settled {
				t.Fatalf("epoch %d differs between store order and %s", k, name)
			}
		}
	}
}
