package dag

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/guild-net/guild/msg"
)

// genLog draws a multi-author log with forks, structurally invalid messages (and
// descendants of them), and messages whose ancestors are never delivered. It returns
// the delivered set.
func genLog(t *rapid.T, w *world) []*msg.Envelope {
	w.tb = t
	nA := rapid.IntRange(2, len(w.keys)).Draw(t, "authors")
	n := rapid.IntRange(1, 60).Draw(t, "messages")
	mine := make([][]*msg.Envelope, nA)
	var all, set []*msg.Envelope
	for range n {
		a := rapid.IntRange(0, nA-1).Draw(t, "author")
		s := spec{author: a}
		own := mine[a]
		if len(own) > 0 && !chance(t, 15, "new root") {
			s.prev = own[len(own)-1]
			if chance(t, 8, "fork") {
				s.prev = pick(t, own, "fork prev")
			}
		}
		var others []*msg.Envelope
		for _, e := range all {
			if e.Body.Author != w.accts[a] {
				others = append(others, e)
			}
		}
		if len(others) > 0 {
			for range rapid.IntRange(0, 3).Draw(t, "parents") {
				s.parents = append(s.parents, pick(t, others, "parent"))
			}
		}
		var maxLam, maxTs uint64 = 0, 1000
		for _, p := range append(slices.Clone(s.parents), s.prev) {
			if p != nil {
				maxLam, maxTs = max(maxLam, p.Body.Lamport), max(maxTs, p.Body.TsMs)
			}
		}
		s.ts = maxTs + uint64(rapid.IntRange(0, 3).Draw(t, "dt"))
		switch rapid.IntRange(0, 1<<20).Draw(t, "mutation") % 20 {
		case 0: // lamport one too high
			if maxLam > 0 {
				s.lamport = maxLam + 2
			}
		case 1: // timestamp before an ancestor's
			if maxTs > 1000 {
				s.ts = maxTs - 1
			}
		case 2: // a parent of its own
			var cands []*msg.Envelope
			for _, e := range own {
				if e != s.prev {
					cands = append(cands, e)
				}
			}
			if len(cands) > 0 {
				s.parents = append(s.parents, pick(t, cands, "own parent"))
			}
		case 3: // skips a seq
			if s.prev != nil {
				s.seq = s.prev.Body.Seq + 2
				s.lamport = max(maxLam+1, s.seq)
			}
		case 4: // prev by another author
			if len(others) > 0 {
				s.prev = pick(t, others, "foreign prev")
				s.parents = slices.DeleteFunc(s.parents, func(e *msg.Envelope) bool { return e == s.prev })
				s.ts = max(s.ts, s.prev.Body.TsMs)
			}
		}
		e := w.seal(s)
		all = append(all, e)
		mine[a] = append(mine[a], e)
		if !chance(t, 25, "withheld") {
			set = append(set, e)
		}
	}
	return set
}

// pick draws an element by index, so failure logs stay short.
func pick[E any](t *rapid.T, s []E, label string) E {
	return s[rapid.IntRange(0, len(s)-1).Draw(t, label)]
}

// chance is true about once in n draws. rapid leans towards small values, so the
// draw is folded instead of compared with 0.
func chance(t *rapid.T, n int, label string) bool {
	return rapid.IntRange(0, 1<<20).Draw(t, label)%n == n/2
}

// snapshot is everything the dag must derive from the set alone.
type snapshot struct {
	inDag, held []msg.ID
	reasons     map[msg.ID]error
	heads       map[msg.Account][]msg.ID
	forks       []Fork
	forksOf     map[msg.Account][]Fork
	orphans     []msg.ID
	missing     []msg.ID
}

func sortIDs(s []msg.ID) []msg.ID {
	slices.SortFunc(s, func(a, b msg.ID) int { return bytes.Compare(a[:], b[:]) })
	return s
}

func snap(d *DAG, set []*msg.Envelope, accts []msg.Account) snapshot {
	s := snapshot{reasons: map[msg.ID]error{}, heads: map[msg.Account][]msg.ID{}, forksOf: map[msg.Account][]Fork{}}
	for _, e := range set {
		if n, ok := d.Get(e.ID); ok {
			s.inDag = append(s.inDag, e.ID)
			if n.Held {
				s.held = append(s.held, e.ID)
			}
			var se *StructuralError
			if errors.As(n.Invalid, &se) {
				s.reasons[e.ID] = se.Reason
			}
		}
	}
	sortIDs(s.inDag)
	sortIDs(s.held)
	for _, a := range accts {
		if h := d.Heads(a); len(h) > 0 {
			s.heads[a] = ids(h)
		}
		if f := d.ForksOf(a); f != nil {
			s.forksOf[a] = f
		}
	}
	s.forks = d.Forks()
	s.orphans = sortIDs(envIDs(d.Orphans()))
	s.missing = d.MissingIDs()
	return s
}

