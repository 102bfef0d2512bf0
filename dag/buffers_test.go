package dag

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

func TestOrphanReleaseChain(t *testing.T) {
	w := newWorld(t, 2)
	chain := w.chain(0, 50, nil)
	d := New(Config{})
	for i := len(chain) - 1; i >= 1; i-- {
		r := d.Ingest(chain[i], now, nil)
		if r.Status != Orphan {
			t.Fatalf("seq %d: %v, want orphan", i+1, r.Status)
		}
		// Only the prev is missing; the messages above are stored already.
		if want := []msg.ID{chain[i-1].ID}; !slices.Equal(r.Missing, want) {
			t.Fatalf("seq %d: missing %v, want %v", i+1, r.Missing, want)
		}
		if got := d.MissingIDs(); !slices.Equal(got, []msg.ID{chain[i-1].ID}) {
			t.Fatalf("seq %d: MissingIDs %v", i+1, got)
		}
	}
	if s := d.Stats(); s.Orphans != 49 || s.Nodes != 0 {
		t.Fatalf("stats %+v, want 49 orphans and an empty dag", s)
	}
	r := d.Ingest(chain[0], now, nil)
	if r.Status != Accepted {
		t.Fatalf("root: %v", r.Status)
	}
	if !slices.Equal(ids(r.Added), envIDs(chain)) {
		t.Fatal("added is not the whole chain in seq order")
	}
	for _, n := range r.Added {
		if !n.Held {
			t.Fatalf("seq %d not held", n.Seq())
		}
	}
	if s := d.Stats(); s.Orphans != 0 || s.OrphanBytes != 0 || s.Waiting != 0 || s.Nodes != 50 || s.Held != 50 {
		t.Fatalf("stats %+v after release", s)
	}
	if h := d.Heads(w.accts[0]); len(h) != 1 || h[0].ID() != chain[49].ID {
		t.Fatalf("heads %v", ids(h))
	}
}

