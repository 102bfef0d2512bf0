package ledger

import (
	"crypto/ed25519"
	"testing"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
)

// TestCheckpointPromotesUnadmitted: a message of an author who is not admitted waits
// in the dag's unadmitted buffer; once a checkpoint lists it, it is promoted and must
// reach the epoch engine, so that cuts can contain it (SPEC §3: a listed message is
// promoted whatever its author's standing).
func TestCheckpointPromotesUnadmitted(t *testing.T) {
	key := func(b byte) ed25519.PrivateKey {
		var seed [32]byte
		seed[0], seed[1] = b, 0x77
		return ed25519.NewKeyFromSeed(seed[:])
	}
	w, u := key(1), key(2)
	f := &genesis.File{Name: "promote", GenesisTsMs: 1_700_000_000_000, EpochMs: 2000, GraceMs: 400,
		Params:      map[string]uint64{"sigma_max_ms": 200, "witnesses_n": 1, "witnesses_min": 1},
		Allocations: []genesis.FileAllocation{{Account: msg.AccountOf(w).String(), RepMicro: 1_000_000_000, CreditsMicro: 1}},
		Witnesses:   []string{msg.AccountOf(w).String()},
	}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	net := g.NetworkID()
	ts := g.GenesisTsMs + 100
	post, err := msg.Seal(u, msg.Body{Network: net, Seq: 1, Lamport: 1, TsMs: ts},
		&msg.Post{Title: "hello", Text: "from outside", Authors: []msg.AuthorShare{{Account: msg.AccountOf(u), PPM: msg.PPM}}})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := msg.Seal(w, msg.Body{Network: net, Seq: 1, Lamport: 1, TsMs: g.GenesisTsMs + 2000 + 400 + 10},
		&msg.Checkpoint{Epoch: 0, Heads: []msg.Head{{Author: msg.AccountOf(u), Seq: 1, ID: post.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := int64(g.GenesisTsMs) + 10_000
	if _, err := l.Ingest(post, now); err != nil {
		t.Fatal(err)
	}
	if l.DAG().Held(post.ID) {
		t.Fatal("the unadmitted author's post is held before any checkpoint lists it")
	}
	if _, err := l.Ingest(cp, now); err != nil {
		t.Fatal(err)
	}
	if !l.DAG().Held(post.ID) {
		t.Fatal("the listed post was not promoted into the dag")
	}
	if !l.Engine().Has(post.ID) {
		t.Fatal("the promoted post never reached the epoch engine")
	}
	if err := l.Advance(1); err != nil {
		t.Fatal(err)
	}
	r, _ := l.Epoch(0)
	if !r.Cut.Contains(post.ID) {
		t.Fatal("the promoted post is not in C_0")
	}
}
