package state

import (
	"bytes"
	"crypto/ed25519"
	"slices"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/zeebo/blake3"
)

// fataler is what the helpers need from *testing.T, *testing.B and *rapid.T alike.
type fataler interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// world builds genesis states and real sealed envelopes with fixed-seed keys, for the
// scenario, property and benchmark tests. Every message goes through msg.Seal, so it is
// exactly what a node would decode from the wire.
type world struct {
	gen   *genesis.Genesis
	net   msg.ID
	keys  map[string]ed25519.PrivateKey
	accts map[msg.Account]string
	seq   map[msg.Account]uint64
	prev  map[msg.Account]msg.ID
	epoch uint64 // the epoch whose batch is being built (timestamps only)
}

func newWorld() *world {
	return &world{keys: map[string]ed25519.PrivateKey{}, accts: map[msg.Account]string{},
		seq: map[msg.Account]uint64{}, prev: map[msg.Account]msg.ID{}}
}

func (w *world) key(name string) ed25519.PrivateKey {
	if k, ok := w.keys[name]; ok {
		return k
	}
	seed := blake3.Sum256([]byte("guild/test/state/" + name))
	k := ed25519.NewKeyFromSeed(seed[:])
	w.keys[name] = k
	w.accts[msg.AccountOf(k)] = name
	return k
}

func (w *world) acct(name string) msg.Account { return msg.AccountOf(w.key(name)) }

type alloc struct {
	name         string
	rep, credits uint64
}

// genesis builds the network: allocations, gateways, witnesses (at least one is
// required; "W" by default) and parameter overrides.
func (w *world) genesis(t fataler, allocs []alloc, gateways, witnesses []string, ps params.Set) *State {
	t.Helper()
	g := &genesis.Genesis{Name: "state-test", GenesisTsMs: 1_700_000_000_000, Params: ps}
	for _, a := range allocs {
		g.Allocations = append(g.Allocations, genesis.Allocation{Account: w.acct(a.name), RepMicro: a.rep, CreditsMicro: a.credits})
	}
	slices.SortFunc(g.Allocations, func(x, y genesis.Allocation) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	if len(witnesses) == 0 {
		witnesses = []string{"W"}
	}
	list := func(names []string) []msg.Account {
		out := make([]msg.Account, len(names))
		for i, n := range names {
			out[i] = w.acct(n)
		}
		sortAccounts(out)
		return out
	}
	g.Witnesses, g.Gateways = list(witnesses), list(gateways)
	w.gen, w.net = g, g.NetworkID()
	s, err := Genesis(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seal signs the author's next message on its chain.
func (w *world) seal(t fataler, author string, p msg.Payload) *msg.Envelope {
	t.Helper()
	k := w.key(author)
	a := msg.AccountOf(k)
	seq := w.seq[a] + 1
	b := msg.Body{Network: w.net, Seq: seq, Lamport: seq,
		TsMs: w.gen.GenesisTsMs + w.epoch*w.gen.EpochMs() + seq%1000}
	if seq > 1 {
		prev := w.prev[a]
		b.Prev = &prev
	}
	e, err := msg.Seal(k, b, p)
	if err != nil {
		t.Fatal(err)
	}
	w.seq[a], w.prev[a] = seq, e.ID
	return e
}

func (w *world) name(a msg.Account) string {
	if n, ok := w.accts[a]; ok {
		return n
	}
	return a.String()
}

// seedOf gives a deterministic seed for epoch k (the real one is the epoch rule's).
func seedOf(k uint64) msg.ID {
	var b [8]byte
	for i := range b {
		b[i] = byte(k >> (8 * (7 - i)))
	}
	return msg.TaggedHash("guild/test/seed\x00", b[:])
}