// A message waiting on ancestors of two authors enters only when the last arrives,
// and a shared ancestor releases both of its waiters.
func TestOrphanReleaseAcrossAuthors(t *testing.T) {
	w := newWorld(t, 3)
	a1 := w.seal(spec{author: 0})
	b1 := w.seal(spec{author: 1})
	c1 := w.seal(spec{author: 2, parents: []*msg.Envelope{a1, b1}})
	a2 := w.seal(spec{author: 0, prev: a1, parents: []*msg.Envelope{c1}})
	b2 := w.seal(spec{author: 1, prev: b1, parents: []*msg.Envelope{c1}})
	d := New(Config{})
	for _, step := range []struct {
		e       *msg.Envelope
		status  Status
		missing []msg.ID
		added   []msg.ID
	}{
		{a2, Orphan, []msg.ID{a1.ID, c1.ID}, nil},
		{b2, Orphan, []msg.ID{b1.ID, c1.ID}, nil},
		{c1, Orphan, []msg.ID{a1.ID, b1.ID}, nil},
		{a1, Accepted, nil, []msg.ID{a1.ID}},
		{b1, Accepted, nil, []msg.ID{b1.ID, c1.ID, a2.ID, b2.ID}},
	} {
		r := d.Ingest(step.e, now, nil)
		if r.Status != step.status || !sameIDs(r.Missing, step.missing) || !slices.Equal(ids(r.Added), step.added) {
			t.Fatalf("%s: %v missing %v added %v; want %v %v %v", step.e.ID.Short(), r.Status, r.Missing, ids(r.Added), step.status, step.missing, step.added)
		}
	}
	if s := d.Stats(); s.Held != 5 || s.Orphans != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// sameIDs compares ignoring order (parents come sorted by id, after prev).
func sameIDs(a, b []msg.ID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func TestOrphanEviction(t *testing.T) {
	w := newWorld(t, 4)
	roots := []*msg.Envelope{w.seal(spec{author: 0}), w.seal(spec{author: 1}), w.seal(spec{author: 2}), w.seal(spec{author: 3})}
	kids := make([]*msg.Envelope, 4)
	for i := range kids {
		kids[i] = w.seal(spec{author: i, prev: roots[i]})
	}
	size := len(kids[0].Raw)

	t.Run("count", func(t *testing.T) {
		d := New(Config{MaxOrphans: 3})
		for i := range 3 {
			if r := d.Ingest(kids[i], now, nil); r.Status != Orphan || len(r.Evicted) != 0 {
				t.Fatalf("kid %d: %v evicted %v", i, r.Status, r.Evicted)
			}
		}
		r := d.Ingest(kids[3], now, nil)
		if r.Status != Orphan || !slices.Equal(r.Evicted, []msg.ID{kids[0].ID}) {
			t.Fatalf("4th orphan: %v evicted %v, want the oldest evicted", r.Status, r.Evicted)
		}
		if d.Has(kids[0].ID) || !slices.Equal(envIDs(d.Orphans()), envIDs(kids[1:])) {
			t.Fatal("evicted orphan still stored, or wrong orphans kept")
		}
		// The evicted orphan's ancestor arrives: nothing is released, no waiting entry leaks.
		if r := d.Ingest(roots[0], now, nil); len(r.Added) != 1 {
			t.Fatalf("added %v, want only the root", ids(r.Added))
		}
		if s := d.Stats(); s.Orphans != 3 || s.Waiting != 3 || s.OrphanBytes != 3*size {
			t.Fatalf("stats %+v", s)
		}
		// A released orphan frees its place: the next one evicts nothing.
		if r := d.Ingest(roots[1], now, nil); len(r.Added) != 2 {
			t.Fatalf("added %v, want root and kid", ids(r.Added))
		}
		if r := d.Ingest(kids[0], now, nil); r.Status != Accepted || len(r.Evicted) != 0 {
			t.Fatalf("re-sent kid: %v evicted %v", r.Status, r.Evicted)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		d := New(Config{MaxOrphanBytes: 2*size + size/2})
		d.Ingest(kids[0], now, nil)
		d.Ingest(kids[1], now, nil)
		r := d.Ingest(kids[2], now, nil)
		if !slices.Equal(r.Evicted, []msg.ID{kids[0].ID}) {
			t.Fatalf("evicted %v, want the oldest", r.Evicted)
		}
		if s := d.Stats(); s.Orphans != 2 || s.OrphanBytes != 2*size {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("queue stays small under eviction", func(t *testing.T) {
		d := New(Config{MaxOrphans: 4})
		for i := range 3000 {
			d.Ingest(w.seal(spec{author: i % 4, missing: []msg.ID{{byte(i), byte(i >> 8)}}, lamport: 2}), now, nil)
		}
		if s := d.Stats(); s.Orphans != 4 || s.Waiting != 4 {
			t.Fatalf("stats %+v", s)
		}
		if n := len(d.orphanQ.q); n > 2*(2*4+64) {
			t.Fatalf("orphan queue slice holds %d entries for 4 orphans", n)
		}
	})
	t.Run("queue stays small", func(t *testing.T) {
		// Many orphans released while an old one stays: dead queue entries are dropped.
		d := New(Config{MaxOrphans: 8})
		d.Ingest(kids[3], now, nil) // waits forever
		c := w.chain(0, 2001, nil)
		for i := 1; i < len(c); i += 2 {
			d.Ingest(c[i], now, nil)
			d.Ingest(c[i-1], now, nil)
		}
		if s := d.Stats(); s.Orphans != 1 || s.Held != 2000 {
			t.Fatalf("stats %+v", s)
		}
		if n := len(d.orphanQ.q) - d.orphanQ.head; n > 2*1+64 {
			t.Fatalf("orphan queue holds %d entries for 1 orphan", n)
		}
	})
}

func TestUnadmittedAndPromote(t *testing.T) {
	w := newWorld(t, 3)
	a, b := w.accts[0], w.accts[1]
	ac := w.chain(0, 3, nil)
	b1 := w.seal(spec{author: 1, parents: []*msg.Envelope{ac[2]}})
	adm := admitSet{b: true}
	d := New(Config{})

	for i := len(ac) - 1; i >= 0; i-- {
		if r := d.Ingest(ac[i], now, adm); r.Status != Ignored {
			t.Fatalf("a%d: %v, want ignored", i+1, r.Status)
		}
	}
	// b1 waits on a stored (unadmitted) message: an orphan with nothing to fetch.
	if r := d.Ingest(b1, now, adm); r.Status != Orphan || len(r.Missing) != 0 {
		t.Fatalf("b1: %v missing %v, want orphan with nothing missing", r.Status, r.Missing)
	}
	if r := d.Ingest(ac[0], now, adm); r.Status != Duplicate {
		t.Fatalf("re-sent unadmitted: %v, want duplicate", r.Status)
	}
	if got := d.UnadmittedAuthors(); !slices.Equal(got, []msg.Account{a}) {
		t.Fatalf("unadmitted authors %v", got)
	}
	if got := envIDs(d.Unadmitted(a)); !slices.Equal(got, []msg.ID{ac[2].ID, ac[1].ID, ac[0].ID}) {
		t.Fatal("unadmitted not in arrival order")
	}
	if s := d.Stats(); s.Unadmitted != 3 || s.Nodes != 0 {
		t.Fatalf("stats %+v", s)
	}

	rs := d.Promote(a)
	if len(rs) != 3 {
		t.Fatalf("%d results", len(rs))
	}
	for i, r := range rs {
		if r.Status != Accepted || r.ID != ac[i].ID {
			t.Fatalf("promoted %d: %s %v, want a%d accepted", i, r.ID.Short(), r.Status, i+1)
		}
	}
	if !slices.Equal(ids(rs[2].Added), []msg.ID{ac[2].ID, b1.ID}) {
		t.Fatalf("a3 added %v, want a3 then the released b1", ids(rs[2].Added))
	}
	if !d.Held(b1.ID) || d.Promote(a) != nil {
		t.Fatal("b1 not held, or a second promote did something")
	}
	if s := d.Stats(); s.Unadmitted != 0 || s.UnadmBytes != 0 || s.Held != 4 {
		t.Fatalf("stats %+v", s)
	}

	// Re-ingesting a stored unadmitted message once its author is admitted promotes it.
	a4 := w.seal(spec{author: 0, prev: ac[2]})
	if r := d.Ingest(a4, now, adm); r.Status != Ignored {
		t.Fatalf("a4: %v", r.Status)
	}
	adm[a] = true
	if r := d.Ingest(a4, now, adm); r.Status != Accepted || !r.Node.Held {
		t.Fatalf("a4 once admitted: %v", r.Status)
	}
	if len(d.UnadmittedAuthors()) != 0 {
		t.Fatal("a4 still in the unadmitted buffer")
	}
}

func TestUnadmittedBounds(t *testing.T) {
	w := newWorld(t, 3)
	chain := w.chain(0, 66, nil)
	t.Run("per author", func(t *testing.T) {
		d := New(Config{})
		for i, e := range chain[:64] {
			if r := d.Ingest(e, now, admitSet{}); r.Status != Ignored || len(r.Evicted) != 0 {
				t.Fatalf("%d: %v evicted %v", i, r.Status, r.Evicted)
			}
		}
		r := d.Ingest(chain[64], now, admitSet{})
		if !slices.Equal(r.Evicted, []msg.ID{chain[0].ID}) {
			t.Fatalf("65th: evicted %v, want the author's oldest", r.Evicted)
		}
		if got := d.Unadmitted(w.accts[0]); len(got) != 64 || got[0].ID != chain[1].ID {
			t.Fatalf("kept %d, first %s", len(got), got[0].ID.Short())
		}
		// Another author's message is not affected by author 0's bound.
		if r := d.Ingest(w.seal(spec{author: 1}), now, admitSet{}); len(r.Evicted) != 0 {
			t.Fatalf("evicted %v", r.Evicted)
		}
		// Promoting leaves seq 2…65 waiting for the evicted seq 1.
		rs := d.Promote(w.accts[0])
		if len(rs) != 64 || rs[0].Status != Orphan || !slices.Equal(rs[0].Missing, []msg.ID{chain[0].ID}) {
			t.Fatalf("promote: %d results, first %v missing %v", len(rs), rs[0].Status, rs[0].Missing)
		}
		if r := d.Ingest(chain[0], now, admitSet{w.accts[0]: true}); len(r.Added) != 65 {
			t.Fatalf("seq 1 released %d, want 65", len(r.Added))
		}
	})
	t.Run("total bytes, oldest of any author first", func(t *testing.T) {
		limit := len(chain[1].Raw) + len(chain[2].Raw) + len(chain[3].Raw)
		d := New(Config{MaxUnadmittedBytes: limit})
		other := w.seal(spec{author: 1})
		d.Ingest(chain[0], now, admitSet{})
		d.Ingest(other, now, admitSet{})
		d.Ingest(chain[1], now, admitSet{})
		r := d.Ingest(chain[2], now, admitSet{})
		if !slices.Equal(r.Evicted, []msg.ID{chain[0].ID}) {
			t.Fatalf("evicted %v, want chain[0]", r.Evicted)
		}
		r = d.Ingest(chain[3], now, admitSet{})
		if !slices.Equal(r.Evicted, []msg.ID{other.ID}) {
			t.Fatalf("evicted %v, want the other author's message", r.Evicted)
		}
		if s := d.Stats(); s.Unadmitted != 3 || s.UnadmBytes != limit || len(d.UnadmittedAuthors()) != 1 {
			t.Fatalf("stats %+v authors %v", s, d.UnadmittedAuthors())
		}
	})
}

func TestTickDeferred(t *testing.T) {
	w := newWorld(t, 3)
	a1 := w.seal(spec{author: 0, ts: uint64(now) + 6000})
	a2 := w.seal(spec{author: 0, prev: a1, ts: uint64(now) + 7000})
	b1 := w.seal(spec{author: 1, ts: uint64(now) + 6500})
	d := New(Config{})
	adm := admitSet{w.accts[0]: true}
	for _, e := range []*msg.Envelope{a2, b1, a1} {
		if r := d.Ingest(e, now, adm); r.Status != Deferred || d.Held(e.ID) || !d.Has(e.ID) {
			t.Fatalf("%s: %v, want deferred and stored", e.ID.Short(), r.Status)
		}
	}
	if r := d.Ingest(a1, now, adm); r.Status != Duplicate {
		t.Fatalf("re-sent deferred: %v", r.Status)
	}
	if got := envIDs(d.Deferred()); !slices.Equal(got, []msg.ID{a1.ID, b1.ID, a2.ID}) {
		t.Fatal("deferred not in ts order")
	}
	if due, ok := d.NextDue(); !ok || due != now+1000 {
		t.Fatalf("next due %d %v, want %d", due, ok, now+1000)
	}
	if rs := d.Tick(now+999, adm); rs != nil {
		t.Fatalf("tick before due released %d", len(rs))
	}
	rs := d.Tick(now+1500, adm)
	if len(rs) != 2 || rs[0].ID != a1.ID || rs[0].Status != Accepted || rs[1].ID != b1.ID || rs[1].Status != Ignored {
		t.Fatalf("tick at +1500: %+v", rs)
	}
	rs = d.Tick(now+2000, adm)
	if len(rs) != 1 || rs[0].ID != a2.ID || rs[0].Status != Accepted || !rs[0].Node.Held {
		t.Fatalf("tick at +2000: %+v", rs)
	}
	if _, ok := d.NextDue(); ok {
		t.Fatal("still something due")
	}
	if s := d.Stats(); s.Deferred != 0 || s.DeferredBytes != 0 || s.Unadmitted != 1 {
		t.Fatalf("stats %+v", s)
	}

	t.Run("released into the orphan buffer", func(t *testing.T) {
		d := New(Config{})
		d.Ingest(a2, now, nil)
		rs := d.Tick(now+2000, nil)
		if len(rs) != 1 || rs[0].Status != Orphan || !slices.Equal(rs[0].Missing, []msg.ID{a1.ID}) {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("bound drops the furthest future", func(t *testing.T) {
		d := New(Config{MaxDeferred: 2})
		d.Ingest(a2, now, nil)
		d.Ingest(a1, now, nil)
		r := d.Ingest(b1, now, nil)
		if r.Status != Deferred || !slices.Equal(r.Evicted, []msg.ID{a2.ID}) || d.Has(a2.ID) {
			t.Fatalf("%v evicted %v, want a2 (ts +7000) dropped", r.Status, r.Evicted)
		}
		far := w.seal(spec{author: 2, ts: 1 << 60})
		if r := d.Ingest(far, now, nil); !slices.Equal(r.Evicted, []msg.ID{far.ID}) {
			t.Fatalf("evicted %v, want the far-future message itself", r.Evicted)
		}
	})
}

// While restoring, orphans past the bound wait; turning it off evicts the oldest down
// to the bound, and what stays is released as usual.
func TestRestoringLiftsOrphanBound(t *testing.T) {
	w := newWorld(t, 1)
	chain := w.chain(0, 10, nil)
	d := New(Config{MaxOrphans: 3})
	d.Restoring(true)
	for i := len(chain) - 1; i >= 1; i-- {
		if r := d.Ingest(chain[i], now, nil); r.Status != Orphan || len(r.Evicted) != 0 {
			t.Fatalf("seq %d: %v, evicted %d", i+1, r.Status, len(r.Evicted))
		}
	}
	if s := d.Stats(); s.Orphans != 9 {
		t.Fatalf("%d orphans while restoring, want 9", s.Orphans)
	}
	// The oldest orphans are the highest seqs, ingested first.
	if got, want := d.Restoring(false), envIDs([]*msg.Envelope{chain[9], chain[8], chain[7], chain[6], chain[5], chain[4]}); !slices.Equal(got, want) {
		t.Fatalf("evicted %v, want %v", got, want)
	}
	if s := d.Stats(); s.Orphans != 3 {
		t.Fatalf("%d orphans after restoring, want 3", s.Orphans)
	}
	if r := d.Ingest(chain[0], now, nil); len(r.Added) != 4 {
		t.Fatalf("root released %d messages, want 4", len(r.Added))
	}
}
