package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/store"
)

func key(i int) identity.Key {
	var seed [32]byte
	seed[0], seed[1] = 0xa9, byte(i)
	return identity.FromSeed(seed)
}

// fixture is a real node (pebble store on disk, no network) behind the real server.
type fixture struct {
	g   *genesis.Genesis
	st  *store.Store
	n   *node.Node
	c   *api.Client
	now uint64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &genesis.File{Name: "api-test", GenesisTsMs: uint64(time.Now().UnixMilli()), EpochMs: 1000, GraceMs: 250,
		Params: map[string]uint64{"sigma_max_ms": 100, "witnesses_n": 1, "witnesses_min": 1}}
	for i := 0; i < 2; i++ {
		a := key(i).Account().String()
		f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: a, RepMicro: 1_000_000})
	}
	f.Witnesses = []string{key(0).Account().String()}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(t.TempDir(), store.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	n, err := node.New(node.Config{Genesis: g, Key: key(0), Store: st, Logger: log, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(n, reg, log).Handler())
	t.Cleanup(func() {
		srv.Close()
		n.Close()
		st.Close()
	})
	return &fixture{g: g, st: st, n: n, c: api.NewClient(strings.TrimPrefix(srv.URL, "http://")), now: uint64(time.Now().UnixMilli())}
}

// seal signs a message of key i.
func (f *fixture) seal(t *testing.T, i int, b msg.Body, title string) *msg.Envelope {
	t.Helper()
	if b.Network.IsZero() {
		b.Network = f.g.NetworkID()
	}
	if b.TsMs == 0 {
		b.TsMs = f.now
	}
	if b.Lamport == 0 {
		b.Lamport = 1
	}
	a := key(i).Account()
	e, err := msg.Seal(key(i).Priv, b, &msg.Post{Title: title, Text: "x", Authors: []msg.AuthorShare{{Account: a, PPM: 1_000_000}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got error %v, want code %s", err, code)
	}
}

func TestSubmit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	good := f.seal(t, 1, msg.Body{Seq: 1}, "first")
	before := f.st.Stats().Records
	res, err := f.c.Submit(ctx, good.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "accepted" || res.ID != good.ID.String() || res.Seq != 1 {
		t.Fatalf("submit: %+v", res)
	}
	// Durable before the reply: a group commit (an fsync) carrying it has completed.
	if after := f.st.Stats().Records; after <= before {
		t.Fatalf("reply came before the envelope was committed (records %d → %d)", before, after)
	}
	if ok, _ := f.st.Has(good.ID); !ok {
		t.Fatal("accepted envelope not in the store")
	}

	res, err = f.c.Submit(ctx, good.Raw)
	if err != nil || res.Status != "duplicate" {
		t.Fatalf("resubmit: %+v, %v", res, err)
	}

	// An orphan is stored and its missing ancestor reported.
	var ghost msg.ID
	ghost[0] = 7
	orphan := f.seal(t, 1, msg.Body{Seq: 3, Prev: &ghost, Lamport: 3}, "orphan")
	res, err = f.c.Submit(ctx, orphan.Raw)
	if err != nil || res.Status != "orphan" || len(res.Missing) != 1 || res.Missing[0] != ghost.String() {
		t.Fatalf("orphan: %+v, %v", res, err)
	}

	// Typed stateless rejections.
	bad := append([]byte(nil), good.Raw...)
	bad[len(bad)-1] ^= 1
	_, err = f.c.Submit(ctx, bad)
	wantCode(t, err, api.CodeBadSignature)

	_, err = f.c.Submit(ctx, good.Raw[:len(good.Raw)-3])
	wantCode(t, err, api.CodeTruncated)

	var other msg.ID
	other[0] = 1
	_, err = f.c.Submit(ctx, f.seal(t, 1, msg.Body{Seq: 1, Network: other}, "elsewhere").Raw)
	wantCode(t, err, api.CodeWrongNetwork)

	prev := good.ID
	if _, err = f.c.Submit(ctx, f.seal(t, 1, msg.Body{Seq: 2, Prev: &prev, Lamport: 2}, "seq 2").Raw); err != nil {
		t.Fatalf("valid seq 2: %v", err)
	}
	third := f.seal(t, 2, msg.Body{Seq: 1}, "by an unadmitted author")
	res, err = f.c.Submit(ctx, third.Raw)
	if err != nil || res.Status != "ignored" {
		t.Fatalf("unadmitted author: %+v, %v", res, err)
	}
	// Structurally invalid: seq 3 whose prev is the author's seq 1, not its seq 2.
	_, err = f.c.Submit(ctx, f.seal(t, 1, msg.Body{Seq: 3, Prev: &prev, Lamport: 3}, "prev skips seq 2").Raw)
	wantCode(t, err, api.CodePrevMismatch)

	// The node's own account is signed only by the node.
	_, err = f.c.Submit(ctx, f.seal(t, 0, msg.Body{Seq: 1}, "mine").Raw)
	wantCode(t, err, api.CodeOwnAccount)

	// Publish: the node signs on its own chain, seq 1 then 2.
	for want := uint64(1); want <= 2; want++ {
		res, err = f.c.Publish(ctx, &msg.Post{Title: "by the node", Text: "t", Authors: []msg.AuthorShare{{Account: key(0).Account(), PPM: 1_000_000}}})
		if err != nil || res.Seq != want || res.Author != key(0).Account().String() {
			t.Fatalf("publish %d: %+v, %v", want, res, err)
		}
	}
	_, err = f.c.Publish(ctx, &msg.Checkpoint{Epoch: 5})
	wantCode(t, err, api.CodeBadPayload)
}

func TestReads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, err := f.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Account != key(0).Account().String() || st.Network != f.g.NetworkID().String() {
		t.Fatalf("status: %+v", st)
	}
	acc, err := f.c.Account(ctx, key(1).Account())
	if err != nil || acc.RepMicro != 1_000_000 || !acc.Admitted {
		t.Fatalf("account: %+v, %v", acc, err)
	}
	id, err := f.c.PutBlob(ctx, []byte("hello blob"))
	if err != nil || id.ID != msg.BlobID([]byte("hello blob")).String() {
		t.Fatalf("put blob: %+v, %v", id, err)
	}
	b, err := f.c.Blob(ctx, msg.BlobID([]byte("hello blob")))
	if err != nil || string(b) != "hello blob" {
		t.Fatalf("blob: %q, %v", b, err)
	}
	_, err = f.c.Blob(ctx, msg.BlobID([]byte("absent")))
	wantCode(t, err, api.CodeNotFound)
	chk, err := f.c.Check(ctx, key(1).Account(), &msg.Vote{Pool: msg.BlobID([]byte("no such pool")), Side: 1, Stake: 1})
	if err != nil || chk.Effect || chk.Reason == "" {
		t.Fatalf("check vote on a missing pool: %+v, %v", chk, err)
	}
	ps, err := f.c.Params(ctx)
	if err != nil || len(ps) == 0 || ps[0].Name != "epoch_ms" || ps[0].Value != 1000 {
		t.Fatalf("params: %v, %v", ps, err)
	}
}

func TestClientNotRunning(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = api.NewClient(addr).Status(context.Background())
	if !errors.Is(err, api.ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	if _, err := api.Listen("0.0.0.0:0"); !errors.Is(err, api.ErrNotLoopback) {
		t.Fatalf("got %v, want ErrNotLoopback", err)
	}
}
