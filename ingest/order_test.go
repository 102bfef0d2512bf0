package ingest

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
)

// TestSortByLamport checks the key sort against a plain sort of the envelopes.
func TestSortByLamport(t *testing.T) {
	lg, err := simlog.Generate(simlog.Default())
	if err != nil {
		t.Fatal(err)
	}
	want := lg.ByLamport()
	// Ids that share their first 8 bytes must still sort by the rest.
	x, y := *lg.Envelopes[0], *lg.Envelopes[1]
	x.Body.Lamport, y.Body.Lamport = 1<<40, 1<<40
	copy(y.ID[:8], x.ID[:8])
	in := append(slices.Clone(lg.Envelopes), &y, &x)
	want = append(want, &x, &y)
	if slices.Compare(x.ID[:], y.ID[:]) > 0 {
		want[len(want)-2], want[len(want)-1] = &y, &x
	}
	got := sortByLamport(in)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("position %d: %s, want %s", i, got[i].ID.Short(), want[i].ID.Short())
		}
	}
}

// TestReplayOrder checks that the replay order is a permutation of the log with every
// ancestor first, that it holds checkpoints back (none comes earlier than in lamport
// order), and that a ledger fed in it computes the same epochs as one fed by lamport.
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
	sorted := sortByLamport(lg.Envelopes)
	var got []*msg.Envelope
	if err := replayOrder(sorted, func(e *msg.Envelope) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sorted) {
		t.Fatalf("%d messages out, %d in", len(got), len(sorted))
	}
	pos := make(map[msg.ID]int, len(got))
	for i, e := range got {
		if _, dup := pos[e.ID]; dup {
			t.Fatalf("%s twice", e.ID.Short())
		}
		pos[e.ID] = i
	}
	// Held back means: at least as many other messages come before a checkpoint as in
	// lamport order.
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
	was, now := others(sorted), others(got)
	moved := 0
	for _, e := range sorted {
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
			if k, ok := pos[a]; ok && k > j {
				t.Fatalf("%s at %d comes before its ancestor %s at %d", e.ID.Short(), j, a.Short(), k)
			}
		}
	}
	if moved == 0 {
		t.Fatal("no checkpoint was held back")
	}

	// Fed as a rebuild feeds it (everyone admitted), in both orders, and as a live node
	// meets it (admission judged, release order, orphans waiting for their ancestors).
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
	a := feed(sorted, false)
	for name, b := range map[string]*ledger.Ledger{"replay order": feed(got, false), "release order, live": feed(lg.ByRelease(), true)} {
		if a.Epochs() != b.Epochs() {
			t.Fatalf("%d epochs by lamport, %d in %s", a.Epochs(), b.Epochs(), name)
		}
		for k := range uint64(a.Epochs()) {
			ra, _ := a.Epoch(k)
			rb, _ := b.Epoch(k)
			if ra.Root() != rb.Root() || ra.Batch.Hash != rb.Batch.Hash || ra.Settled != rb.Settled {
				t.Fatalf("epoch %d differs between lamport order and %s", k, name)
			}
		}
	}
}
