package dag

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

func TestForksHeadsOnChain(t *testing.T) {
	w := newWorld(t, 3)
	a := w.accts[0]
	a1 := w.seal(spec{author: 0})
	a2 := w.seal(spec{author: 0, prev: a1})
	a3 := w.seal(spec{author: 0, prev: a2})
	x2 := w.seal(spec{author: 0, prev: a1, ts: 5000}) // fork at seq 2
	x3 := w.seal(spec{author: 0, prev: x2})
	x4 := w.seal(spec{author: 0, prev: x3})
	y4 := w.seal(spec{author: 0, prev: x3, ts: 9000})               // fork at seq 4
	bad2 := w.seal(spec{author: 0, prev: a1, lamport: 3})           // invalid: no evidence
	bad3 := w.seal(spec{author: 0, prev: bad2})                     // not held: no evidence either
	b1 := w.seal(spec{author: 1, parents: []*msg.Envelope{a3, x4}}) // another author
	d := New(Config{})
	for _, e := range []*msg.Envelope{y4, x4, x3, bad3, bad2, a3, a2, x2, a1, b1} {
		d.Ingest(e, now, nil)
	}
	if s := d.Stats(); s.Nodes != 10 || s.Held != 8 || s.Invalid != 1 || s.Orphans != 0 || s.ForkedAuthors != 1 {
		t.Fatalf("stats %+v", s)
	}

	pair := func(p, q *msg.Envelope, seq uint64) Fork {
		f := Fork{Author: a, Seq: seq, A: p.ID, B: q.ID}
		if string(f.B[:]) < string(f.A[:]) {
			f.A, f.B = f.B, f.A
		}
		return f
	}
	if got, want := d.Forks(), []Fork{pair(a2, x2, 2)}; !slices.Equal(got, want) {
		t.Fatalf("forks %+v, want %+v", got, want)
	}
	if got, want := d.ForksOf(a), []Fork{pair(a2, x2, 2), pair(a3, x3, 3), pair(x4, y4, 4)}; !slices.Equal(got, want) {
		t.Fatalf("forks of a %+v, want %+v", got, want)
	}
	if got := d.ForksOf(w.accts[1]); got != nil {
		t.Fatalf("forks of b %+v", got)
	}
	if got := ids(d.HeldAt(a, 2)); !sameIDs(got, []msg.ID{a2.ID, x2.ID}) || len(d.HeldAt(a, 6)) != 0 {
		t.Fatalf("held at 2: %v", got)
	}
	heads := d.Heads(a)
	want := []msg.ID{a3.ID, x4.ID, y4.ID}
	if x4.ID.String() > y4.ID.String() {
		want[1], want[2] = want[2], want[1]
	}
	if !slices.Equal(ids(heads), want) {
		t.Fatalf("heads %v, want %v", ids(heads), want)
	}
	if got := d.Authors(); len(got) != 2 {
		t.Fatalf("authors %v", got)
	}

	for _, tc := range []struct {
		head, x *msg.Envelope
		want    bool
	}{
		{a3, a3, true}, {a3, a2, true}, {a3, a1, true}, {a3, x2, false},
		{y4, x3, true}, {y4, x2, true}, {y4, a1, true}, {y4, a2, false}, {y4, x4, false},
		{a1, a3, false}, {a3, b1, false}, {b1, a1, false},
		{bad3, bad2, true}, {bad3, a1, true}, {bad3, a2, false}, {a3, bad2, false},
	} {
		if got := d.OnChain(tc.head.ID, tc.x.ID); got != tc.want {
			t.Errorf("OnChain(%s seq %d, %s seq %d) = %v, want %v", tc.head.ID.Short(), tc.head.Body.Seq, tc.x.ID.Short(), tc.x.Body.Seq, got, tc.want)
		}
	}
	if d.OnChain(msg.ID{1}, a1.ID) || d.OnChain(a3.ID, msg.ID{1}) {
		t.Error("OnChain with an unknown id")
	}
}

