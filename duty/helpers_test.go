package duty

import (
	"bytes"
	"crypto/ed25519"
	"slices"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
)

var testNet = msg.TaggedHash("guild/test/duty\x00")

// Epoch k covers [G + 2000k, G + 2000(k+1)); duty time end(k) + 400.
const G = 1_000_000

func testConfig() epoch.Config {
	return epoch.Config{
		GenesisTsMs: G, EpochMs: 2000, GraceMs: 400, ThetaNum: 2, ThetaDen: 3,
		WitnessesN: 4, WitnessesMin: 1, WitnessCapPPM: 100_000, MaxHeads: 4096, SigmaMaxMs: 200,
	}
}

type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// world seals real envelopes with fixed-seed keys (accounts sorted: author i < author
// i+1) and delivers them to a real dag, remembering durable receive times.
type world struct {
	tb    fataler
	keys  []ed25519.PrivateKey
	accts []msg.Account
	d     *dag.DAG
	recv  map[msg.ID]int64
	nonce uint64
}

func newWorld(tb fataler, authors int) *world {
	w := &world{tb: tb, d: dag.New(dag.DefaultConfig()), recv: map[msg.ID]int64{}}
	for i := range authors {
		var seed [32]byte
		seed[0], seed[1] = 0xd7, byte(i)
		w.keys = append(w.keys, ed25519.NewKeyFromSeed(seed[:]))
	}
	slices.SortFunc(w.keys, func(x, y ed25519.PrivateKey) int {
		return bytes.Compare(x.Public().(ed25519.PublicKey), y.Public().(ed25519.PublicKey))
	})
	for _, k := range w.keys {
		w.accts = append(w.accts, msg.AccountOf(k))
	}
	return w
}

// seal makes a structurally valid message of author on prev (nil: seq 1) with parents.
func (w *world) seal(author int, prev *msg.Envelope, parents []*msg.Envelope, ts uint64) *msg.Envelope {
	w.tb.Helper()
	b := msg.Body{Network: testNet, Seq: 1, TsMs: ts}
	var lam uint64
	if prev != nil {
		id := prev.ID
		b.Prev, b.Seq, lam = &id, prev.Body.Seq+1, prev.Body.Lamport
	}
	for _, p := range parents {
		b.Parents = append(b.Parents, p.ID)
		lam = max(lam, p.Body.Lamport)
	}
	slices.SortFunc(b.Parents, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
	b.Lamport = lam + 1
	w.nonce++
	e, err := msg.Seal(w.keys[author], b, &msg.Vote{Pool: msg.ID{9}, Side: msg.SideFor, Stake: w.nonce})
	if err != nil {
		w.tb.Fatalf("seal: %v", err)
	}
	return e
}

// deliver ingests e at time at; durable says whether the receive time is durable.
func (w *world) deliver(e *msg.Envelope, at int64, durable bool) {
	w.tb.Helper()
	r := w.d.Ingest(e, at, dag.AdmitAll{})
	if r.Status == dag.Rejected {
		w.tb.Fatalf("ingest %s: %v", e.ID.Short(), r.Reason)
	}
	if durable {
		w.recv[e.ID] = at
	}
}

func (w *world) received(id msg.ID) (int64, bool) {
	ms, ok := w.recv[id]
	return ms, ok
}

// standing is a Standing given as tables.
type standing struct {
	admitted map[msg.Account]bool
	rep      map[msg.Account]uint64
	credits  map[msg.Account]uint64
}

func (s standing) Admitted(a msg.Account) bool  { return s.admitted[a] }
func (s standing) Rep(a msg.Account) uint64     { return s.rep[a] }
func (s standing) Credits(a msg.Account) uint64 { return s.credits[a] }

func admitAll(accts []msg.Account) standing {
	s := standing{admitted: map[msg.Account]bool{}, rep: map[msg.Account]uint64{}, credits: map[msg.Account]uint64{}}
	for _, a := range accts {
		s.admitted[a] = true
	}
	return s
}

func head(e *msg.Envelope) msg.Head {
	return msg.Head{Author: e.Body.Author, Seq: e.Body.Seq, ID: e.ID}
}

func sortHeads(hs []msg.Head) { slices.SortFunc(hs, msg.CompareHeads) }
