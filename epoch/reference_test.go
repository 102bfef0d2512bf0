package epoch

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// reference is SPEC §4 written as plainly as possible, with sets of ids and a fixpoint, to
// check the engine against. It is quadratic and only for small logs.
type reference struct {
	cfg  Config
	byID map[msg.ID]*Message
	msgs []*Message
}

type refOut struct {
	cuts    []map[msg.ID]bool
	batches [][]msg.ID
	live    []bool
	forks   [][]ForkPair
	mis     [][]MisbehaviourPair
	settled []bool
}

func newReference(cfg Config, msgs []*Message) *reference {
	r := &reference{cfg: cfg, byID: map[msg.ID]*Message{}, msgs: msgs}
	for _, m := range msgs {
		r.byID[m.ID] = m
	}
	return r
}

// below lists m's prev-chain, m excluded, nearest first.
func (r *reference) below(m *Message) []*Message {
	var out []*Message
	for m.Seq > 1 {
		m = r.byID[m.Prev]
		out = append(out, m)
	}
	return out
}

func (r *reference) valid(c *Message) bool {
	k := c.Checkpoint.Epoch
	if c.TsMs < r.cfg.DutyTime(k) {
		return false
	}
	for _, x := range r.below(c) {
		if x.Checkpoint != nil && x.Checkpoint.Epoch >= k {
			return false
		}
	}
	return true
}

func (r *reference) dupOf(c *Message) *Message {
	var first *Message
	for _, x := range r.below(c) {
		if x.Checkpoint != nil && x.Checkpoint.Epoch == c.Checkpoint.Epoch {
			first = x
		}
	}
	return first
}

func (r *reference) onChain(x, h *Message) bool {
	if x == h {
		return true
	}
	return slices.Contains(r.below(h), x)
}

func (r *reference) supporters(x *Message, k uint64) map[msg.Account]bool {
	s := map[msg.Account]bool{}
	for _, c := range r.msgs {
		if c.Checkpoint == nil || c.Checkpoint.Epoch > k || !r.valid(c) {
			continue
		}
		for _, h := range c.Checkpoint.Heads {
			hm := r.byID[h.ID]
			if hm != nil && hm.Author == h.Author && hm.Seq == h.Seq && hm.Author == x.Author && r.onChain(x, hm) {
				s[c.Author] = true
			}
		}
	}
	return s
}

func weightOf(ws WitnessSet, s map[msg.Account]bool) uint64 {
	var w uint64
	for a := range s {
		w += ws.Weight(a)
	}
	return w
}