// model computes the snapshot straight from SPEC §3, message by message, without
// buffers, orphan lists or indexes.
func model(set []*msg.Envelope, accts []msg.Account) snapshot {
	s := snapshot{reasons: map[msg.ID]error{}, heads: map[msg.Account][]msg.ID{}, forksOf: map[msg.Account][]Fork{}}
	byID := map[msg.ID]*msg.Envelope{}
	for _, e := range set {
		byID[e.ID] = e
	}
	ancestors := func(e *msg.Envelope) []msg.ID {
		out := slices.Clone(e.Body.Parents)
		if e.Body.Prev != nil {
			out = append(out, *e.Body.Prev)
		}
		return out
	}
	in := map[msg.ID]bool{}
	held := map[msg.ID]bool{}
	for changed := true; changed; {
		changed = false
		for _, e := range set {
			if in[e.ID] {
				continue
			}
			ok := true
			for _, id := range ancestors(e) {
				ok = ok && in[id]
			}
			if !ok {
				continue
			}
			in[e.ID], changed = true, true
			var reason error
			b := e.Body
			var lam, ts uint64
			h := true
			if b.Prev != nil {
				p := byID[*b.Prev]
				if p.Body.Author != b.Author || p.Body.Seq != b.Seq-1 {
					reason = ErrPrevMismatch
				}
			}
			for _, id := range b.Parents {
				if byID[id].Body.Author == b.Author && reason == nil {
					reason = ErrParentSameAuthor
				}
			}
			for _, id := range ancestors(e) {
				lam, ts = max(lam, byID[id].Body.Lamport), max(ts, byID[id].Body.TsMs)
				h = h && held[id]
			}
			if reason == nil && b.Lamport != lam+1 {
				reason = ErrLamport
			}
			if reason == nil && b.TsMs < ts {
				reason = ErrTimestamp
			}
			if reason != nil {
				s.reasons[e.ID] = reason
			}
			held[e.ID] = h && reason == nil
		}
	}
	type slot struct {
		a   msg.Account
		seq uint64
	}
	bySlot := map[slot][]msg.ID{}
	for _, e := range set {
		if in[e.ID] {
			s.inDag = append(s.inDag, e.ID)
		} else {
			s.orphans = append(s.orphans, e.ID)
			for _, id := range ancestors(e) {
				if byID[id] == nil && !slices.Contains(s.missing, id) {
					s.missing = append(s.missing, id)
				}
			}
		}
		if !held[e.ID] {
			continue
		}
		s.held = append(s.held, e.ID)
		bySlot[slot{e.Body.Author, e.Body.Seq}] = append(bySlot[slot{e.Body.Author, e.Body.Seq}], e.ID)
		head := true
		for _, c := range set {
			if held[c.ID] && c.Body.Prev != nil && *c.Body.Prev == e.ID {
				head = false
			}
		}
		if head {
			s.heads[e.Body.Author] = append(s.heads[e.Body.Author], e.ID)
		}
	}
	for _, a := range accts {
		hs := s.heads[a]
		slices.SortFunc(hs, func(x, y msg.ID) int {
			if sx, sy := byID[x].Body.Seq, byID[y].Body.Seq; sx != sy {
				if sx < sy {
					return -1
				}
				return 1
			}
			return bytes.Compare(x[:], y[:])
		})
		var seqs []uint64
		for sl, list := range bySlot {
			if sl.a == a && len(list) > 1 {
				seqs = append(seqs, sl.seq)
			}
		}
		slices.Sort(seqs)
		for _, q := range seqs {
			list := sortIDs(slices.Clone(bySlot[slot{a, q}]))
			s.forksOf[a] = append(s.forksOf[a], Fork{Author: a, Seq: q, A: list[0], B: list[1]})
		}
		if len(seqs) > 0 {
			s.forks = append(s.forks, s.forksOf[a][0])
		}
	}
	slices.SortFunc(s.forks, func(x, y Fork) int { return bytes.Compare(x.Author[:], y.Author[:]) })
	sortIDs(s.inDag)
	sortIDs(s.held)
	sortIDs(s.orphans)
	sortIDs(s.missing)
	return s
}

func (s snapshot) diff(o snapshot) string {
	switch {
	case !slices.Equal(s.inDag, o.inDag):
		return fmt.Sprintf("in dag: %d vs %d", len(s.inDag), len(o.inDag))
	case !slices.Equal(s.held, o.held):
		return fmt.Sprintf("held: %d vs %d", len(s.held), len(o.held))
	case fmt.Sprint(s.reasons) != fmt.Sprint(o.reasons):
		return fmt.Sprintf("reasons: %v vs %v", s.reasons, o.reasons)
	case fmt.Sprint(s.heads) != fmt.Sprint(o.heads):
		return fmt.Sprintf("heads: %v vs %v", s.heads, o.heads)
	case !slices.Equal(s.forks, o.forks):
		return fmt.Sprintf("forks: %v vs %v", s.forks, o.forks)
	case fmt.Sprint(s.forksOf) != fmt.Sprint(o.forksOf):
		return fmt.Sprintf("forks of: %v vs %v", s.forksOf, o.forksOf)
	case !slices.Equal(s.orphans, o.orphans):
		return fmt.Sprintf("orphans: %d vs %d", len(s.orphans), len(o.orphans))
	case !slices.Equal(s.missing, o.missing):
		return fmt.Sprintf("missing: %v vs %v", s.missing, o.missing)
	}
	return ""
}

