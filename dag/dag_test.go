package dag

import (
	"errors"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

const now = int64(1_000_000)

func TestIngestStatuses(t *testing.T) {
	w := newWorld(t, 3)
	a1 := w.seal(spec{author: 0})
	a2 := w.seal(spec{author: 0, prev: a1})
	ghost := w.seal(spec{author: 1})
	resigned := *a1
	resigned.Sig[0] ^= 0xff // same body, other signature bytes: same id

	tests := []struct {
		name    string
		pre     []*msg.Envelope
		e       *msg.Envelope
		adm     Admitter
		want    Status
		missing []msg.ID
		held    bool
	}{
		{"accepted first message", nil, a1, nil, Accepted, nil, true},
		{"accepted on prev", []*msg.Envelope{a1}, a2, nil, Accepted, nil, true},
		{"duplicate", []*msg.Envelope{a1}, a1, nil, Duplicate, nil, true},
		{"re-signed body is a duplicate", []*msg.Envelope{a1}, &resigned, nil, Duplicate, nil, true},
		{"orphan without prev", nil, a2, nil, Orphan, []msg.ID{a1.ID}, false},
		{"orphan without parent", nil, w.seal(spec{author: 2, parents: []*msg.Envelope{ghost}}), nil, Orphan, []msg.ID{ghost.ID}, false},
		{"deferred future", nil, w.seal(spec{author: 1, ts: uint64(now) + 5001}), nil, Deferred, nil, false},
		{"at the skew edge is not future", nil, w.seal(spec{author: 1, ts: uint64(now) + 5000}), nil, Accepted, nil, true},
		{"ignored unadmitted", nil, a1, admitSet{}, Ignored, nil, false},
		{"rejected structurally invalid", []*msg.Envelope{a1}, w.seal(spec{author: 0, prev: a1, lamport: 3}), nil, Rejected, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Config{})
			for _, e := range tc.pre {
				if r := d.Ingest(e, now, nil); r.Status != Accepted {
					t.Fatalf("pre-ingest %s: %v", e.ID.Short(), r.Status)
				}
			}
			r := d.Ingest(tc.e, now, tc.adm)
			if r.Status != tc.want {
				t.Fatalf("status %v, want %v (reason %v)", r.Status, tc.want, r.Reason)
			}
			if r.ID != tc.e.ID {
				t.Fatalf("result id %s, want %s", r.ID.Short(), tc.e.ID.Short())
			}
			if !slices.Equal(r.Missing, tc.missing) {
				t.Fatalf("missing %v, want %v", r.Missing, tc.missing)
			}
			if got := d.Held(tc.e.ID); got != tc.held {
				t.Fatalf("held %v, want %v", got, tc.held)
			}
			if !d.Has(tc.e.ID) {
				t.Fatal("message not stored")
			}
			inDag := tc.want == Accepted || tc.want == Rejected || tc.want == Duplicate
			if _, ok := d.Get(tc.e.ID); ok != inDag {
				t.Fatalf("in dag %v, want %v", ok, inDag)
			}
			if (r.Node != nil) != inDag {
				t.Fatalf("result node %v, want in dag %v", r.Node, inDag)
			}
			if tc.want == Accepted || tc.want == Rejected {
				if len(r.Added) != 1 || r.Added[0] != r.Node {
					t.Fatalf("added %v, want the node itself", ids(r.Added))
				}
			} else if len(r.Added) != 0 {
				t.Fatalf("added %v, want none", ids(r.Added))
			}
		})
	}
}