func (r *reference) run(last uint64, wsFor func(uint64) WitnessSet) refOut {
	var out refOut
	prev := map[msg.ID]bool{}
	prevSettled := false
	for k := uint64(0); k <= last; k++ {
		ws := wsFor(k)
		s := map[msg.ID]bool{}
		for id := range prev {
			s[id] = true
		}
		for _, x := range r.msgs {
			if ws.Quorum(weightOf(ws, r.supporters(x, k))) {
				s[x.ID] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for id := range s {
				x := r.byID[id]
				ok := x.Seq == 1 || s[x.Prev]
				for _, p := range x.Parents {
					ok = ok && s[p]
				}
				if !ok {
					delete(s, id)
					changed = true
				}
			}
		}
		var batch []msg.ID
		signers := map[msg.Account]bool{}
		var mis []MisbehaviourPair
		for _, x := range r.msgs {
			if !s[x.ID] || prev[x.ID] {
				continue
			}
			batch = append(batch, x.ID)
			if x.Checkpoint != nil && r.valid(x) {
				signers[x.Author] = true
			}
			if x.Checkpoint != nil {
				if d := r.dupOf(x); d != nil {
					mis = append(mis, MisbehaviourPair{Author: x.Author, Epoch: x.Checkpoint.Epoch, First: d.ID, Second: x.ID})
				}
			}
		}
		sortIDs(batch)
		slices.SortFunc(mis, func(a, b MisbehaviourPair) int {
			if c := cmpAcct(a.Author, b.Author); c != 0 {
				return c
			}
			if c := cmpU(r.byID[a.Second].Seq, r.byID[b.Second].Seq); c != 0 {
				return c
			}
			return cmpID(a.Second, b.Second)
		})
		// Fork points: groups of one author's messages with the same prev (or seq 1).
		groups := map[[2]msg.ID][]*Message{}
		var keys [][2]msg.ID
		for _, x := range r.msgs {
			key := [2]msg.ID{msg.ID(x.Author), x.Prev}
			if groups[key] == nil {
				keys = append(keys, key)
			}
			groups[key] = append(groups[key], x)
		}
		var forks []ForkPair
		for _, key := range keys {
			g := groups[key]
			var in []msg.ID
			before := 0
			for _, x := range g {
				if s[x.ID] {
					in = append(in, x.ID)
				}
				if prev[x.ID] {
					before++
				}
			}
			if len(in) >= 2 && before < 2 {
				sortIDs(in)
				forks = append(forks, ForkPair{Author: g[0].Author, Seq: g[0].Seq, A: in[0], B: in[1]})
			}
		}
		slices.SortFunc(forks, func(a, b ForkPair) int {
			if c := cmpAcct(a.Author, b.Author); c != 0 {
				return c
			}
			if c := cmpU(a.Seq, b.Seq); c != 0 {
				return c
			}
			return cmpID(a.A, b.A)
		})
		var signedW uint64
		for a := range signers {
			signedW += ws.Weight(a)
		}
		// Settled.
		settled := (k == 0 || prevSettled) && ws.Total > 0
		if settled {
			var unsigned uint64
			for i, m := range ws.Members {
				has := false
				for _, c := range r.msgs {
					if c.Author == m && c.Checkpoint != nil && c.Checkpoint.Epoch == k && r.valid(c) {
						has = true
					}
				}
				if !has {
					unsigned += ws.Weights[i]
				}
				if r.forked(m) {
					settled = false
				}
			}
			for _, c := range r.msgs {
				if c.Checkpoint != nil && c.Checkpoint.Epoch <= k && ws.Weight(c.Author) > 0 && r.valid(c) {
					for _, h := range c.Checkpoint.Heads {
						if r.byID[h.ID] == nil {
							settled = false
						}
					}
				}
			}
			var outside uint64
			for _, x := range r.msgs {
				if !s[x.ID] {
					outside = max(outside, weightOf(ws, r.supporters(x, k)))
				}
			}
			lhs := mul128(u128{}.add64(unsigned).add64(outside), ws.theta[1])
			settled = settled && lhs.cmp(mul64(ws.theta[0], ws.Total)) < 0
		}
		out.cuts = append(out.cuts, s)
		out.batches = append(out.batches, batch)
		out.live = append(out.live, k >= 1 && ws.Quorum(signedW))
		out.forks = append(out.forks, forks)
		out.mis = append(out.mis, mis)
		out.settled = append(out.settled, settled)
		prev, prevSettled = s, settled
	}
	return out
}

func (r *reference) forked(a msg.Account) bool {
	seen := map[uint64]bool{}
	for _, x := range r.msgs {
		if x.Author == a {
			if seen[x.Seq] {
				return true
			}
			seen[x.Seq] = true
		}
	}
	return false
}

func cmpAcct(a, b msg.Account) int { return cmpID(msg.ID(a), msg.ID(b)) }
func cmpID(a, b msg.ID) int {
	x := []msg.ID{a, b}
	if a == b {
		return 0
	}
	sortIDs(x)
	if x[0] == a {
		return -1
	}
	return 1
}
func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// genLog draws a small adversarial log: forking authors and witnesses, early, repeated and
// backwards checkpoints, mislabelled and never-held heads, non-witness signers, and witness
// sets whose weights change per epoch.
type genned struct {
	msgs  []*Message
	last  uint64
	wsets []WitnessSet
}

func (g genned) ws(k uint64) WitnessSet { return g.wsets[k] }

func genLog(t *rapid.T) genned {
	l := newLog()
	nW := rapid.IntRange(3, 5).Draw(t, "witnesses")
	nA := rapid.IntRange(1, 3).Draw(t, "authors")
	last := uint64(rapid.IntRange(2, 4).Draw(t, "last"))
	var actors []msg.Account
	for i := 0; i < nW; i++ {
		actors = append(actors, acct(i))
	}
	actors = append(actors, acct(50)) // never a witness
	for i := 0; i < nA; i++ {
		actors = append(actors, acct(100+i))
	}
	steps := rapid.IntRange(5, 60).Draw(t, "steps")
	clock := uint64(0)
	for s := 0; s < steps; s++ {
		clock += uint64(rapid.IntRange(0, 350).Draw(t, "dt"))
		a := actors[rapid.IntRange(0, len(actors)-1).Draw(t, "actor")]
		var own []*Message
		for _, m := range l.msgs {
			if m.Author == a {
				own = append(own, m)
			}
		}
		prev := l.latest[a]
		if len(own) > 0 && rapid.IntRange(0, 7).Draw(t, "fork?") == 0 {
			i := rapid.IntRange(-1, len(own)-1).Draw(t, "forkFrom")
			prev = nil
			if i >= 0 {
				prev = own[i]
			}
		}
		var parents []*Message
		for p := rapid.IntRange(0, 2).Draw(t, "nparents"); p > 0 && len(l.msgs) > 0; p-- {
			c := l.msgs[rapid.IntRange(0, len(l.msgs)-1).Draw(t, "parent")]
			if c.Author != a && !slices.Contains(parents, c) {
				parents = append(parents, c)
			}
		}
		ts := clock
		for _, p := range append(slices.Clone(parents), prev) {
			if p != nil {
				ts = max(ts, p.TsMs)
			}
		}
		var cp *CheckpointInfo
		if a != acct(100) && a != acct(101) && a != acct(102) && rapid.Bool().Draw(t, "cp?") {
			k := uint64(rapid.IntRange(0, int(last)).Draw(t, "cpEpoch"))
			if cur := testCfg.EpochOf(clock); cur >= 1 && cur-1 <= last && rapid.Bool().Draw(t, "current?") {
				k = cur - 1
			}
			if rapid.IntRange(0, 3).Draw(t, "onTime?") > 0 {
				ts = max(ts, testCfg.DutyTime(k)+uint64(rapid.IntRange(0, 300).Draw(t, "late")))
			}
			cp = &CheckpointInfo{Epoch: k}
			for _, who := range actors {
				var mine, before []*Message
				for _, m := range l.msgs {
					if m.Author == who {
						mine = append(mine, m)
						if m.TsMs < testCfg.End(k) {
							before = append(before, m)
						}
					}
				}
				if len(mine) == 0 {
					continue
				}
				var m *Message
				switch rapid.IntRange(0, 5).Draw(t, "listWhat") {
				case 1, 2, 3: // the honest choice: the newest message before end(k)
					if len(before) > 0 {
						m = before[len(before)-1]
					}
				case 4, 5:
					m = mine[rapid.IntRange(0, len(mine)-1).Draw(t, "listed")]
				}
				if m == nil {
					continue
				}
				h := msg.Head{Author: m.Author, Seq: m.Seq, ID: m.ID}
				switch rapid.IntRange(0, 12).Draw(t, "headKind") {
				case 0:
					h.Seq++ // mislabelled
				case 1:
					h.ID[0] ^= 0xFF // never held
				}
				cp.Heads = append(cp.Heads, h)
			}
			slices.SortFunc(cp.Heads, msg.CompareHeads)
		}
		l.mk(a, prev, ts, cp, parents...)
	}
	g := genned{msgs: l.msgs, last: last}
	for k := uint64(0); k <= last; k++ {
		ws := WitnessSet{}
		for i := 0; i < nW; i++ {
			if w := rapid.IntRange(-1, 4).Draw(t, "weight"); w > 0 {
				ws.Members = append(ws.Members, acct(i))
				ws.Weights = append(ws.Weights, uint64(w))
				ws.Total += uint64(w)
			}
		}
		g.wsets = append(g.wsets, ws.WithTheta(2, 3))
	}
	return g
}

// engineOut runs the engine over msgs in the given order and reports like the reference.
func engineOut(t fataler, msgs []*Message, g genned) ([]*Cut, []*Batch, []bool) {
	e := NewEngine(testCfg)
	for _, m := range msgs {
		if _, err := e.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	cs, bs := cuts(e, g.last, g.ws)
	var settled []bool
	prev := false
	for k := uint64(0); k <= g.last; k++ {
		prev = e.Settled(k, g.ws(k), cs[k], prev)
		settled = append(settled, prev)
	}
	return cs, bs, settled
}

func TestEngineMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genLog(t)
		want := newReference(testCfg, g.msgs).run(g.last, g.ws)
		cs, bs, settled := engineOut(t, g.msgs, g)
		for k := uint64(0); k <= g.last; k++ {
			for _, m := range g.msgs {
				if cs[k].Contains(m.ID) != want.cuts[k][m.ID] {
					t.Fatalf("C_%d: %x seq %d: engine %v, reference %v", k, m.Author[31], m.Seq, cs[k].Contains(m.ID), want.cuts[k][m.ID])
				}
			}
			if cs[k].Len() != len(want.cuts[k]) {
				t.Fatalf("C_%d: len %d, want %d", k, cs[k].Len(), len(want.cuts[k]))
			}
			b := bs[k]
			if !slices.Equal(b.IDs, want.batches[k]) && !(len(b.IDs) == 0 && len(want.batches[k]) == 0) {
				t.Fatalf("batch %d differs", k)
			}
			if b.Live != want.live[k] {
				t.Fatalf("live %d: engine %v", k, b.Live)
			}
			if !slices.Equal(b.Forks, want.forks[k]) {
				t.Fatalf("forks %d: engine %+v, reference %+v", k, b.Forks, want.forks[k])
			}
			if !slices.Equal(b.Misbehaviour, want.mis[k]) {
				t.Fatalf("misbehaviour %d: engine %+v, reference %+v", k, b.Misbehaviour, want.mis[k])
			}
			if settled[k] != want.settled[k] {
				t.Fatalf("settled %d: engine %v", k, settled[k])
			}
		}
	})
}

