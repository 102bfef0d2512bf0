package dag

import (
	"bytes"
	"crypto/ed25519"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

var testNet = msg.TaggedHash("guild/test/dag\x00")

// world seals real envelopes for a fixed set of authors whose keys come from fixed seeds.
type world struct {
	tb    fataler
	keys  []ed25519.PrivateKey
	accts []msg.Account
	nonce uint64
}

// fataler is what testing.TB and *rapid.T share.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

func newWorld(tb testing.TB, authors int) *world {
	w := &world{tb: tb}
	for i := range authors {
		var seed [32]byte
		seed[0], seed[1], seed[2] = 0xda, byte(i), byte(i>>8)
		k := ed25519.NewKeyFromSeed(seed[:])
		w.keys = append(w.keys, k)
		w.accts = append(w.accts, msg.AccountOf(k))
	}
	return w
}

// spec describes one message. Zero fields take the structurally valid value.
type spec struct {
	author  int
	prev    *msg.Envelope
	parents []*msg.Envelope
	missing []msg.ID // extra parent ids the world does not know (lamport must be set)
	seq     uint64   // 0: prev's seq + 1, or 1
	lamport uint64   // 0: 1 + max(ancestors)
	ts      uint64   // 0: max(ancestors' ts, 1000) + 1
}

func (w *world) seal(s spec) *msg.Envelope {
	w.tb.Helper()
	var maxLam, maxTs uint64 = 0, 1000
	b := msg.Body{Network: testNet, Seq: s.seq}
	if s.prev != nil {
		id := s.prev.ID
		b.Prev = &id
		maxLam, maxTs = max(maxLam, s.prev.Body.Lamport), max(maxTs, s.prev.Body.TsMs)
		if b.Seq == 0 {
			b.Seq = s.prev.Body.Seq + 1
		}
	} else if b.Seq == 0 {
		b.Seq = 1
	}
	for _, p := range s.parents {
		b.Parents = append(b.Parents, p.ID)
		maxLam, maxTs = max(maxLam, p.Body.Lamport), max(maxTs, p.Body.TsMs)
	}
	b.Parents = append(b.Parents, s.missing...)
	slices.SortFunc(b.Parents, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
	b.Parents = slices.Compact(b.Parents)
	b.Lamport, b.TsMs = s.lamport, s.ts
	if b.Lamport == 0 {
		b.Lamport = maxLam + 1
	}
	if b.TsMs == 0 {
		b.TsMs = maxTs + 1
	}
	w.nonce++
	e, err := msg.Seal(w.keys[s.author], b, &msg.Vote{Pool: msg.ID{7}, Side: msg.SideFor, Stake: w.nonce})
	if err != nil {
		w.tb.Fatalf("seal %+v: %v", s, err)
	}
	return e
}

// chain seals n valid messages of one author, each on the previous one.
func (w *world) chain(author, n int, prev *msg.Envelope) []*msg.Envelope {
	out := make([]*msg.Envelope, 0, n)
	for range n {
		prev = w.seal(spec{author: author, prev: prev})
		out = append(out, prev)
	}
	return out
}

// admitSet admits the authors it contains.
type admitSet map[msg.Account]bool

func (s admitSet) Admitted(a msg.Account, _ uint64) bool { return s[a] }

func ids(ns []*Node) []msg.ID {
	out := make([]msg.ID, len(ns))
	for i, n := range ns {
		out[i] = n.ID()
	}
	return out
}

func envIDs(es []*msg.Envelope) []msg.ID {
	out := make([]msg.ID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func (w *world) index(a msg.Account) int {
	i := slices.Index(w.accts, a)
	if i < 0 {
		w.tb.Fatalf("unknown author %s", a.Hex())
	}
	return i
}
