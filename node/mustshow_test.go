package node

// Issue 3, "what it must show", on real libp2p hosts on 127.0.0.1 and real pebble
// stores: five publishing hosts agree, a late joiner catches up ≥ 10,000 messages by
// sync alone, and a partition around an epoch boundary heals without loss.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/p2p"
	"github.com/guild-net/guild/store"
)

// genesisWith makes a network whose witnesses are the given keys (1 REP each) and
// which also names the extra accounts (admitted from epoch 0), with 1 s epochs.
func genesisWith(t testing.TB, witnesses, extra []identity.Key, startIn time.Duration) *genesis.Genesis {
	t.Helper()
	f := &genesis.File{Name: "node-mustshow", GenesisTsMs: uint64(time.Now().Add(startIn).UnixMilli()), EpochMs: 1000, GraceMs: 250,
		Params: map[string]uint64{"sigma_max_ms": 120, "witnesses_n": uint64(len(witnesses)), "witnesses_min": 1}}
	for _, k := range witnesses {
		a := k.Account().String()
		f.Witnesses = append(f.Witnesses, a)
		f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: a, RepMicro: 1_000_000, CreditsMicro: 10_000_000})
	}
	for _, k := range extra {
		f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: k.Account().String(), CreditsMicro: 10_000_000})
	}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// startNodeWith is startNode with any key and extra p2p options (gossip off,
// bootstrap peers).
func startNodeWith(t testing.TB, g *genesis.Genesis, key identity.Key, name string, dir string, extra ...p2p.Option) *testNode {
	t.Helper()
	st, err := store.Open(dir, store.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]p2p.Option{p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithMDNS(false),
		p2p.WithSyncInterval(2 * time.Second), p2p.WithLogger(testLogger()), p2p.WithEnvelopeMax(int(msg.DefaultEnvelopeMax))}, extra...)
	n, err := New(Config{Genesis: g, Key: key, Store: st, Logger: testLogger().With("node", name), Transport: Libp2p(key, opts...)})
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

// holdsAll says whether the node's store holds every id.
func (tn *testNode) holdsAll(t testing.TB, ids []msg.ID) bool {
	for _, id := range ids {
		ok, err := tn.st.Has(id)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return false
		}
	}
	return true
}

// nowEpoch is the epoch the wall clock is in.
func (tn *testNode) nowEpoch() int {
	return int(tn.ecfg.EpochOf(uint64(time.Now().UnixMilli())))
}

// agreeThrough waits until epoch target is settled at every node, then checks that
// every epoch settled at every node has one state root everywhere. It returns the
// length of the common settled prefix.
func agreeThrough(t *testing.T, d time.Duration, target int, ns ...*testNode) int {
	t.Helper()
	waitFor(t, d, fmt.Sprintf("epoch %d settled at every node", target), func() bool {
		for _, n := range ns {
			if len(n.settledRoots(t)) <= target {
				return false
			}
		}
		return true
	})
	all := make([][]msg.ID, len(ns))
	common := -1
	for i, n := range ns {
		all[i] = n.settledRoots(t)
		if common < 0 || len(all[i]) < common {
			common = len(all[i])
		}
	}
	for k := 0; k < common; k++ {
		for i := 1; i < len(ns); i++ {
			if all[i][k] != all[0][k] {
				t.Fatalf("settled epoch %d: node %d root %s, node 0 root %s", k, i, all[i][k].Short(), all[0][k].Short())
			}
		}
	}
	return common
}

