package node

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/p2p"
	"github.com/guild-net/guild/store"
)

func testLogger() *slog.Logger {
	if os.Getenv("GUILD_NODE_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testKey(i int) identity.Key {
	var seed [32]byte
	seed[0], seed[1] = 0x4e, byte(i)
	return identity.FromSeed(seed)
}

// testGenesis makes a network whose witnesses are keys 0..w-1 (1 REP each) with
// epochs of 1 s starting shortly after now.
func testGenesis(t testing.TB, w int, startIn time.Duration) *genesis.Genesis {
	t.Helper()
	f := &genesis.File{Name: "node-test", GenesisTsMs: uint64(time.Now().Add(startIn).UnixMilli()), EpochMs: 1000, GraceMs: 250,
		Params: map[string]uint64{"sigma_max_ms": 120, "witnesses_n": uint64(w), "witnesses_min": 1}}
	for i := 0; i < w; i++ {
		a := testKey(i).Account().String()
		f.Witnesses = append(f.Witnesses, a)
		f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: a, RepMicro: 1_000_000, CreditsMicro: 10_000_000})
	}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type testNode struct {
	*Node
	st  *store.Store
	dir string
}

func (tn *testNode) host() *HostTransport { return tn.tr.(*HostTransport) }

// startNode opens (or reopens) the store in dir and starts a node on 127.0.0.1.
func startNode(t testing.TB, g *genesis.Genesis, i int, dir string, network bool) *testNode {
	t.Helper()
	st, err := store.Open(dir, store.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Genesis: g, Key: testKey(i), Store: st, Logger: testLogger().With("node", i)}
	if network {
		cfg.Transport = Libp2p(testKey(i), p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithMDNS(false),
			p2p.WithSyncInterval(2*time.Second), p2p.WithLogger(testLogger()), p2p.WithEnvelopeMax(int(msg.DefaultEnvelopeMax)))
	}
	n, err := New(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		st.Close()
		t.Fatal(err)
	}
	tn := &testNode{Node: n, st: st, dir: dir}
	t.Cleanup(func() { tn.stop(t) })
	return tn
}

// stop closes the node and its store; safe to call twice.
func (tn *testNode) stop(t testing.TB) {
	if err := tn.Close(); err != nil {
		t.Errorf("close node: %v", err)
	}
	if err := tn.st.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
}

func connectAll(t testing.TB, ns ...*testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range ns {
		for j := i + 1; j < len(ns); j++ {
			if err := ns[i].host().Connect(ctx, ns[j].host().AddrInfo()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func post(author msg.Account, title string) *msg.Post {
	return &msg.Post{Title: title, Text: "body of " + title, Authors: []msg.AuthorShare{{Account: author, PPM: 1_000_000}}}
}

// read runs f on the node's loop.
func (tn *testNode) read(t testing.TB, f func()) {
	t.Helper()
	if err := tn.do(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testutilCount(n *testNode, what string) float64 {
	var m dto.Metric
	if err := n.m.duty.WithLabelValues(what).Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
