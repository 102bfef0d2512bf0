package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/store"
)

// econNet is one real node (no network transport, pebble store on disk) serving
// the real API on a loopback port, the only witness of its genesis.
type econNet struct {
	addr string
	c    *api.Client
	g    *genesis.Genesis
	self msg.Account
	bob  identity.Key // a second genesis account, whose key file is bobKey
	// bobKey is the path of bob's key file.
	bobKey string
}

func startEconNode(t *testing.T) *econNet {
	t.Helper()
	dir := t.TempDir()
	var seed [32]byte
	seed[0] = 0xec
	k := identity.FromSeed(seed)
	seed[0] = 0xb0
	bob := identity.FromSeed(seed)
	bobKey := filepath.Join(dir, "bob.key")
	if err := identity.Save(bobKey, bob); err != nil {
		t.Fatal(err)
	}
	f := &genesis.File{Name: "cli-economy", GenesisTsMs: uint64(time.Now().Add(200 * time.Millisecond).UnixMilli()),
		EpochMs: 1000, GraceMs: 250, Witnesses: []string{k.Account().String()},
		Params: map[string]uint64{"sigma_max_ms": 120, "witnesses_n": 1, "witnesses_min": 1},
		Allocations: []genesis.FileAllocation{
			{Account: k.Account().String(), RepMicro: 10_000_000, CreditsMicro: 5_000_000},
			{Account: bob.Account().String(), RepMicro: 10_000_000},
		}}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(filepath.Join(dir, "store"), store.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n, err := node.New(node.Config{Genesis: g, Key: k, Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(n, nil, log)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	addr := l.Addr().String()
	return &econNet{addr: addr, c: api.NewClient(addr), g: g, self: k.Account(), bob: bob, bobKey: bobKey}
}

// cli runs a guild command against the node.
func (e *econNet) cli(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	return run(t, append(args, "--api", e.addr)...)
}

// cliJSON runs a command with --json and decodes its output into v.
func (e *econNet) cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, err := e.cli(t, append(args, "--json")...)
	if err != nil {
		t.Fatalf("guild %s: %v (stderr %q)", strings.Join(args, " "), err, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("guild %s --json printed %q: %v", strings.Join(args, " "), out, err)
	}
}

func (e *econNet) ownSeq(t *testing.T) uint64 {
	t.Helper()
	s, err := e.c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.OwnSeq
}

// eventually polls f until it returns nil, failing with its last error after d.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}

// TestEconomyCLI drives post, pool open/vote/show, rep and params through the cobra
// root against a real node and its API.
func TestEconomyCLI(t *testing.T) {
	e := startEconNode(t)
	ctx := context.Background()

	// params: from the node, and offline.
	var ps []paramRow
	e.cliJSON(t, &ps, "params")
	if len(ps) != 54 || ps[10].Name != "min_fee" || ps[10].Value != 10_000 || ps[10].Default != 10_000 || ps[10].Scope != "read at open" {
		t.Fatalf("params: %d rows, row 11 %+v", len(ps), ps[min(10, len(ps)-1)])
	}
	if ps[1].Name != "grace_ms" || ps[1].Value != 250 || ps[1].Default != 5000 || ps[1].Governable {
		t.Fatalf("grace_ms row %+v: want the genesis value 250, default 5000, not governable", ps[1])
	}
	var defs []paramRow
	if out, _, err := run(t, "params", "--defaults", "--json", "--api", "127.0.0.1:1"); err != nil {
		t.Fatalf("params --defaults needs no node: %v", err)
	} else if err := json.Unmarshal([]byte(out), &defs); err != nil || len(defs) != 54 || defs[1].Value != 5000 {
		t.Fatalf("params --defaults --json: %v, %d rows", err, len(defs))
	}
	out, _, err := e.cli(t, "params", "min_fee", "pool_duration_max")
	if err != nil || !strings.Contains(out, "min_fee") || !strings.Contains(out, "µcredits") || strings.Contains(out, "decay_ppm") || strings.Count(out, "\n") != 3 {
		t.Fatalf("params min_fee pool_duration_max: %v\n%s", err, out)
	}
	if _, _, err := e.cli(t, "params", "no_such_param"); !isUsage(err) {
		t.Fatalf("params with an unknown name: %v, want a usage error", err)
	}

	// rep: the node's own account by default, another one by key file.
	var r repResult
	e.cliJSON(t, &r, "rep")
	if r.Account.Account != e.self.String() || r.RepMicro != 10_000_000 || r.RepFree != 10_000_000 || r.CreditsFree != 5_000_000 || !r.Admitted {
		t.Fatalf("rep: %+v", r)
	}
	e.cliJSON(t, &r, "rep", e.bobKey)
	if r.Account.Account != e.bob.Account().String() || r.RepMicro != 10_000_000 || r.CreditsFree != 0 {
		t.Fatalf("rep bob.key: %+v", r)
	}
	if out, _, err = e.cli(t, "rep"); err != nil || !strings.Contains(out, "REP       10 (locked 0, free 10)") || !strings.Contains(out, "credits   5 free, 0 frozen") {
		t.Fatalf("rep text: %v\n%s", err, out)
	}

	// A post with a co-author: the node's account gets the remainder.
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.md")
	if err := os.WriteFile(bodyFile, []byte("Counted the words of a book."), 0o644); err != nil {
		t.Fatal(err)
	}
	seq0 := e.ownSeq(t)
	var dry postResult
	e.cliJSON(t, &dry, "post", "Dry", bodyFile, "--dry-run")
	if !dry.DryRun || dry.ID != "" || !dry.Check.Effect || e.ownSeq(t) != seq0 {
		t.Fatalf("dry run signed something or was refused: %+v", dry)
	}
	var pr postResult
	e.cliJSON(t, &pr, "post", "Word counts", bodyFile, "--author", e.bobKey+":400000", "--tag", "books")
	if pr.Post == "" || pr.Post != pr.ID || pr.Seq != seq0+1 || pr.BodyBlob != "" || pr.Kind != "POST" {
		t.Fatalf("post result %+v", pr)
	}
	postID, _ := msg.ParseID(pr.Post)

	// A post by bob, signed with bob's key and submitted as an envelope: the node may
	// vote on pools about it (it may not on its own posts).
	bobPost := &msg.Post{Title: "Bob's", Text: "bob's body", Authors: []msg.AuthorShare{{Account: e.bob.Account(), PPM: msg.PPM}}}
	env, err := msg.Seal(e.bob.Priv, msg.Body{Network: e.g.NetworkID(), Seq: 1, Lamport: 1, TsMs: uint64(time.Now().UnixMilli())}, bobPost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Submit(ctx, env.Raw); err != nil {
		t.Fatal(err)
	}

	eventually(t, 15*time.Second, "the post is in a computed epoch", func() error {
		p, err := e.c.Post(ctx, postID)
		if err != nil {
			return err
		}
		if len(p.Authors) != 2 || p.Signer != e.self.String() {
			t.Fatalf("post as the node has it: %+v", p)
		}
		for _, a := range p.Authors {
			want := uint64(600_000)
			if a.Account == e.bob.Account().String() {
				want = 400_000
			}
			if a.PPM != want {
				t.Fatalf("author %s has %d ppm, want %d", a.Account, a.PPM, want)
			}
		}
		_, err = e.c.Post(ctx, env.ID)
		return err
	})

	// A long body goes as a blob; it cites the first post, now computed.
	long := strings.Repeat("0123456789abcdef", 1100) // 17,600 bytes > 16 KiB
	longFile := filepath.Join(dir, "long.txt")
	if err := os.WriteFile(longFile, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	var lr postResult
	e.cliJSON(t, &lr, "post", "Long one", longFile, "--cite", pr.Post+":+250000")
	if lr.BodyBlob != msg.BlobID([]byte(long)).String() || lr.BodySize != len(long) {
		t.Fatalf("long post: %+v", lr)
	}
	if b, err := e.c.Blob(ctx, msg.BlobID([]byte(long))); err != nil || string(b) != long {
		t.Fatalf("body blob not held by the node: %v", err)
	}

	// Refused before signing: a fee above the node's 5 credits; a vote on an unknown
	// pool; a governance pool on a post without a diff; the signer's own vote would
	// come later. Nothing is signed.
	seq1 := e.ownSeq(t)
	_, _, err = e.cli(t, "pool", "open", pr.Post, "--fee", "100", "--epochs", "3")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "not enough free credits") {
		t.Fatalf("pool open with fee 100 > 5 credits: %v", err)
	}
	if isUsage(err) {
		t.Fatal("a refusal is not a usage error")
	}
	_, _, err = e.cli(t, "pool", "vote", strings.Repeat("ab", 32), "--for", "--stake", "1")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "no open pool") {
		t.Fatalf("vote on an unknown pool: %v", err)
	}
	_, _, err = e.cli(t, "pool", "open", pr.Post, "--fee", "1", "--epochs", "3", "--governance")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "params diff") {
		t.Fatalf("governance pool on a post without a diff: %v", err)
	}
	if got := e.ownSeq(t); got != seq1 {
		t.Fatalf("own seq moved from %d to %d: a refused message was signed", seq1, got)
	}

	// Usage errors: exit status 2, nothing contacted.
	for _, args := range [][]string{
		{"pool", "open", pr.Post, "--fee", "1"},
		{"pool", "open", "zz", "--fee", "1", "--epochs", "2"},
		{"pool", "vote", pr.Post, "--for", "--against", "--stake", "1"},
		{"pool", "vote", pr.Post, "--for", "--stake", "1.0000001"},
		{"post", "T", bodyFile, "--author", e.bobKey + ":1000000"},
		{"post", "T", bodyFile, "--cite", pr.Post + ":0"},
		{"post", "T"},
		{"params", "propose", "nonsense=1"},
		{"params", "propose", "decay_ppm=200000"},
		{"params", "propose", "epoch_ms=2000"},
		{"params", "propose", "tier1_size=4"},
		{"params", "propose", "min_fee=x"},
		{"rep", "a", "b"},
	} {
		if _, _, err := e.cli(t, args...); !isUsage(err) {
			t.Errorf("guild %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if got := e.ownSeq(t); got != seq1 {
		t.Fatalf("own seq moved from %d to %d on usage errors", seq1, got)
	}

	// --force publishes what the node refuses.
	var forced poolOpenResult
	e.cliJSON(t, &forced, "pool", "open", pr.Post, "--fee", "100", "--epochs", "3", "--force")
	if !forced.Forced || forced.Check.Effect || forced.Pool == "" || e.ownSeq(t) != seq1+1 {
		t.Fatalf("forced open: %+v", forced)
	}

	// A governance proposal, then its pool.
	var prop proposeResult
	e.cliJSON(t, &prop, "params", "propose", "decay_ppm=1000", "min_fee=20000", "--text", "Slow decay.")
	if prop.Post == "" || len(prop.Changes) != 2 || prop.Changes[0].Name != "min_fee" || prop.Changes[0].Current != 10_000 ||
		prop.Changes[1].Value != 1000 || prop.Warning != "" ||
		prop.OpenCommand != fmt.Sprintf("guild pool open %s --governance --fee 0.01 --epochs 10", prop.Post) {
		t.Fatalf("propose: %+v", prop)
	}
	_, stderr, err := e.cli(t, "params", "propose", "pool_duration_min=200", "--dry-run")
	if err != nil || !strings.Contains(stderr, "pool_duration_min") || !strings.Contains(stderr, "skipped at activation") {
		t.Fatalf("cross-bound warning: %v %q", err, stderr)
	}

	// The node opens a pool on bob's post and votes in it.
	var open poolOpenResult
	e.cliJSON(t, &open, "pool", "open", env.ID.String(), "--fee", "1", "--epochs", "10")
	if open.Pool == "" || open.Pool != open.ID || open.FeeMicro != 1_000_000 || open.Epochs != 10 || open.Governance {
		t.Fatalf("open: %+v", open)
	}
	poolID, _ := msg.ParseID(open.Pool)
	propID, _ := msg.ParseID(prop.Post)
	eventually(t, 15*time.Second, "the pool and the proposal are computed", func() error {
		if _, err := e.c.Pool(ctx, poolID); err != nil {
			return err
		}
		p, err := e.c.Post(ctx, propID)
		if err == nil && !p.HasParams {
			t.Fatalf("proposal computed without its diff: %+v", p)
		}
		return err
	})
	var gov poolOpenResult
	e.cliJSON(t, &gov, "pool", "open", prop.Post, "--governance", "--fee", "0.01", "--epochs", "10")
	if !gov.Governance || gov.Pool == "" {
		t.Fatalf("governance open: %+v", gov)
	}
	var show api.Pool
	e.cliJSON(t, &show, "pool", "show", open.Pool)
	if show.Post != env.ID.String() || show.Opener != e.self.String() || show.FeeMicro != 1_000_000 || show.Kind != "executive" {
		t.Fatalf("pool show: %+v", show)
	}
	var vote voteResult
	_, stderr, _ = e.cli(t, "pool", "vote", open.Pool, "--for", "--stake", "12", "--dry-run")
	if !strings.Contains(stderr, "free REP (10)") {
		t.Fatalf("no clamp warning for a stake above free REP: %q", stderr)
	}
	e.cliJSON(t, &vote, "pool", "vote", open.Pool, "--for", "--stake", "2.5")
	if vote.ID == "" || vote.Side != "for" || vote.StakeMicro != 2_500_000 || !vote.Check.Effect {
		t.Fatalf("vote: %+v", vote)
	}
	eventually(t, 15*time.Second, "the vote is computed", func() error {
		p, err := e.c.Pool(ctx, poolID)
		if err != nil {
			return err
		}
		if len(p.Votes) == 0 {
			return errors.New("no votes yet")
		}
		if v := p.Votes[0]; v.Voter != e.self.String() || v.Side != "for" || v.Stake != 2_500_000 {
			t.Fatalf("vote as computed: %+v", v)
		}
		return nil
	})
	e.cliJSON(t, &r, "rep")
	if r.RepLocked != 2_500_000 || r.RepFree != 7_500_000 {
		t.Fatalf("rep after the vote: %+v", r)
	}
	// A second vote is refused: the first effective vote counts.
	_, _, err = e.cli(t, "pool", "vote", open.Pool, "--against", "--stake", "1")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "already") {
		t.Fatalf("second vote: %v", err)
	}
	// The node may not vote on its own post's pool.
	govID, _ := msg.ParseID(gov.Pool)
	eventually(t, 15*time.Second, "the governance pool is computed", func() error {
		_, err := e.c.Pool(ctx, govID)
		return err
	})
	_, _, err = e.cli(t, "pool", "vote", gov.Pool, "--for", "--stake", "1")
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "signer") {
		t.Fatalf("the signer's vote: %v", err)
	}
	// rep's history shows the forced pool open that had no effect, with its reason.
	eventually(t, 15*time.Second, "the forced open shows in rep's history", func() error {
		var h repResult
		e.cliJSON(t, &h, "rep", "--history", "50")
		for _, ne := range h.NoEffect {
			if ne.ID == forced.ID {
				if !strings.Contains(ne.Reason, "not enough free credits") || ne.Partial {
					t.Fatalf("history entry %+v", ne)
				}
				return nil
			}
		}
		return fmt.Errorf("not in %+v", h.NoEffect)
	})
	if out, _, err = e.cli(t, "rep", "--history", "50"); err != nil || !strings.Contains(out, forced.ID+" (no effect): ") {
		t.Fatalf("rep history text: %v\n%s", err, out)
	}
	// The balance history shows the stake being locked by the vote.
	var h repResult
	e.cliJSON(t, &h, "rep", "--history", "50")
	unlocked, locked := false, false
	for _, b := range h.Balances {
		unlocked = unlocked || b.RepLocked == 0
		locked = locked || b.RepLocked == 2_500_000
	}
	if !unlocked || !locked || len(h.Balances) < 2 {
		t.Fatalf("balance history %+v: want epochs before and after the 2.5 REP lock", h.Balances)
	}
	if !strings.Contains(out, "(locked 2.5)") {
		t.Fatalf("rep history text lacks the locked balance:\n%s", out)
	}
	out, _, err = e.cli(t, "pool", "show", open.Pool)
	if err != nil || !strings.Contains(out, "2.5 REP for") {
		t.Fatalf("pool show text: %v\n%s", err, out)
	}
}
