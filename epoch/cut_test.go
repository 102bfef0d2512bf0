package epoch

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

var (
	w0, w1, w2, w3 = acct(0), acct(1), acct(2), acct(3)
	alice, bob     = acct(100), acct(101)
)

// Duty time of epoch 0 is 1200 ms; of epoch 1, 2200 ms.

func TestCutQuorumPrefix(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	a3 := l.post(alice, 300)
	l.cp(w0, 0, 1200, a3)
	l.cp(w1, 0, 1200, a2)
	l.cp(w2, 0, 1250, a2)
	l.cp(w3, 0, 1300, a1)
	e := l.engine(t)
	c, b := e.Cut(0, equalWS(4), nil)
	// a2 has 3 of 4 supporters (3·3 ≥ 2·4); a3 only 1.
	if !c.Contains(a1.ID) || !c.Contains(a2.ID) || c.Contains(a3.ID) {
		t.Fatalf("cut: a1 %v a2 %v a3 %v", c.Contains(a1.ID), c.Contains(a2.ID), c.Contains(a3.ID))
	}
	if len(b.IDs) != 2 || b.Live {
		t.Fatalf("batch 0: %d ids, live %v", len(b.IDs), b.Live)
	}
	if b.Hash != msg.BatchHash(b.IDs) {
		t.Fatal("batch hash")
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
}

func TestCutWeightedQuorum(t *testing.T) {
	// Weights 3,1,1,1 (W = 6, quorum needs 4): w0+w1 is a quorum, w1+w2+w3 is not.
	for _, tc := range []struct {
		name    string
		signers []msg.Account
		in      bool
	}{
		{"heavy+one", []msg.Account{w0, w1}, true},
		{"three light", []msg.Account{w1, w2, w3}, false},
		{"heavy alone", []msg.Account{w0}, false},
		{"all", []msg.Account{w0, w1, w2, w3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLog()
			a1 := l.post(alice, 100)
			for _, w := range tc.signers {
				l.cp(w, 0, 1200, a1)
			}
			e := l.engine(t)
			c, _ := e.Cut(0, weightedWS(3, 1, 1, 1), nil)
			if c.Contains(a1.ID) != tc.in {
				t.Fatalf("in = %v, want %v", !tc.in, tc.in)
			}
		})
	}
}

func TestQuorumArithmetic(t *testing.T) {
	ws := weightedWS(3, 1, 1, 1)
	for _, tc := range []struct {
		w    uint64
		want bool
	}{{3, false}, {4, true}, {6, true}} {
		if ws.Quorum(tc.w) != tc.want {
			t.Errorf("Quorum(%d) = %v", tc.w, !tc.want)
		}
	}
	if !ws.IsQuorum([]msg.Account{w0, w1, w1}) || ws.IsQuorum([]msg.Account{w1, w2, w3, acct(9)}) {
		t.Error("IsQuorum")
	}
	if (WitnessSet{}).WithTheta(2, 3).Quorum(0) {
		t.Error("an empty witness set must have no quorum")
	}
	big := WitnessSet{Members: []msg.Account{w0}, Weights: []uint64{1 << 63}, Total: 1 << 63}.WithTheta(2, 3)
	if !big.Quorum(1<<63) || big.Quorum(1<<62) {
		t.Error("128-bit quorum comparison")
	}
}

func TestSupportFromEarlierEpochAndOmittedHeads(t *testing.T) {
	// Witnesses list a2 for epoch 0 and omit it for epoch 1 (already listed): a2 stays
	// supported; a3, posted in epoch 1, is listed for epoch 1.
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 900)
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, 0, 1200, a2)
	}
	a3 := l.post(alice, 1500)
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, 1, 2200, a3)
	}
	e := l.engine(t)
	_, bs := cuts(e, 1, fixed(equalWS(4)))
	if batchOf(bs, a1.ID) != 0 || batchOf(bs, a2.ID) != 0 || batchOf(bs, a3.ID) != 1 {
		t.Fatalf("batches %d %d %d", batchOf(bs, a1.ID), batchOf(bs, a2.ID), batchOf(bs, a3.ID))
	}
	// Nobody listed the checkpoints for 0, so batch 1 holds none and epoch 1 is not live.
	if bs[1].Live {
		t.Fatal("epoch 1 live without checkpoints in its batch")
	}
}

