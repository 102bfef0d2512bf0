package p2p

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

var testNet = msg.TaggedHash("guild/test/p2p\x00")

// testLogger keeps test output quiet; set GUILD_P2P_DEBUG to see it.
func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// chainNode is the in-test node double: the real store and a validator that
// does what the node does minus the ledger (decode → ancestors present →
// group commit → accept).
type chainNode struct {
	tb       testing.TB
	key      identity.Key
	st       *store.Store
	host     *Host
	waitSync bool // wait for the group commit's fsync before Accept

	accepted, rejected, ignored atomic.Int64
	dups                        atomic.Int64

	mu      sync.Mutex
	waiting map[msg.ID][]*msg.Envelope // orphans by one missing ancestor
}

func (n *chainNode) Validate(ctx context.Context, from peer.ID, data []byte) Outcome {
	return n.validate(ctx, data, n.waitSync)
}

func (n *chainNode) validate(ctx context.Context, data []byte, waitSync bool) Outcome {
	env, err := msg.Decode(data, msg.Options{Network: testNet})
	if err != nil {
		n.rejected.Add(1)
		return Outcome{Verdict: Reject}
	}
	out, t := n.admit(env)
	if out.Verdict == Accept && waitSync {
		if err := t.Wait(ctx); err != nil {
			return Outcome{Verdict: Ignore}
		}
	}
	return out
}

// admit stores env if its ancestors are stored, else keeps it as an orphan
// (as the dag does) until they are.
func (n *chainNode) admit(env *msg.Envelope) (Outcome, store.Ticket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.admitLocked(env)
}

func (n *chainNode) admitLocked(env *msg.Envelope) (Outcome, store.Ticket) {
	if ok, _ := n.st.Has(env.ID); ok {
		n.dups.Add(1)
		n.ignored.Add(1)
		return Outcome{Verdict: Ignore}, store.Ticket{}
	}
	var missing []msg.ID
	anc := slices.Clone(env.Body.Parents)
	if env.Body.Prev != nil {
		anc = append(anc, *env.Body.Prev)
	}
	for _, a := range anc {
		if ok, _ := n.st.Has(a); !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		n.ignored.Add(1)
		if n.waiting == nil {
			n.waiting = map[msg.ID][]*msg.Envelope{}
		}
		n.waiting[missing[0]] = append(n.waiting[missing[0]], env)
		return Outcome{Verdict: Ignore, Missing: missing}, store.Ticket{}
	}
	t := n.st.Put(store.Record{ID: env.ID, Author: env.Body.Author, Seq: env.Body.Seq, Envelope: env.Raw, RecvMs: time.Now().UnixMilli()})
	n.accepted.Add(1)
	kids := n.waiting[env.ID]
	delete(n.waiting, env.ID)
	for _, k := range kids {
		n.admitLocked(k)
	}
	return Outcome{Verdict: Accept}, t
}

func (n *chainNode) IngestBatch(ctx context.Context, from peer.ID, envs [][]byte) []Outcome {
	out := make([]Outcome, len(envs))
	decoded := make([]*msg.Envelope, len(envs))
	var ok []*msg.Envelope
	var idx []int
	for i, data := range envs {
		env, err := msg.Decode(data, msg.Options{Network: testNet, SkipVerify: true})
		if err != nil {
			out[i] = Outcome{Verdict: Reject}
			n.rejected.Add(1)
			continue
		}
		decoded[i] = env
		ok = append(ok, env)
		idx = append(idx, i)
	}
	for _, bad := range msg.VerifyBatch(ok) {
		out[idx[bad]] = Outcome{Verdict: Reject}
		decoded[idx[bad]] = nil
		n.rejected.Add(1)
	}
	var last store.Ticket
	for i, env := range decoded {
		if env == nil {
			continue
		}
		var t store.Ticket
		out[i], t = n.admit(env)
		if out[i].Verdict == Accept {
			last = t
		}
	}
	_ = last.Wait(ctx) // an error here is the session ending; sync asks again
	return out
}

// keyFor gives a fixed key per index.
func keyFor(i int) identity.Key {
	var seed [32]byte
	seed[0], seed[1], seed[2] = 0x9e, byte(i), byte(i>>8)
	return identity.FromSeed(seed)
}

type nodeOpts struct {
	memory bool
	quic   bool
	blobs  bool
	extra  []Option
}

