package dag

import (
	"math/rand/v2"
	"testing"

	"github.com/guild-net/guild/msg"
)

// TestIndex drives the index and a Go map with the same random puts, removes and
// lookups, past several moves from the recent table to the large one and several
// growths of the large one, and compares every answer.
func TestIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var x index
	ref := map[msg.ID]*Node{}
	var ids []msg.ID
	newID := func() msg.ID {
		var id msg.ID
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		return id
	}
	check := func(id msg.ID) {
		t.Helper()
		if got, want := x.get(&id), ref[id]; got != want {
			t.Fatalf("get(%s) = %p, want %p", id.Short(), got, want)
		}
	}
	for step := range 80_000 {
		switch r := rng.IntN(10); {
		case r < 7 || len(ids) == 0:
			id := newID()
			n := &Node{id: id, Env: &msg.Envelope{ID: id}}
			x.put(n)
			ref[id] = n
			ids = append(ids, id)
		case r < 9:
			// Remove an old id or a recent one, so both tables lose entries.
			i := rng.IntN(len(ids))
			if rng.IntN(2) == 0 {
				i = len(ids) - 1 - rng.IntN(min(len(ids), 100))
			}
			id := ids[i]
			x.remove(&id)
			delete(ref, id)
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
			check(id)
		default:
			check(newID())
		}
		if n := x.recent.n + x.large.n; n != len(ref) {
			t.Fatalf("step %d: %d entries, want %d", step, n, len(ref))
		}
		if step%10_000 == 0 {
			for _, id := range ids {
				check(id)
			}
		}
	}
	for _, id := range ids {
		check(id)
	}
	if x.large.n == 0 {
		t.Fatal("nothing reached the large table")
	}
	for _, tb := range []*table{&x.recent, &x.large} {
		if 2*tb.n > len(tb.slots) {
			t.Fatalf("%d entries in %d slots: more than half full", tb.n, len(tb.slots))
		}
	}
	if live := len(x.nodes) - len(x.free); live != len(ref) {
		t.Fatalf("%d live positions, want %d", live, len(ref))
	}
}

// TestIndexSmallTables runs many tables of 16 slots filled to the limit, where probe
// runs are long and often wrap past the last slot, removing and re-adding entries in
// random order; every other trial moves them to the large table first.
func TestIndexSmallTables(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 3000 {
		var x index
		ns := make([]*Node, 8)
		for i := range ns {
			var id msg.ID
			id[0], id[1], id[2] = byte(i), byte(trial), byte(trial>>8)
			ns[i] = &Node{id: id, Env: &msg.Envelope{ID: id}}
			x.put(ns[i])
		}
		if trial%2 == 1 {
			x.flush()
		}
		if tb := [2]*table{&x.recent, &x.large}[trial%2]; len(tb.slots) != 16 || tb.n != 8 {
			t.Fatalf("trial %d: %d entries in %d slots, want 8 in 16", trial, tb.n, len(tb.slots))
		}
		in := make([]bool, len(ns))
		for i := range in {
			in[i] = true
		}
		for range 24 {
			i := rng.IntN(len(ns))
			if in[i] {
				x.remove(&ns[i].Env.ID)
			} else {
				x.put(ns[i])
			}
			in[i] = !in[i]
			for j, n := range ns {
				if got := x.get(&n.Env.ID); (got == n) != in[j] || (got != nil && got != n) {
					t.Fatalf("trial %d: entry %d (in: %v) got %p", trial, j, in[j], got)
				}
			}
		}
	}
}

// BenchmarkIndexMiss is the duplicate check of a new message: a lookup of an id the
// index does not hold, with 100,000 held.
func BenchmarkIndexMiss(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var x index
	x.reserve(100_000)
	id := func() msg.ID {
		var id msg.ID
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		return id
	}
	for range 100_000 {
		i := id()
		x.put(&Node{id: i, Env: &msg.Envelope{ID: i}})
	}
	probes := make([]msg.ID, 4096)
	for i := range probes {
		probes[i] = id()
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if x.get(&probes[i%len(probes)]) != nil {
			b.Fatal("found an id never put")
		}
	}
}