func TestLive(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	var cps []*Message
	for _, w := range []msg.Account{w0, w1, w2, w3} {
		cps = append(cps, l.cp(w, 0, 1200, a1))
	}
	// For epoch 1, w0…w2 list each other's checkpoints for 0 (ts 1200 < end(1) = 2000).
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, 1, 2200, cps[0], cps[1], cps[2])
	}
	e := l.engine(t)
	_, bs := cuts(e, 1, fixed(equalWS(4)))
	if bs[0].Live {
		t.Fatal("epoch 0 is never live")
	}
	if !bs[1].Live || len(bs[1].IDs) != 3 {
		t.Fatalf("epoch 1: live %v, %d ids", bs[1].Live, len(bs[1].IDs))
	}
	// With only two of the checkpoints in batch 1, epoch 1 is not live.
	l2 := newLog()
	a1 = l2.post(alice, 100)
	cps = nil
	for _, w := range []msg.Account{w0, w1, w2, w3} {
		cps = append(cps, l2.cp(w, 0, 1200, a1))
	}
	for _, w := range []msg.Account{w0, w1, w2} {
		l2.cp(w, 1, 2200, cps[0], cps[1])
	}
	_, bs = cuts(l2.engine(t), 1, fixed(equalWS(4)))
	if bs[1].Live || len(bs[1].IDs) != 2 {
		t.Fatalf("epoch 1: live %v, %d ids", bs[1].Live, len(bs[1].IDs))
	}
}

func TestCheckpointValidity(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	// w0's first checkpoint for 0 lists a1; its second (same epoch, same chain) lists a2 and
	// must not count, so a2 lacks w0's support.
	first := l.cp(w0, 0, 1200, a1)
	second := l.cp(w0, 0, 1300, a2)
	// w1 signs too early (ts < end(0)+g): invalid.
	early := l.cp(w1, 0, 1199, a2)
	// w2 signs for 1 and then for 0: the second is not > 1, invalid but not misbehaviour.
	l.cp(w2, 1, 2200)
	back := l.cp(w2, 0, 2300, a2)
	l.cp(w3, 0, 1200, a2)
	e := l.engine(t)
	c, _ := e.Cut(0, equalWS(4), nil)
	// Counted: w0's first (a1) and w3's (a2). a1 has 2 of 4 supporters, a2 one.
	if c.Len() != 0 {
		t.Fatal("an invalid checkpoint was counted")
	}
	e.Add(l.cp(w1, 1, 2200, a1)) // valid: the early one for 0 does not block epoch 1
	if c, _ := e.Cut(0, equalWS(4), nil); c.Len() != 0 {
		t.Fatal("a checkpoint for 1 supports nothing in C_0")
	}
	c0, _ := e.Cut(0, equalWS(4), nil)
	if c1, _ := e.Cut(1, equalWS(4), c0); !c1.Contains(a1.ID) || c1.Contains(a2.ID) {
		t.Fatal("C_1 = {a1}: w0, w1, w3 support it")
	}
	for _, tc := range []struct {
		m     *Message
		valid bool
		dup   bool
	}{{first, true, false}, {second, false, true}, {early, false, false}, {back, false, false}} {
		n := e.byID[tc.m.ID]
		if n.cp.valid != tc.valid || (n.cp.dupOf != nil) != tc.dup {
			t.Errorf("seq %d of %x: valid %v dup %v", n.seq, n.a.id[31], n.cp.valid, n.cp.dupOf != nil)
		}
	}
	if e.byID[second.ID].cp.dupOf != e.byID[first.ID] {
		t.Error("misbehaviour pair should name the lowest-seq checkpoint")
	}
}