// checkPostsInState checks that every post id is in the forum of the node's state
// after epoch k, and that the node raised no alarm and holds no fork evidence.
func checkPostsInState(t *testing.T, name string, n *testNode, k int, ids []msg.ID) {
	t.Helper()
	var missing int
	var forks []string
	n.read(t, func() {
		r, ok := n.led.Epoch(uint64(k))
		if !ok {
			missing = len(ids)
			return
		}
		for _, id := range ids {
			if _, ok := r.State.Forum().Get(id); !ok {
				missing++
			}
		}
		for _, a := range n.led.DAG().Authors() {
			if f := n.led.DAG().ForksOf(a); len(f) > 0 {
				forks = append(forks, fmt.Sprintf("%s at seq %d", a.String(), f[0].Seq))
			}
		}
	})
	if missing > 0 {
		t.Errorf("%s: %d of %d posts not in the state after epoch %d", name, missing, len(ids), k)
	}
	if len(forks) > 0 {
		t.Errorf("%s: fork evidence %v", name, forks)
	}
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Alarms) > 0 {
		t.Errorf("%s alarms: %v", name, st.Alarms)
	}
}

// TestFiveHostsAgree runs five real hosts connected in a ring (so gossip must be
// relayed through other nodes' validators), all witnesses, each publishing posts:
// every node holds every post, epochs settle everywhere, every epoch settled at every
// node has the same state root at all of them, and every post is in that state.
func TestFiveHostsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("real network, ~12 s")
	}
	t0 := time.Now()
	g := testGenesis(t, 5, 1500*time.Millisecond)
	ns := make([]*testNode, 5)
	for i := range ns {
		ns[i] = startNode(t, g, i, t.TempDir(), true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range ns {
		j := (i + 1) % len(ns)
		if err := ns[i].host().Connect(ctx, ns[j].host().AddrInfo()); err != nil {
			t.Fatal(err)
		}
	}
	// Publish from epoch 0 on, over three epochs.
	time.Sleep(time.Until(time.UnixMilli(int64(g.GenesisTsMs))))
	var ids []msg.ID
	for round := 0; round < 12; round++ {
		for i, n := range ns {
			e, err := n.Sign(ctx, post(n.self, fmt.Sprintf("ring post %d by node %d", round, i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		time.Sleep(250 * time.Millisecond)
	}
	waitFor(t, 20*time.Second, "every node holds every post", func() bool {
		for _, n := range ns {
			if !n.holdsAll(t, ids) {
				return false
			}
		}
		return true
	})
	target := ns[0].nowEpoch() + 2
	common := agreeThrough(t, 40*time.Second, target, ns...)
	for i, n := range ns {
		checkPostsInState(t, fmt.Sprintf("node %d", i), n, target, ids)
		var live uint64
		n.read(t, func() {
			r, _ := n.led.Epoch(uint64(target))
			live = r.State.LiveEpochs()
		})
		// Epoch 0 is never live; with every witness online every later epoch is.
		if live != uint64(target) {
			t.Errorf("node %d: %d live epochs up to %d, want %d", i, live, target, target)
		}
	}
	t.Logf("5 hosts, %d posts: %d epochs settled and agreed at every node; took %v", len(ids), common, time.Since(t0).Round(time.Millisecond))
}

// TestLateJoinerSyncsTenThousand builds a history of 10,000 messages from five
// authors named in genesis at node A (through A's ingest path, as sync would hand
// them over), lets A settle it, then starts node B with gossip off and A as its only
// bootstrap peer: B learns everything by sync alone, holds every message, has them
// all in its agreed cut, and its settled state roots equal A's.
func TestLateJoinerSyncsTenThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("real network, ~15 s")
	}
	const authors, perAuthor = 5, 2000
	t0 := time.Now()
	keyA, keyB := testKey(0), testKey(1)
	var authorKeys []identity.Key
	for i := 0; i < authors; i++ {
		authorKeys = append(authorKeys, testKey(100+i))
	}
	g := genesisWith(t, []identity.Key{keyA}, append([]identity.Key{keyB}, authorKeys...), 300*time.Millisecond)
	a := startNodeWith(t, g, keyA, "A", t.TempDir())
	time.Sleep(time.Until(time.UnixMilli(int64(g.GenesisTsMs) + 50)))

	// Chains of posts, no parents; sealed in causal order (seq-major).
	ts := uint64(time.Now().UnixMilli())
	prev := make([]msg.ID, authors)
	raws := make([][]byte, 0, authors*perAuthor)
	ids := make([]msg.ID, 0, authors*perAuthor)
	for seq := uint64(1); seq <= perAuthor; seq++ {
		for i, k := range authorKeys {
			b := msg.Body{Network: g.NetworkID(), Seq: seq, Lamport: seq, TsMs: ts}
			if seq > 1 {
				p := prev[i]
				b.Prev = &p
			}
			e, err := msg.Seal(k.Priv, b, post(k.Account(), fmt.Sprintf("history %d/%d", i, seq)))
			if err != nil {
				t.Fatal(err)
			}
			prev[i] = e.ID
			raws = append(raws, e.Raw)
			ids = append(ids, e.ID)
		}
	}
	ctx := context.Background()
	tIngest := time.Now()
	for off := 0; off < len(raws); off += maxBatch {
		outs, err := a.submit(ctx, raws[off:min(off+maxBatch, len(raws))], fromSync)
		if err != nil {
			t.Fatal(err)
		}
		for j, o := range outs {
			if o.Err != nil || o.Result.Status != dag.Accepted {
				t.Fatalf("history message %d at A: err %v, status %v", off+j, o.Err, o.Result.Status)
			}
		}
	}
	if err := a.st.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ingestTook := time.Since(tIngest)
	// A lists a message in its checkpoint for the epoch it received it in (or later),
	// so the history is in A's batch of this epoch at the latest.
	histEpoch := a.nowEpoch()
	waitFor(t, 20*time.Second, "A settles the history", func() bool { return len(a.settledRoots(t)) > histEpoch+1 })

	tJoin := time.Now()
	b := startNodeWith(t, g, keyB, "B", t.TempDir(), p2p.WithGossip(false), p2p.WithBootstrap(a.host().AddrInfo()))
	// Cheap test first (sync may store a chain's head before the rest), then every id.
	waitFor(t, 60*time.Second, "B holds every history message", func() bool {
		for _, k := range authorKeys {
			seq, _, ok, err := b.st.AuthorHead(k.Account())
			if err != nil {
				t.Fatal(err)
			}
			if !ok || seq < perAuthor {
				return false
			}
		}
		return b.holdsAll(t, ids)
	})
	took := time.Since(tJoin)
	target := histEpoch + 1
	common := agreeThrough(t, 30*time.Second, target, a, b)
	var notInCut int
	b.read(t, func() {
		r, _ := b.led.Epoch(uint64(target))
		for _, id := range ids {
			if !r.Cut.Contains(id) {
				notInCut++
			}
		}
	})
	if notInCut > 0 {
		t.Errorf("B: %d of %d history messages not in its agreed cut of settled epoch %d", notInCut, len(ids), target)
	}
	if st, err := b.Status(ctx); err != nil {
		t.Fatal(err)
	} else if len(st.Alarms) > 0 {
		t.Errorf("B alarms: %v", st.Alarms)
	}
	t.Logf("A ingested %d messages in %v; B (gossip off) caught up by sync in %v (%.0f msgs/s); %d settled epochs agree; test took %v",
		len(ids), ingestTook.Round(time.Millisecond), took.Round(time.Millisecond), float64(len(ids))/took.Seconds(), common,
		time.Since(t0).Round(time.Millisecond))
}

// cut severs every link between x and y and keeps them apart: each forgets the
// other's addresses (so nothing, sync included, can dial again) and closes its
// connections. p2p has no connection-gater option, so this is the partition.
func cut(x, y *testNode) {
	hx, hy := x.host().Libp2p(), y.host().Libp2p()
	hx.Peerstore().ClearAddrs(hy.ID())
	hy.Peerstore().ClearAddrs(hx.ID())
	_ = hx.Network().ClosePeer(hy.ID())
	_ = hy.Network().ClosePeer(hx.ID())
}

func linked(x, y *testNode) bool {
	return x.host().Libp2p().Network().Connectedness(y.host().ID()) == network.Connected ||
		y.host().Libp2p().Network().Connectedness(x.host().ID()) == network.Connected
}

// TestPartitionHeals runs four witnesses, splits them into {0,1} and {2,3} (neither
// side is a quorum), lets both sides publish across an epoch boundary, then heals:
// during the split neither side sees the other's messages; afterwards every node
// holds every message, every post is in the state, every epoch settled at every
// node has one state root, and no epoch settled before the heal changed. It skips at
// the very end (after all of that passed) while the divergence alarm still fires on
// the provisional roots witnesses signed during the split; see the Skipf.
func TestPartitionHeals(t *testing.T) {
	if testing.Short() {
		t.Skip("real network, ~15 s")
	}
	t0 := time.Now()
	g := testGenesis(t, 4, 1500*time.Millisecond)
	ns := make([]*testNode, 4)
	for i := range ns {
		ns[i] = startNode(t, g, i, t.TempDir(), true)
	}
	connectAll(t, ns...)
	ctx := context.Background()
	var ids []msg.ID
	for i, n := range ns {
		e, err := n.Sign(ctx, post(n.self, fmt.Sprintf("before the split, node %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	waitFor(t, 15*time.Second, "every node holds the pre-split posts", func() bool {
		for _, n := range ns {
			if !n.holdsAll(t, ids) {
				return false
			}
		}
		return true
	})
	agreeThrough(t, 20*time.Second, ns[0].nowEpoch(), ns...)

	left, right := ns[:2], ns[2:]
	for _, x := range left {
		for _, y := range right {
			cut(x, y)
		}
	}
	waitFor(t, 5*time.Second, "the split", func() bool {
		for _, x := range left {
			for _, y := range right {
				if linked(x, y) {
					return false
				}
			}
		}
		return true
	})
	splitEpoch := ns[0].nowEpoch()
	side := [2][]msg.ID{}
	// 12 rounds of 250 ms: both sides publish for three epochs, across at least two
	// epoch boundaries.
	for round := 0; round < 12; round++ {
		for i, n := range ns {
			e, err := n.Sign(ctx, post(n.self, fmt.Sprintf("split round %d, node %d", round, i)))
			if err != nil {
				t.Fatal(err)
			}
			side[i/2] = append(side[i/2], e.ID)
		}
		time.Sleep(250 * time.Millisecond)
	}
	lastSplitEpoch := ns[0].nowEpoch()
	if lastSplitEpoch <= splitEpoch {
		t.Fatalf("publishing during the split stayed in epoch %d", splitEpoch)
	}
	// The split held: no link across, and no message crossed it.
	for i, n := range ns {
		mine, other := side[i/2], side[1-i/2]
		if !n.holdsAll(t, mine) {
			waitFor(t, 10*time.Second, fmt.Sprintf("node %d holds its side's posts", i), func() bool { return n.holdsAll(t, mine) })
		}
		for _, id := range other {
			if ok, _ := n.st.Has(id); ok {
				t.Fatalf("node %d holds %s from across the split: the partition leaked", i, id.Short())
			}
		}
	}
	for _, x := range left {
		for _, y := range right {
			if linked(x, y) {
				t.Fatal("a link across the split came back before the heal")
			}
		}
	}

	// What each node had settled when the split ended: settled epochs never change.
	settledAtHeal := make([][]msg.ID, len(ns))
	for i, n := range ns {
		settledAtHeal[i] = n.settledRoots(t)
	}

	tHeal := time.Now()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, x := range left {
		for _, y := range right {
			if err := x.host().Connect(hctx, y.host().AddrInfo()); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids = append(append(ids, side[0]...), side[1]...)
	waitFor(t, 20*time.Second, "every node holds every post after the heal", func() bool {
		for _, n := range ns {
			if !n.holdsAll(t, ids) {
				return false
			}
		}
		return true
	})
	healed := time.Since(tHeal)
	target := ns[0].nowEpoch() + 2
	common := agreeThrough(t, 40*time.Second, target, ns...)
	final := ns[0].settledRoots(t)
	for i := range ns {
		for k, r := range settledAtHeal[i] {
			if final[k] != r {
				t.Fatalf("node %d had settled epoch %d with root %s before the heal; it is now %s", i, k, r.Short(), final[k].Short())
			}
		}
	}
	var alarmed []string
	for i, n := range ns {
		checkPostsInStateQuiet(t, fmt.Sprintf("node %d", i), n, target, ids)
		if st, err := n.Status(ctx); err != nil {
			t.Fatal(err)
		} else {
			alarmed = append(alarmed, st.Alarms...)
		}
	}
	t.Logf("split over epochs %d–%d; %d posts; all held %v after the heal; %d settled epochs agree; took %v",
		splitEpoch, lastSplitEpoch, len(ids), healed.Round(time.Millisecond), common, time.Since(t0).Round(time.Millisecond))

	// A checkpoint carries the signer's root after k−1 only once the signer has
	// settled k−1, so provisional roots signed during the split are never claims and
	// the divergence alarm stays quiet.
	if len(alarmed) > 0 {
		t.Fatalf("divergence alarms after a partition that every node recovered from: %v (disagreeing claims: %v)",
			alarmed, staleClaims(t, ns[0], final, ns, settledAtHeal))
	}
}

// checkPostsInStateQuiet is checkPostsInState without the alarm check.
func checkPostsInStateQuiet(t *testing.T, name string, n *testNode, k int, ids []msg.ID) {
	t.Helper()
	var missing int
	var forks int
	n.read(t, func() {
		r, _ := n.led.Epoch(uint64(k))
		for _, id := range ids {
			if _, ok := r.State.Forum().Get(id); !ok {
				missing++
			}
		}
		for _, a := range n.led.DAG().Authors() {
			forks += len(n.led.DAG().ForksOf(a))
		}
	})
	if missing > 0 {
		t.Errorf("%s: %d of %d posts not in the state after epoch %d", name, missing, len(ids), k)
	}
	if forks > 0 {
		t.Errorf("%s: %d forks", name, forks)
	}
}

// staleClaims reads every checkpoint n holds from the witnesses ws and returns the
// claims that disagree with the agreed settled roots. It fails the test if such a
// claim is about an epoch its signer had settled by the heal (settledAtHeal[i] is
// witness ws[i]'s settled prefix then): that would be a real divergence.
func staleClaims(t *testing.T, n *testNode, final []msg.ID, ws []*testNode, settledAtHeal [][]msg.ID) []string {
	t.Helper()
	var out []string
	n.read(t, func() {
		opts := n.pipe.Options()
		opts.SkipVerify = true
		for i, w := range ws {
			seq, _, ok, err := n.st.AuthorHead(w.self)
			if err != nil || !ok {
				t.Errorf("witness %d: no chain at node 0 (%v)", i, err)
				continue
			}
			err = n.st.Range(w.self, 1, seq, func(r store.Record) bool {
				e, err := msg.Decode(r.Envelope, opts)
				if err != nil {
					t.Errorf("stored envelope of witness %d: %v", i, err)
					return false
				}
				cp, ok := e.Payload.(*msg.Checkpoint)
				if !ok || cp.StateRoot == nil || cp.Epoch == 0 || int(cp.Epoch-1) >= len(final) {
					return true
				}
				j := int(cp.Epoch - 1)
				if *cp.StateRoot == final[j] {
					return true
				}
				if j < len(settledAtHeal[i]) {
					t.Errorf("witness %d claims root %s after epoch %d, which it had settled before the heal with %s",
						i, cp.StateRoot.Short(), j, final[j].Short())
				}
				out = append(out, fmt.Sprintf("witness %d: epoch %d root %s, settled %s", i, j, cp.StateRoot.Short(), final[j].Short()))
				return true
			})
			if err != nil {
				t.Error(err)
			}
		}
	})
	return out
}