// replay ingests set in a drawn order with drawn duplicates, drawn clock steps (so
// some messages are deferred and released by Tick), and drawn admission: some
// authors start unadmitted and are admitted (and promoted) at drawn moments. In the
// end everyone is admitted and the clock is far ahead.
func replay(t *rapid.T, set []*msg.Envelope, accts []msg.Account, label string, seen map[string]int) *DAG {
	feed := slices.Clone(set)
	for _, e := range set {
		if chance(t, 5, label+" dup") {
			feed = append(feed, e)
		}
	}
	feed = rapid.Permutation(feed).Draw(t, label+" order")
	adm := admitSet{}
	for _, a := range accts {
		adm[a] = !chance(t, 4, label+" unadmitted")
	}
	d := New(Config{})
	nowMs := int64(-4000)
	check := func(rs ...Result) {
		for _, r := range rs {
			seen[r.Status.String()]++
			if r.Status == 0 || len(r.Evicted) != 0 {
				t.Fatalf("%s: result %+v", label, r)
			}
			for i, n := range r.Added {
				// ancestors come before descendants within one result
				for _, m := range r.Added[i+1:] {
					if n.Env.Body.Prev != nil && *n.Env.Body.Prev == m.ID() || slices.Contains(n.Env.Body.Parents, m.ID()) {
						t.Fatalf("%s: added out of order", label)
					}
				}
			}
		}
	}
	for _, e := range feed {
		nowMs += int64(rapid.IntRange(0, 8).Draw(t, label+" clock"))
		check(d.Ingest(e, nowMs, adm))
		switch rapid.IntRange(0, 1<<20).Draw(t, label+" event") % 10 {
		case 0:
			check(d.Tick(nowMs, adm)...)
		case 1:
			a := pick(t, accts, label+" admit")
			adm[a] = true
			check(d.Promote(a)...)
		}
	}
	check(d.Tick(1<<40, adm)...)
	for _, a := range accts {
		adm[a] = true
		check(d.Promote(a)...)
	}
	if s := d.Stats(); s.Deferred != 0 || s.Unadmitted != 0 {
		t.Fatalf("%s: buffers not drained: %+v", label, s)
	}
	return d
}

func TestDeterministicGivenTheSet(t *testing.T) {
	w := newWorld(t, 5)
	seen := map[string]int{}
	rapid.Check(t, func(t *rapid.T) {
		set := genLog(t, w)
		want := model(set, w.accts)
		seen["messages"] += len(set)
		seen["forked logs"] += min(len(want.forks), 1)
		seen["final orphans"] += len(want.orphans)
		for _, r := range want.reasons {
			seen[r.Error()]++
		}
		for _, label := range []string{"first", "second"} {
			d := replay(t, set, w.accts, label, seen)
			if diff := snap(d, set, w.accts).diff(want); diff != "" {
				t.Fatalf("%s replay differs from the model: %s", label, diff)
			}
			// OnChain agrees with a walk over valid prev links.
			byID := map[msg.ID]*msg.Envelope{}
			for _, e := range set {
				byID[e.ID] = e
			}
			for _, a := range w.accts {
				for _, h := range d.Heads(a) {
					for _, x := range set {
						want := false
						for c := h.Env; c != nil; {
							if c.ID == x.ID {
								want = true
								break
							}
							if c.Body.Prev == nil {
								break
							}
							p := byID[*c.Body.Prev]
							if p.Body.Author != c.Body.Author || p.Body.Seq != c.Body.Seq-1 {
								break
							}
							c = p
						}
						if got := d.OnChain(h.ID(), x.ID); got != want {
							t.Fatalf("OnChain(%s, %s) = %v, want %v", h.ID().Short(), x.ID.Short(), got, want)
						}
					}
				}
			}
		}
	})
	// The generator must keep producing every case the property is about.
	t.Logf("coverage: %v", seen)
	for _, k := range []string{"accepted", "duplicate", "orphan", "deferred", "rejected", "ignored", "forked logs", "final orphans",
		ErrPrevMismatch.Error(), ErrParentSameAuthor.Error(), ErrLamport.Error(), ErrTimestamp.Error()} {
		if seen[k] == 0 {
			t.Errorf("no %q in any generated case", k)
		}
	}
}