func TestMisbehaviourPairReported(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	first := l.cp(w0, 0, 1200, a1)
	second := l.cp(w0, 0, 1300, a1)
	for _, w := range []msg.Account{w1, w2, w3} {
		l.cp(w, 0, 1200, a1)
	}
	// Epoch 1: w1…w3 list w0's chain up to the second checkpoint.
	for _, w := range []msg.Account{w1, w2, w3} {
		l.cp(w, 1, 2200, second)
	}
	_, bs := cuts(l.engine(t), 1, fixed(equalWS(4)))
	if len(bs[0].Misbehaviour) != 0 {
		t.Fatal("batch 0 has no misbehaviour")
	}
	want := MisbehaviourPair{Author: w0, Epoch: 0, First: first.ID, Second: second.ID}
	if len(bs[1].Misbehaviour) != 1 || bs[1].Misbehaviour[0] != want {
		t.Fatalf("misbehaviour %+v", bs[1].Misbehaviour)
	}
}

func TestForkBranchUnion(t *testing.T) {
	// w0 forks: its branch x lists a1 for epoch 0, branch y lists a2 for epoch 0. Both count,
	// so w0 supports a2 (union) and, with w1 and w2, a2 is in C_0.
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	base := l.post(w0, 100)
	x := l.mk(w0, base, 1200, cpInfo(0, a1))
	y := l.mk(w0, base, 1210, cpInfo(0, a2))
	l.cp(w1, 0, 1200, a2)
	l.cp(w2, 0, 1200, a1)
	l.cp(w3, 0, 1200, a2)
	e := l.engine(t)
	if !e.Forked(w0) || e.Forked(w1) {
		t.Fatal("fork evidence")
	}
	ws := equalWS(4)
	c, _ := e.Cut(0, ws, nil)
	if !c.Contains(a2.ID) {
		t.Fatal("a2 should have w0 (branch y), w1, w3")
	}
	// Epoch 1: w1, w2, w3 list both of w0's branches; the fork pair enters batch 1.
	for _, w := range []msg.Account{w1, w2, w3} {
		l.cp(w, 1, 2200, x, y)
	}
	e = l.engine(t)
	cs, bs := cuts(e, 1, fixed(ws))
	if !cs[1].Contains(x.ID) || !cs[1].Contains(y.ID) {
		t.Fatal("both branches in C_1")
	}
	lo, hi := x.ID, y.ID
	if string(lo[:]) > string(hi[:]) {
		lo, hi = hi, lo
	}
	want := ForkPair{Author: w0, Seq: 2, A: lo, B: hi}
	if len(bs[1].Forks) != 1 || bs[1].Forks[0] != want || len(bs[0].Forks) != 0 {
		t.Fatalf("forks %+v / %+v", bs[0].Forks, bs[1].Forks)
	}
	// Heads: alice's a2 and w0's two branches; nobody listed w1…w3.
	if got := cs[1].Heads(); len(got) != 3 || got[0].Author != w0 || got[1].Author != w0 || got[2].ID != a2.ID {
		t.Fatalf("heads %+v", got)
	}
	// Settled must fail: a witness of epoch 1 forked.
	if e.Settled(1, ws, cs[1], true) {
		t.Fatal("settled with fork evidence against a witness")
	}
}

func TestParentClosure(t *testing.T) {
	// b1 (bob) cites a2 (alice). Witnesses list b1 for epoch 0 but alice only up to a1, so b1
	// has quorum support and its parent does not: C_0 drops b1. In epoch 1 a2 is listed and b1
	// joins batch 1 with it.
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	b1 := l.post(bob, 300, a2)
	b2 := l.post(bob, 400)
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, 0, 1200, a1, b2)
	}
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, 1, 2200, a2)
	}
	cs, bs := cuts(l.engine(t), 1, fixed(equalWS(4)))
	if !cs[0].Contains(a1.ID) || cs[0].Contains(b1.ID) || cs[0].Contains(b2.ID) {
		t.Fatal("C_0 must hold a1 and neither b1 nor b2")
	}
	for _, m := range []*Message{a2, b1, b2} {
		if batchOf(bs, m.ID) != 1 {
			t.Fatalf("seq %d: batch %d", m.Seq, batchOf(bs, m.ID))
		}
	}
}

