package pool

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// TestCloneIsolation: pools are copied on their first write after a Clone, so votes
// and dropped voters in one version never show in another, whichever writes first.
func TestCloneIsolation(t *testing.T) {
	e := newEcon()
	signer, opener := account("signer"), account("opener")
	voters := []msg.Account{account("v1"), account("v2"), account("v3")}
	for _, a := range append([]msg.Account{opener}, voters...) {
		if err := e.rep.Genesis(a, 10_000_000); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.cr.Genesis(opener, 100_000_000); err != nil {
		t.Fatal(err)
	}
	post := postID("post")
	if _, err := e.f.Add(forum.NewPost{ID: post, Signer: signer, Authors: []forum.Author{{Account: signer, PPM: 1_000_000}}}, 1, &e.ps); err != nil {
		t.Fatal(err)
	}
	id := postID("pool")
	req := OpenRequest{ID: id, Opener: opener, Post: post, Fee: e.ps.Get(params.MinFee), Duration: e.ps.Get(params.PoolDurationMin), Kind: Executive}
	if _, err := e.b.Open(req, OpenEnv{Batch: 1, Live: 0, Params: &e.ps, Forum: e.f, Credits: e.cr}); err != nil {
		t.Fatal(err)
	}
	votes := func(b *Book) []msg.Account {
		p, ok := b.Get(id)
		if !ok {
			t.Fatal("pool gone")
		}
		var out []msg.Account
		for _, v := range p.Votes {
			out = append(out, v.Voter)
		}
		return out
	}
	vote := func(b *Book, led *reputation.Ledger, a msg.Account) {
		t.Helper()
		if _, err := b.Vote(id, a, For, 1_000, 2, led); err != nil {
			t.Fatal(err)
		}
	}
	// The source writes after the clone, then the clone, then a clone of the clone.
	v0 := e.b
	vote(v0, e.rep, voters[0])
	v1 := v0.Clone()
	vote(v0, e.rep.Clone(), voters[1])
	vote(v1, e.rep.Clone(), voters[2])
	v2 := v1.Clone()
	v2.DropVoter(voters[0])
	for _, c := range []struct {
		name string
		b    *Book
		want []msg.Account
	}{
		{"source", v0, voters[:2]},
		{"clone", v1, []msg.Account{voters[0], voters[2]}},
		{"clone of clone after drop", v2, []msg.Account{voters[2]}},
	} {
		if got := votes(c.b); !slices.Equal(got, c.want) {
			t.Errorf("%s: votes by %v, want %v", c.name, got, c.want)
		}
	}
	// A voter already in one version may still vote in a version where it is not.
	if _, err := v2.Vote(id, voters[0], Against, 1_000, 2, e.rep.Clone()); err != nil {
		t.Fatalf("vote after drop in v2: %v", err)
	}
	if got := votes(v1); !slices.Equal(got, []msg.Account{voters[0], voters[2]}) {
		t.Errorf("v1 changed by a vote in v2: %v", got)
	}
}
