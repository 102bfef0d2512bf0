package state

import (
	"errors"
	"testing"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
)

// TestAdmission: named in genesis, or holding REP, or free, frozen or escrowed credits.
func TestAdmission(t *testing.T) {
	w := newWorld()
	s := w.genesis(t, []alloc{{name: "A", rep: 1_000_000}, {name: "C", credits: 10_000_000}}, []string{"G"}, nil, params.Defaults())
	outsider, depositee := w.acct("X"), w.acct("D")
	if !s.Admitted(w.acct("A")) || !s.Admitted(w.acct("G")) || !s.Admitted(w.acct("W")) || s.Admitted(outsider) || s.Admitted(depositee) {
		t.Fatal("genesis admission wrong")
	}
	post := w.seal(t, "A", &msg.Post{Title: "p", Text: "x", Authors: []msg.AuthorShare{{Account: w.acct("A"), PPM: msg.PPM}}})
	dep := w.seal(t, "G", &msg.Deposit{Account: depositee, Amount: 20_000, Ref: []byte("1")})
	s1, err := Apply(s, 0, []*msg.Envelope{post, dep}, Inputs{Seed: seedOf(0)})
	if err != nil {
		t.Fatal(err)
	}
	if !s1.Admitted(depositee) {
		t.Fatal("an account holding deposited credits is not admitted")
	}
	// D escrows all its credits in a pool fee: still admitted while the pool is open.
	w.epoch = 1
	open := w.seal(t, "D", &msg.PoolOpen{Post: post.ID, Fee: 20_000, Duration: 2})
	s2, err := Apply(s1, 1, []*msg.Envelope{open}, Inputs{Seed: seedOf(1), Live: true})
	if err != nil {
		t.Fatal(err)
	}
	if free, _ := s2.Credits(depositee); free != 0 {
		t.Fatalf("free credits %d, want 0 (all escrowed)", free)
	}
	if !s2.Admitted(depositee) {
		t.Fatal("an account whose credits are all in escrow is not admitted")
	}
	if s2.Admitted(outsider) {
		t.Fatal("outsider admitted")
	}
}

// TestApplyOrderAndPurity: epochs must come in order, epoch 0 is never live, and Apply
// leaves its input untouched.
func TestApplyOrderAndPurity(t *testing.T) {
	w := newWorld()
	s := w.genesis(t, []alloc{{name: "A", rep: 5_000_000, credits: 5_000_000}}, nil, nil, params.Defaults())
	if _, err := Apply(s, 1, nil, Inputs{}); err == nil {
		t.Fatal("epoch 1 applied to the genesis state")
	}
	if _, err := Apply(s, 0, nil, Inputs{Live: true}); err == nil {
		t.Fatal("live epoch 0 accepted")
	}
	root := s.Root()
	p := w.seal(t, "A", &msg.Post{Title: "p", Text: "x", Authors: []msg.AuthorShare{{Account: w.acct("A"), PPM: msg.PPM}}})
	s1, err := Apply(s, 0, []*msg.Envelope{p}, Inputs{Seed: seedOf(0)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Root() != root || s.Forum().Len() != 0 {
		t.Fatal("Apply modified its input")
	}
	if s1.Forum().Len() != 1 || s1.Root() == root {
		t.Fatal("the post took no effect")
	}
	if _, err := Apply(s1, 0, nil, Inputs{}); err == nil {
		t.Fatal("epoch 0 applied twice")
	}
}

// TestCheckReasons: Check gives typed reasons callers can branch on, and never
// changes the state.
func TestCheckReasons(t *testing.T) {
	w := newWorld()
	s := w.genesis(t, []alloc{{name: "A", rep: 5_000_000, credits: 5_000_000}, {name: "B"}}, []string{"G"}, nil, params.Defaults())
	a := w.acct("A")
	p := w.seal(t, "A", &msg.Post{Title: "p", Text: "x", Authors: []msg.AuthorShare{{Account: a, PPM: msg.PPM}}})
	s, err := Apply(s, 0, []*msg.Envelope{p}, Inputs{Seed: seedOf(0)})
	if err != nil {
		t.Fatal(err)
	}
	root := s.Root()
	cases := []struct {
		name    string
		author  string
		payload msg.Payload
		want    error
		partial bool
	}{
		{"fee above free credits", "A", &msg.PoolOpen{Post: p.ID, Fee: 6_000_000, Duration: 1}, credits.ErrInsufficient, false},
		{"pool opens", "A", &msg.PoolOpen{Post: p.ID, Fee: 1_000_000, Duration: 1}, nil, false},
		{"no such pool", "A", &msg.Vote{Pool: p.ID, Side: 1, Stake: 1}, pool.ErrNoPool, false},
		{"unknown target", "A", &msg.Post{Title: "q", Text: "x", Authors: []msg.AuthorShare{{Account: a, PPM: msg.PPM}},
			Citations: []msg.Citation{{Target: msg.ID{1}, Weight: 5}}}, forum.ErrUnknownTarget, false},
		{"diff out of bounds", "A", &msg.Post{Title: "q", Text: "x", Authors: []msg.AuthorShare{{Account: a, PPM: msg.PPM}},
			Params: map[uint64]uint64{uint64(params.DepthMax): 9}}, params.ErrOutOfBounds, true},
		{"diff id too large for any parameter", "A", &msg.Post{Title: "q", Text: "x", Authors: []msg.AuthorShare{{Account: a, PPM: msg.PPM}},
			Params: map[uint64]uint64{1<<16 + uint64(params.DepthMax): 2}}, params.ErrUnknown, true},
		{"deposit by a non-gateway", "B", &msg.Deposit{Account: a, Amount: 1, Ref: []byte("r")}, credits.ErrNotGateway, false},
		{"deposit", "G", &msg.Deposit{Account: a, Amount: 1, Ref: []byte("r")}, nil, false},
		{"work kinds", "A", &msg.Request{Runtime: "wasm-wasi-v1"}, ErrNotImplemented, false},
	}
	for _, c := range cases {
		err := s.Check(w.acct(c.author), c.payload)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var ne *NoEffectError
		if !errors.Is(err, c.want) || !errors.As(err, &ne) || ne.Partial != c.partial {
			t.Errorf("%s: got %v, want %v (partial %v)", c.name, err, c.want, c.partial)
		}
	}
	if s.Root() != root {
		t.Fatal("Check modified the state")
	}
}

// TestComponentRows: the inspection view decodes what the root hashes; availability and
// requests are empty arrays, never null.
func TestComponentRows(t *testing.T) {
	w := newWorld()
	s := w.genesis(t, []alloc{{name: "A", rep: 5_000_000, credits: 7}}, []string{"G"}, nil, params.Defaults())
	if got := s.ComponentBytes("availability"); len(got) != 1 || got[0] != 0x80 {
		t.Fatalf("availability = %x, want 80", got)
	}
	rows := s.ComponentRows("params")
	if len(rows) != params.Count {
		t.Fatalf("%d params rows, want %d", len(rows), params.Count)
	}
	cr := s.ComponentRows("credits")
	if len(cr) != 1 || cr[0].([]any)[2] != uint64(7) {
		t.Fatalf("credits rows %v", cr)
	}
	if s.ComponentRows("nope") != nil {
		t.Fatal("unknown component has rows")
	}
}