func TestListedButMissingJoinsOnArrival(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	var cps []*Message
	for _, w := range []msg.Account{w0, w1, w2} {
		cps = append(cps, l.cp(w, 0, 1200, a1))
	}
	ws := equalWS(4)
	e := NewEngine(testCfg)
	for _, m := range cps {
		from, err := e.Add(m)
		if err != nil || from != NoChange {
			t.Fatalf("Add cp: %d %v", from, err)
		}
	}
	if got := e.MissingHeads(); len(got) != 1 || got[0] != a1.ID {
		t.Fatalf("missing %v", got)
	}
	c, _ := e.Cut(0, ws, nil)
	if c.Len() != 0 || e.Settled(0, ws, c, false) {
		t.Fatal("nothing held yet, and a listed head is missing")
	}
	from, err := e.Add(a1)
	if err != nil || from != 0 {
		t.Fatalf("Add a1: %d %v", from, err)
	}
	if got := e.TakeNewHeads(); len(got) != 1 || got[0] != a1.ID {
		t.Fatalf("new heads %v", got)
	}
	c2, _ := e.Cut(0, ws, nil)
	if !c2.Contains(a1.ID) || c2.Equal(c) {
		t.Fatal("a1 joins C_0 on arrival")
	}
	if c.Contains(a1.ID) {
		t.Fatal("an old cut must not change")
	}
}

func TestHeadMismatchSupportsNothing(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	for _, w := range []msg.Account{w0, w1, w2} {
		c := l.cp(w, 0, 1200)
		c.Checkpoint.Heads = []msg.Head{{Author: alice, Seq: 1, ID: a2.ID}} // wrong seq
	}
	c, _ := e0(t, l)
	if c.Contains(a1.ID) || c.Contains(a2.ID) {
		t.Fatal("a mislabelled head must support nothing")
	}
}

func e0(t *testing.T, l *logb) (*Cut, *Batch) { return l.engine(t).Cut(0, equalWS(4), nil) }

func TestNonWitnessIgnored(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	l.cp(w0, 0, 1200, a1)
	l.cp(w1, 0, 1200, a1)
	l.cp(acct(50), 0, 1200, a1)
	l.cp(acct(51), 0, 1200, a1)
	if c, _ := e0(t, l); c.Contains(a1.ID) {
		t.Fatal("non-witness checkpoints must be ignored")
	}
}

func TestAddErrorsAndDirty(t *testing.T) {
	l := newLog()
	a1 := l.post(alice, 100)
	a2 := l.post(alice, 200)
	e := NewEngine(testCfg)
	if _, err := e.Add(a2); !errors.Is(err, ErrMissingAncestor) {
		t.Fatalf("want ErrMissingAncestor, got %v", err)
	}
	if from, err := e.Add(a1); from != NoChange || err != nil {
		t.Fatal(from, err)
	}
	if from, err := e.Add(a1); from != NoChange || err != nil {
		t.Fatal("duplicate", from, err)
	}
	bad := &Message{ID: msg.ID{9}, Author: bob, Seq: 2, Prev: a1.ID}
	if _, err := e.Add(bad); !errors.Is(err, ErrNotStructural) {
		t.Fatalf("want ErrNotStructural, got %v", err)
	}
	e.Add(a2)
	c3 := l.cp(w0, 3, 4200, a2)
	if from, _ := e.Add(c3); from != 3 {
		t.Fatalf("dirty from %d, want 3", from)
	}
	// Listing again what w0 already supports changes nothing.
	c4 := l.cp(w0, 4, 5200, a1)
	if from, _ := e.Add(c4); from != NoChange {
		t.Fatalf("dirty from %d, want none", from)
	}
	// A late checkpoint for 2 would be invalid (2 < 4 on w0's chain): no change either.
	if from, _ := e.Add(l.cp(w0, 2, 6000, a2)); from != NoChange {
		t.Fatal("invalid checkpoint marked dirty")
	}
}