// OnChain agrees with a plain walk over prev links on a long chain with many
// branches, which exercises the skip links at every distance.
func TestOnChainMatchesWalk(t *testing.T) {
	w := newWorld(t, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	var all []*msg.Envelope
	byID := map[msg.ID]*msg.Envelope{}
	tip := w.seal(spec{author: 0})
	all = append(all, tip)
	for range 600 {
		prev := tip
		if rng.IntN(20) == 0 { // branch off an older message
			prev = all[rng.IntN(len(all))]
		}
		e := w.seal(spec{author: 0, prev: prev, ts: prev.Body.TsMs + 1 + uint64(rng.IntN(3))})
		all = append(all, e)
		if e.Body.Seq > tip.Body.Seq || rng.IntN(2) == 0 {
			tip = e
		}
	}
	d := New(Config{})
	for _, i := range rng.Perm(len(all)) {
		d.Ingest(all[i], now, nil)
	}
	for _, e := range all {
		byID[e.ID] = e
	}
	walk := func(h, x *msg.Envelope) bool {
		for h != nil {
			if h.ID == x.ID {
				return true
			}
			if h.Body.Prev == nil {
				return false
			}
			h = byID[*h.Body.Prev]
		}
		return false
	}
	if s := d.Stats(); s.Held != len(all) {
		t.Fatalf("held %d of %d", s.Held, len(all))
	}
	checks := 0
	for _, h := range d.Heads(w.accts[0]) {
		for _, x := range all {
			if got, want := d.OnChain(h.ID(), x.ID), walk(h.Env, x); got != want {
				t.Fatalf("OnChain(seq %d, seq %d) = %v, want %v", h.Seq(), x.Body.Seq, got, want)
			}
			checks++
		}
	}
	for range 5000 {
		h, x := all[rng.IntN(len(all))], all[rng.IntN(len(all))]
		if got, want := d.OnChain(h.ID, x.ID), walk(h, x); got != want {
			t.Fatalf("OnChain(seq %d, seq %d) = %v, want %v", h.Body.Seq, x.Body.Seq, got, want)
		}
	}
	if checks < 1000 || len(d.Heads(w.accts[0])) < 5 {
		t.Fatalf("weak test: %d head checks, %d heads", checks, len(d.Heads(w.accts[0])))
	}
}

func TestSkipSeq(t *testing.T) {
	for _, tc := range []struct{ seq, want uint64 }{
		{2, 1}, {3, 1}, {4, 2}, {5, 1}, {6, 2}, {9, 1}, {10, 2}, {13, 9}, {17, 1}, {18, 2}, {100, 66}, {1025, 1}, {1026, 2},
	} {
		if got := skipSeq(tc.seq); got != tc.want {
			t.Errorf("skipSeq(%d) = %d, want %d", tc.seq, got, tc.want)
		}
	}
	for s := uint64(2); s < 5000; s++ {
		if k := skipSeq(s); k < 1 || k >= s {
			t.Fatalf("skipSeq(%d) = %d not below", s, k)
		}
	}
}

func TestAncestorAndLatestBefore(t *testing.T) {
	w := newWorld(t, 2)
	// ts: 1001, 1001, 1003, 1003, 1005, … (pairs share a timestamp)
	var c []*msg.Envelope
	var prev *msg.Envelope
	for i := range 300 {
		prev = w.seal(spec{author: 0, prev: prev, ts: 1001 + uint64(i/2)*2})
		c = append(c, prev)
	}
	fork := w.seal(spec{author: 0, prev: c[99], ts: 99_999})
	d := New(Config{})
	for _, e := range append(c, fork) {
		d.Ingest(e, now, nil)
	}
	head := c[299].ID
	for _, seq := range []uint64{1, 2, 77, 100, 299, 300} {
		if n, ok := d.Ancestor(head, seq); !ok || n.ID() != c[seq-1].ID {
			t.Fatalf("Ancestor(seq %d) wrong", seq)
		}
	}
	if _, ok := d.Ancestor(head, 301); ok {
		t.Fatal("ancestor above the head")
	}
	if n, ok := d.Ancestor(fork.ID, 50); !ok || n.ID() != c[49].ID {
		t.Fatal("ancestor through the fork")
	}
	for _, tc := range []struct {
		ts   uint64
		want int // index into c; -1 none
	}{
		{1001, -1}, {1002, 1}, {1003, 1}, {1004, 3}, {1100, 99}, {1101, 99}, {1299, 297}, {1300, 299}, {5000, 299},
	} {
		n, ok := d.LatestBefore(head, tc.ts)
		if tc.want < 0 {
			if ok {
				t.Fatalf("LatestBefore(%d) = seq %d, want none", tc.ts, n.Seq())
			}
			continue
		}
		if !ok || n.ID() != c[tc.want].ID {
			t.Fatalf("LatestBefore(%d): got %v, want seq %d", tc.ts, n, tc.want+1)
		}
	}
	if n, ok := d.LatestBefore(fork.ID, 99_999); !ok || n.ID() != c[99].ID {
		t.Fatal("LatestBefore on the fork branch")
	}
}

// Every node's skip link points where skipSeq says, on its own chain.
func TestSkipLinks(t *testing.T) {
	w := newWorld(t, 1)
	c := w.chain(0, 1500, nil)
	d := New(Config{})
	for _, e := range c {
		d.Ingest(e, now, nil)
	}
	for i, e := range c[1:] {
		n, _ := d.Get(e.ID)
		if n.skip == nil || n.skip.ID() != c[skipSeq(n.Seq())-1].ID || n.Prev().ID() != c[i].ID {
			t.Fatalf("seq %d: skip or prev link wrong", n.Seq())
		}
	}
}