// newNode starts a host on 127.0.0.1 with a fresh store.
func newNode(tb testing.TB, i int, o nodeOpts) *chainNode {
	tb.Helper()
	n := &chainNode{tb: tb, key: keyFor(i)}
	if o.memory {
		n.st = store.OpenMemory(store.WithLogger(testLogger()))
	} else {
		st, err := store.Open(tb.TempDir(), store.WithLogger(testLogger()))
		if err != nil {
			tb.Fatal(err)
		}
		n.st = st
	}
	listen := "/ip4/127.0.0.1/tcp/0"
	if o.quic {
		listen = "/ip4/127.0.0.1/udp/0/quic-v1"
	}
	opts := append([]Option{WithListenAddrs(listen), WithMDNS(false), WithLogger(testLogger())}, o.extra...)
	d := Deps{Key: n.key, Network: testNet, Validator: n, Ingester: n, Log: StoreLog{Store: n.st}}
	if o.blobs {
		d.Blobs = n.st
	}
	h, err := New(context.Background(), d, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	n.host = h
	tb.Cleanup(func() {
		_ = h.Close()
		_ = n.st.Close()
	})
	return n
}

func connect(tb testing.TB, a, b *chainNode) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.host.Connect(ctx, b.host.AddrInfo()); err != nil {
		tb.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes. It bounds
// waiting; it never asserts on time.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// author builds one author's chain of sealed envelopes.
type author struct {
	priv ed25519.PrivateKey
	acct msg.Account
	last *msg.Envelope
	ts   uint64
}

func newAuthor(i int) *author {
	k := keyFor(1000 + i)
	return &author{priv: k.Priv, acct: k.Account(), ts: 1_700_000_000_000}
}

// next seals the author's next message with the given parents (other
// authors' messages).
func (a *author) next(tb testing.TB, parents ...*msg.Envelope) *msg.Envelope {
	tb.Helper()
	e := a.sealAfter(tb, a.last, parents...)
	a.last = e
	return e
}

// sealAfter seals a message whose prev is prev (nil: seq 1), not moving the
// chain: a fork when prev already has a child.
func (a *author) sealAfter(tb testing.TB, prev *msg.Envelope, parents ...*msg.Envelope) *msg.Envelope {
	tb.Helper()
	a.ts++
	b := msg.Body{Network: testNet, Seq: 1, TsMs: a.ts}
	var lam uint64
	if prev != nil {
		id := prev.ID
		b.Prev = &id
		b.Seq = prev.Body.Seq + 1
		lam = prev.Body.Lamport
	}
	var ps []msg.ID
	for _, p := range parents {
		ps = append(ps, p.ID)
		lam = max(lam, p.Body.Lamport)
	}
	slices.SortFunc(ps, func(x, y msg.ID) int { return compareIDs(x, y) })
	b.Parents = slices.Compact(ps)
	b.Lamport = lam + 1
	e, err := msg.Seal(a.priv, b, &msg.Vote{Pool: msg.BlobID([]byte("pool")), Side: msg.SideFor, Stake: a.ts})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func compareIDs(x, y msg.ID) int {
	for i := range x {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// genLog makes n envelopes by k authors in causal order; each message after
// the first round cites the previous author's latest message as a parent.
func genLog(tb testing.TB, k, n int) []*msg.Envelope {
	tb.Helper()
	as := make([]*author, k)
	for i := range as {
		as[i] = newAuthor(i)
	}
	out := make([]*msg.Envelope, 0, n)
	for i := 0; i < n; i++ {
		a := as[i%k]
		other := as[(i+k-1)%k]
		var parents []*msg.Envelope
		if other != a && other.last != nil {
			parents = append(parents, other.last)
		}
		out = append(out, a.next(tb, parents...))
	}
	return out
}

// putAll stores envelopes in order and waits until they are durable.
func putAll(tb testing.TB, st *store.Store, envs []*msg.Envelope) {
	tb.Helper()
	for _, e := range envs {
		st.Put(store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: 1})
	}
	if err := st.Flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func has(n *chainNode, id msg.ID) bool {
	ok, err := n.st.Has(id)
	return err == nil && ok
}

func hasAll(n *chainNode, envs []*msg.Envelope) bool {
	for _, e := range envs {
		if !has(n, e.ID) {
			return false
		}
	}
	return true
}

func openBenchStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.WithLogger(testLogger()))
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