func TestSettled(t *testing.T) {
	ws := equalWS(4)
	build := func(signers int, extra func(l *logb, a []*Message)) (*Engine, *Cut) {
		l := newLog()
		a := []*Message{l.post(alice, 100), l.post(alice, 200)}
		for i := 0; i < signers; i++ {
			l.cp(acct(i), 0, 1200, a[1])
		}
		if extra != nil {
			extra(l, a)
		}
		e := l.engine(t)
		c, _ := e.Cut(0, ws, nil)
		return e, c
	}
	t.Run("all signed", func(t *testing.T) {
		e, c := build(4, nil)
		if !e.Settled(0, ws, c, false) {
			t.Fatal("4 of 4 signed the same heads: settled")
		}
		if e.Settled(1, ws, c, false) {
			t.Fatal("k−1 unsettled ⇒ k unsettled")
		}
	})
	t.Run("three signed", func(t *testing.T) {
		// U = 1; nothing outside the cut is supported: 3·1 < 2·4.
		e, c := build(3, nil)
		if !e.Settled(0, ws, c, false) {
			t.Fatal("settled")
		}
	})
	t.Run("two signed", func(t *testing.T) {
		// U = 2: 3·2 ≥ 8, the missing two could still form a quorum with someone.
		e, c := build(2, nil)
		if e.Settled(0, ws, c, false) {
			t.Fatal("not settled")
		}
	})
	t.Run("support outside the cut", func(t *testing.T) {
		// w0…w2 list a2, w3 lists a3 (outside the cut): U = 0, sup(a3) = 1, 3·1 < 2·4.
		e, c := build(3, func(l *logb, a []*Message) {
			a3 := l.post(alice, 300)
			l.cp(w3, 0, 1200, a3)
		})
		if !e.Settled(0, ws, c, false) {
			t.Fatal("settled: sup 1, U 0")
		}
	})
	t.Run("support outside plus unsigned", func(t *testing.T) {
		// w0 lists a2, w1 and w2 list a3, w3 is silent: a2 is in (3 supporters), a3 is not;
		// U = 1 and sup(a3) = 2, 3·(1+2) ≥ 2·4.
		e, c := build(1, func(l *logb, a []*Message) {
			a3 := l.post(alice, 300)
			l.cp(w1, 0, 1200, a3)
			l.cp(w2, 0, 1200, a3)
		})
		if c.Len() != 2 || e.Settled(0, ws, c, false) {
			t.Fatalf("len %d; U = 1, sup(a3) = 2: not settled", c.Len())
		}
	})
}

// TestSortCandidates compares the bucket sort with a comparison sort: narrow and wide
// depth bands (up to the full uint64 range), and ids that tie on their first 8 bytes.
func TestSortCandidates(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 300 {
		n := rng.IntN(300)
		band := []uint64{1, 4, 50, 1 << 20, 1 << 63, math.MaxUint64}[trial%6]
		base := rng.Uint64() % 1000
		if band > 1<<20 {
			base = 0
		}
		cs := make([]candidate, n)
		for i := range cs {
			nd := &node{}
			for j := range nd.id {
				nd.id[j] = byte(rng.Uint32())
			}
			if rng.IntN(4) == 0 && i > 0 { // same leading 8 bytes as the one before
				copy(nd.id[:8], cs[i-1].n.id[:8])
			}
			d := base
			if band > 1 {
				d += rng.Uint64N(band)
			}
			cs[i] = candidate{d, binary.BigEndian.Uint64(nd.id[:8]), nd}
		}
		want := slices.Clone(cs)
		slices.SortFunc(want, compareCandidates)
		got := sortCandidates(cs)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d candidates, want %d", trial, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trial %d (band %d): position %d differs", trial, band, i)
			}
		}
	}
}