func TestStructuralRejections(t *testing.T) {
	w := newWorld(t, 3)
	a1 := w.seal(spec{author: 0})
	a1fork := w.seal(spec{author: 0, ts: 1005})
	a2 := w.seal(spec{author: 0, prev: a1, ts: 2000})
	b1 := w.seal(spec{author: 1, ts: 3000})
	b2 := w.seal(spec{author: 1, prev: b1, parents: []*msg.Envelope{a2}}) // lamport 3
	base := []*msg.Envelope{a1, a1fork, a2, b1, b2}

	tests := []struct {
		name string
		e    *msg.Envelope
		want error // nil: valid and held
	}{
		{"valid with prev and parents", w.seal(spec{author: 2, parents: []*msg.Envelope{a2, b2}}), nil},
		{"ts equal to prev's is fine", w.seal(spec{author: 0, prev: a2, ts: 2000}), nil},
		{"ts equal to a parent's is fine", w.seal(spec{author: 2, parents: []*msg.Envelope{b1}, ts: 3000}), nil},
		{"prev by another author", w.seal(spec{author: 0, prev: b1, seq: 2}), ErrPrevMismatch},
		{"prev with seq two below", w.seal(spec{author: 0, prev: a1, seq: 3, lamport: 3}), ErrPrevMismatch},
		{"prev with the same seq", w.seal(spec{author: 0, prev: a2, seq: 2}), ErrPrevMismatch},
		{"parent by the same author", w.seal(spec{author: 0, prev: a2, parents: []*msg.Envelope{a1fork}}), ErrParentSameAuthor},
		{"parent by the same author without prev", w.seal(spec{author: 1, seq: 1, parents: []*msg.Envelope{b2}}), ErrParentSameAuthor},
		{"lamport one too high", w.seal(spec{author: 0, prev: a2, lamport: 4}), ErrLamport},
		{"lamport equal to prev's", w.seal(spec{author: 1, prev: b2, lamport: 3}), ErrLamport},
		{"lamport from prev ignoring a higher parent", w.seal(spec{author: 0, prev: a2, parents: []*msg.Envelope{b2}, lamport: 3}), ErrLamport},
		{"ts before prev's", w.seal(spec{author: 0, prev: a2, ts: 1999}), ErrTimestamp},
		{"ts before a parent's", w.seal(spec{author: 0, prev: a2, parents: []*msg.Envelope{b1}, ts: 2500}), ErrTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(Config{})
			for _, e := range base {
				if r := d.Ingest(e, now, nil); r.Status != Accepted {
					t.Fatalf("base %s: %v %v", e.ID.Short(), r.Status, r.Reason)
				}
			}
			r := d.Ingest(tc.e, now, nil)
			if tc.want == nil {
				if r.Status != Accepted || r.Reason != nil || !r.Node.Held || r.Node.Invalid != nil {
					t.Fatalf("got %v %v held=%v, want accepted and held", r.Status, r.Reason, r.Node.Held)
				}
				return
			}
			if r.Status != Rejected || !errors.Is(r.Reason, tc.want) {
				t.Fatalf("got %v %v, want rejected with %v", r.Status, r.Reason, tc.want)
			}
			var se *StructuralError
			if !errors.As(r.Reason, &se) || se.Detail == "" {
				t.Fatalf("reason %#v is not a detailed *StructuralError", r.Reason)
			}
			if r.Node == nil || r.Node.Held || r.Node.Invalid != r.Reason {
				t.Fatalf("node %+v: want stored, not held, with the reason", r.Node)
			}
			// A valid child of the invalid message enters but is never held, and
			// neither is a grandchild through a parent link.
			child := w.seal(spec{author: w.index(tc.e.Body.Author), prev: tc.e})
			rc := d.Ingest(child, now, nil)
			if rc.Status != Accepted || rc.Node.Held || rc.Node.Invalid != nil {
				t.Fatalf("child: %v held=%v invalid=%v, want accepted, valid, not held", rc.Status, rc.Node.Held, rc.Node.Invalid)
			}
			gc := w.seal(spec{author: 2, parents: []*msg.Envelope{child}})
			if rg := d.Ingest(gc, now, nil); rg.Status != Accepted || rg.Node.Held {
				t.Fatalf("grandchild: %v held=%v, want accepted, not held", rg.Status, rg.Node.Held)
			}
			if hs := d.Heads(tc.e.Body.Author); slices.ContainsFunc(hs, func(n *Node) bool { return !n.Held }) {
				t.Fatal("a head is not held")
			}
			if f := d.Forks(); len(f) != 1 || f[0].Author != w.accts[0] || f[0].Seq != 1 {
				t.Fatalf("forks %+v: want only the base fork of author 0 at seq 1", f)
			}
		})
	}
}