// shuffleTopo draws a random order of msgs in which ancestors come first.
func shuffleTopo(t *rapid.T, msgs []*Message) []*Message {
	prio := rapid.SliceOfN(rapid.Uint64(), len(msgs), len(msgs)).Draw(t, "prio")
	done := map[msg.ID]bool{}
	var out []*Message
	for len(out) < len(msgs) {
		best := -1
		for i, m := range msgs {
			if done[m.ID] {
				continue
			}
			ready := m.Seq == 1 || done[m.Prev]
			for _, p := range m.Parents {
				ready = ready && done[p]
			}
			if ready && (best < 0 || prio[i] < prio[best]) {
				best = i
			}
		}
		done[msgs[best].ID] = true
		out = append(out, msgs[best])
	}
	return out
}

// P1: the same set in any order (and with duplicates) gives identical cuts and batches.
func TestP1OrderIndependence(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genLog(t)
		cs1, bs1, st1 := engineOut(t, g.msgs, g)
		order := shuffleTopo(t, g.msgs)
		dup := rapid.IntRange(0, len(order)-1).Draw(t, "dup")
		order = append(order, order[:dup]...)
		cs2, bs2, st2 := engineOut(t, order, g)
		for k := range cs1 {
			for _, m := range g.msgs {
				if cs1[k].Contains(m.ID) != cs2[k].Contains(m.ID) {
					t.Fatalf("C_%d differs", k)
				}
			}
			b1, b2 := bs1[k], bs2[k]
			if b1.Hash != b2.Hash || b1.Live != b2.Live || !slices.Equal(b1.Forks, b2.Forks) || !slices.Equal(b1.Misbehaviour, b2.Misbehaviour) || st1[k] != st2[k] {
				t.Fatalf("batch %d differs", k)
			}
		}
	})
}

// P2: with witness sets fixed, more messages and checkpoints never remove a message from C_k.
func TestP2Monotone(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genLog(t)
		// A held subset: drop some messages and, with them, every descendant.
		drop := map[msg.ID]bool{}
		var sub []*Message
		for _, m := range g.msgs {
			gone := rapid.IntRange(0, 4).Draw(t, "drop?") == 0 || (m.Seq > 1 && drop[m.Prev])
			for _, p := range m.Parents {
				gone = gone || drop[p]
			}
			if gone {
				drop[m.ID] = true
			} else {
				sub = append(sub, m)
			}
		}
		small, _, _ := engineOut(t, sub, g)
		full, _, _ := engineOut(t, g.msgs, g)
		for k := range small {
			for _, m := range sub {
				if small[k].Contains(m.ID) && !full[k].Contains(m.ID) {
					t.Fatalf("C_%d lost a message when more arrived", k)
				}
			}
		}
	})
}

type fataler interface{ Fatal(args ...any) }
