package p2p

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

func TestSyncLateJoinerCatchesUp(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 messages")
	}
	const total = 10_000
	log := genLog(t, 8, total)
	a := newNode(t, 0, nodeOpts{})
	putAll(t, a.st, log)
	// The late joiner has gossip off: sync alone brings it up to date.
	b := newNode(t, 1, nodeOpts{extra: []Option{WithGossip(false), WithSyncInterval(0)}})
	connect(t, b, a)
	eventually(t, 3*time.Minute, "late joiner holding all 10,000", func() bool {
		return b.accepted.Load() >= total
	})
	if !hasAll(b, log) {
		t.Fatal("late joiner misses envelopes")
	}
	// Nothing was an orphan or fetched twice: the range stream is causal and
	// one peer is pulled by one session at a time.
	if r, i := b.rejected.Load(), b.ignored.Load(); r != 0 || i != 0 {
		t.Fatalf("rejected %d, ignored %d, want none", r, i)
	}
	// Now they agree: a further session is one DIGEST round trip.
	st, err := b.host.SyncWith(context.Background(), a.host.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Agreed || st.Rounds != 1 || st.Received != 0 {
		t.Fatalf("second session: %+v, want agreed in one round", st)
	}
	fa, _ := StoreLog{Store: a.st}.Frontier()
	fb, _ := StoreLog{Store: b.st}.Frontier()
	if computeDigest(fa) != computeDigest(fb) {
		t.Fatal("digests differ after catch-up")
	}
}

func TestSyncTruncatedRangesResume(t *testing.T) {
	log := genLog(t, 3, 600)
	// Neither side syncs by itself: a pull from a into the empty b would make b pull
	// back at once, and the session measured below would find nothing left to fetch.
	a := newNode(t, 0, nodeOpts{memory: true, extra: []Option{WithSyncOnConnect(false), WithSyncInterval(0), WithRangeLimit(100, 1<<20)}})
	putAll(t, a.st, log)
	b := newNode(t, 1, nodeOpts{memory: true, extra: []Option{WithGossip(false), WithSyncOnConnect(false), WithSyncInterval(0), WithRangeLimit(100, 1<<20)}})
	connect(t, b, a)
	st, err := b.host.SyncWith(context.Background(), a.host.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !hasAll(b, log) {
		t.Fatalf("after %+v the joiner misses envelopes", st)
	}
	if st.Rounds < 6 {
		t.Fatalf("600 envelopes at 100 per response took %d rounds", st.Rounds)
	}
}

func TestSyncFetchesMissingParents(t *testing.T) {
	// b learns of a message by gossip whose ancestors it lacks; the
	// validator reports them missing and p2p fetches them by id, level by
	// level, with connect-time and periodic sync off.
	off := []Option{WithSyncOnConnect(false), WithSyncInterval(0)}
	nodes := mesh(t, 2, nodeOpts{memory: true, extra: off})
	a, b := nodes[0], nodes[1]
	x, y := newAuthor(1), newAuthor(2)
	var held []*msg.Envelope
	for i := 0; i < 6; i++ {
		held = append(held, x.next(t))
	}
	y1 := y.next(t, held[len(held)-1])
	putAll(t, a.st, append(slices.Clone(held), y1))
	y2 := y.next(t)
	publishOwn(t, a, y2)
	eventually(t, 20*time.Second, "missing ancestors fetched", func() bool {
		return hasAll(b, held) && has(b, y1.ID) && has(b, y2.ID)
	})
}

func TestSyncWantFetchesByID(t *testing.T) {
	a := newNode(t, 0, nodeOpts{memory: true})
	b := newNode(t, 1, nodeOpts{memory: true, extra: []Option{WithGossip(false), WithSyncOnConnect(false), WithSyncInterval(0)}})
	log := genLog(t, 2, 20)
	putAll(t, a.st, log)
	connect(t, b, a)
	// A checkpoint lists log[19]; b asks for it and gets its ancestry.
	b.host.Want(log[19].ID)
	eventually(t, 20*time.Second, "wanted head and its ancestors", func() bool { return hasAll(b, log) })
}

func TestSyncForkEvidenceReachesBoth(t *testing.T) {
	x := newAuthor(3)
	x1 := x.next(t)
	x2 := x.next(t)
	x3 := x.next(t)
	x3a := x.sealAfter(t, x2)  // fork at the top seq, held by a
	x2b := x.sealAfter(t, x1)  // fork below the top, held by b
	x3b := x.sealAfter(t, x2b) // b's branch continues
	a := newNode(t, 0, nodeOpts{memory: true})
	b := newNode(t, 1, nodeOpts{memory: true})
	putAll(t, a.st, []*msg.Envelope{x1, x2, x3, x3a})
	putAll(t, b.st, []*msg.Envelope{x1, x2, x3, x2b, x3b})
	connect(t, a, b)
	all := []*msg.Envelope{x1, x2, x3, x3a, x2b, x3b}
	eventually(t, 20*time.Second, "both holding both branches", func() bool { return hasAll(a, all) && hasAll(b, all) })
	want := []store.Fork{forkOf(x2, x2b), forkOf(x3, x3a), forkOf(x3, x3b), forkOf(x3a, x3b)}
	slices.SortFunc(want, compareForks)
	for name, n := range map[string]*chainNode{"a": a, "b": b} {
		var got []store.Fork
		if err := n.st.Forks(func(f store.Fork) bool { got = append(got, f); return true }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s fork evidence %v, want %v", name, got, want)
		}
	}
	fa, _ := StoreLog{Store: a.st}.Frontier()
	fb, _ := StoreLog{Store: b.st}.Frontier()
	if !slices.Equal(fa, fb) {
		t.Fatalf("frontiers differ:\n%v\n%v", fa, fb)
	}
}

func forkOf(p, q *msg.Envelope) store.Fork {
	f := store.Fork{Author: p.Body.Author, Seq: p.Body.Seq, A: p.ID, B: q.ID}
	if compareIDs(f.B, f.A) < 0 {
		f.A, f.B = f.B, f.A
	}
	return f
}

func compareForks(x, y store.Fork) int {
	if x.Seq != y.Seq {
		return int(x.Seq) - int(y.Seq)
	}
	if c := compareIDs(x.A, y.A); c != 0 {
		return c
	}
	return compareIDs(x.B, y.B)
}
