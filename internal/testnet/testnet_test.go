package testnet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// acked is a message a node acknowledged (Sign returned: durable).
type acked struct {
	id     msg.ID
	node   int
	signed int64 // virtual ms
}

func newNet(t *testing.T, cfg Config) *Net {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n
}

// withdraw is a small payload with a real effect (it burns one µcredit), so batches
// change state roots.
func withdraw(n *Net, tag uint64) msg.Payload {
	ref := make([]byte, 8)
	for i := range ref {
		ref[i] = byte(tag >> (8 * i))
	}
	return &msg.Withdraw{Amount: 1, Gateway: n.Gateway, Ref: ref}
}

// signSome has each running node in who sign one message with probability pct/100.
func signSome(t *testing.T, n *Net, rng *rand.Rand, who []int, pct int, out *[]acked) {
	t.Helper()
	ctx := context.Background()
	for _, i := range who {
		if !n.Up(i) || rng.IntN(100) >= pct {
			continue
		}
		e, err := n.Sign(ctx, i, withdraw(n, uint64(len(*out))))
		if err != nil {
			t.Fatalf("node %d sign: %v", i, err)
		}
		*out = append(*out, acked{id: e.ID, node: i, signed: n.Sim.NowMs()})
	}
}

// agreedUpTo checks that every node computed epochs 0..k with the same state roots,
// all settled, and returns node 0's epochs.
func agreedUpTo(t *testing.T, n *Net, k uint64) []api.Epoch {
	t.Helper()
	ctx := context.Background()
	ref, err := n.Epochs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(ref)) <= k {
		t.Fatalf("node 0 computed %d epochs, want > %d", len(ref), k)
	}
	for i := range n.Members {
		es, err := n.Epochs(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(es)) <= k {
			t.Fatalf("node %d computed %d epochs, want > %d", i, len(es), k)
		}
		for j := uint64(0); j <= k; j++ {
			if es[j].StateRoot != ref[j].StateRoot || es[j].Batch != ref[j].Batch || es[j].Live != ref[j].Live {
				t.Errorf("node %d epoch %d: root %.8s batch %d live %v; node 0: root %.8s batch %d live %v", i, j,
					es[j].StateRoot, es[j].Batch, es[j].Live, ref[j].StateRoot, ref[j].Batch, ref[j].Live)
			}
			if !es[j].Settled {
				t.Errorf("node %d epoch %d is not settled", i, j)
			}
		}
	}
	return ref[:k+1]
}

// batchOf maps every message in node i's batches 0..k to its epoch.
func batchOf(t *testing.T, n *Net, i int, k uint64) map[msg.ID]uint64 {
	t.Helper()
	out := map[msg.ID]uint64{}
	for j := uint64(0); j <= k; j++ {
		e, err := n.Node(i).Epoch(context.Background(), j)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range e.IDs {
			id, err := msg.ParseID(s)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = j
		}
	}
	return out
}

// nothingLost checks that every node holds every acknowledged message and that all
// of them are in node 0's batches up to k.
func nothingLost(t *testing.T, n *Net, acks []acked, k uint64) map[msg.ID]uint64 {
	t.Helper()
	for _, m := range n.Members {
		for _, a := range acks {
			ok, err := m.Store.Has(a.id)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Errorf("node %d lacks %s acknowledged by node %d at %d", m.Index, a.id.Short(), a.node, a.signed)
			}
		}
	}
	in := batchOf(t, n, 0, k)
	for _, a := range acks {
		if _, ok := in[a.id]; !ok {
			t.Errorf("message %s acknowledged by node %d at %d is in no batch up to epoch %d", a.id.Short(), a.node, a.signed, k)
		}
	}
	return in
}

func computed(t *testing.T, n *Net) uint64 {
	t.Helper()
	low := ^uint64(0)
	for i := range n.Members {
		es, err := n.Epochs(context.Background(), i)
		if err != nil {
			t.Fatal(err)
		}
		low = min(low, uint64(len(es)))
	}
	return low - 1
}

// TestConvergence32: 32 nodes (4 witnesses) publish through random partitions, link
// delays, and crashes with restarts from the data dir; after the network heals,
// every node has the same state root for every epoch up to the newest common one,
// every epoch there is settled, and every acknowledged message is held by all and
// is in a batch.
func TestConvergence32(t *testing.T) {
	if testing.Short() {
		t.Skip("32 nodes")
	}
	for _, seed := range seeds(t, 7) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { convergence(t, seed) })
	}
}

// seeds gives the seeds to run: def, or the comma-separated list in
// $TESTNET_SEEDS (for sweeps: TESTNET_SEEDS=1,2,3 go test -run Convergence32).
func seeds(t *testing.T, def uint64) []uint64 {
	env := os.Getenv("TESTNET_SEEDS")
	if env == "" {
		return []uint64{def}
	}
	var out []uint64
	for _, f := range strings.Split(env, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			t.Fatalf("TESTNET_SEEDS: %v", err)
		}
		out = append(out, v)
	}
	return out
}

func convergence(t *testing.T, seed uint64) {
	const nodes, chaosEpochs = 32, 14
	n := newNet(t, Config{Nodes: nodes, Witnesses: 4, Seed: seed})
	rng := rand.New(rand.NewPCG(seed, 99))
	ctx := context.Background()
	all := make([]int, nodes)
	for i := range all {
		all[i] = i
	}
	var acks []acked
	var crashes, partitions, restarts int
	crashedAt := map[int]uint64{}
	step := time.Duration(n.Cfg.EpochMs/4) * time.Millisecond
	t0 := time.Now()
	var e uint64
	crash := func(i int) {
		if !n.Up(i) {
			return
		}
		// Sign just before crashing: the message is acknowledged (durable) but dies in
		// flight with its node; only sync can carry it.
		signSome(t, n, rng, []int{i}, 100, &acks)
		if err := n.Crash(i); err != nil {
			t.Fatal(err)
		}
		crashedAt[i] = e
		crashes++
	}
	for e = 0; e < chaosEpochs; e++ {
		// One disturbance per epoch: two scripted partitions (witnesses split 2–2 for
		// two epochs, so neither side has a quorum; then 3–1, so one side stays live),
		// a scripted crash, the rest chosen by the seed.
		switch r := rng.IntN(10); {
		case e == 2:
			n.Partition(append([]int{0, 1}, all[4:18]...))
			partitions++
		case e == 3:
			// The 2–2 split holds for a second epoch.
		case e == 4:
			n.Partition(append([]int{0}, all[4:10]...))
			partitions++
		case e == 6:
			// A scripted crash of a witness and a node, whatever the seed draws.
			crash(3)
			crash(4 + rng.IntN(nodes-4))
		case r < 3:
			perm := rng.Perm(nodes)
			cut := 4 + rng.IntN(nodes-8)
			n.Partition(perm[:cut])
			partitions++
		case r < 5:
			n.Heal()
		case r < 7:
			lo := time.Duration(1+rng.IntN(20)) * time.Millisecond
			n.SetDelay(lo, lo+time.Duration(rng.IntN(80))*time.Millisecond)
		default:
			for c := 1 + rng.IntN(3); c > 0; c-- {
				crash(rng.IntN(nodes))
			}
		}
		for _, i := range keysInt(crashedAt) {
			if e >= crashedAt[i]+1+uint64(rng.IntN(3)) {
				if err := n.Restart(ctx, i); err != nil {
					t.Fatal(err)
				}
				delete(crashedAt, i)
				restarts++
			}
		}
		for s := 0; s < 4; s++ {
			signSome(t, n, rng, all, 20, &acks)
			if err := n.Advance(step); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Recovery: everything up, connected, ordinary delays; messages keep flowing for
	// a while, then only checkpoints.
	n.Heal()
	n.SetDelay(5*time.Millisecond, 60*time.Millisecond)
	for _, i := range keysInt(crashedAt) {
		if err := n.Restart(ctx, i); err != nil {
			t.Fatal(err)
		}
		restarts++
	}
	for s := 0; s < 8; s++ {
		signSome(t, n, rng, all, 20, &acks)
		if err := n.Advance(step); err != nil {
			t.Fatal(err)
		}
	}
	lastSign := n.EpochAt(n.Sim.NowMs())
	if err := n.RunEpochs(6); err != nil {
		t.Fatal(err)
	}
	k := computed(t, n) - 2
	if k < lastSign+2 {
		t.Fatalf("common computed epoch %d, want ≥ %d", k, lastSign+2)
	}
	t.Logf("real %v; %d acknowledged messages, %d partitions, %d crashes, %d restarts; network %+v; sim %+v",
		time.Since(t0).Round(time.Millisecond), len(acks), partitions, crashes, restarts, n.Network.Stats(), n.Sim.Stats())
	if partitions == 0 || crashes == 0 || n.Network.Stats().Dropped == 0 {
		t.Fatalf("the schedule disturbed nothing (partitions %d, crashes %d, dropped %d): pick another seed",
			partitions, crashes, n.Network.Stats().Dropped)
	}
	eps := agreedUpTo(t, n, k)
	nothingLost(t, n, acks, k)
	var notLive []uint64
	for _, e := range eps[1:] {
		if !e.Live {
			notLive = append(notLive, e.Epoch)
		}
	}
	if len(notLive) == 0 {
		t.Errorf("every epoch was live: the 2–2 witness split should have stopped some")
	}
	t.Logf("epochs 0..%d agree; not live: %v; root after %d: %s", k, notLive, k, eps[k].StateRoot)
}

// TestWitnessOutage: with two of four witnesses down, no quorum signs, so epochs stop
// being live and nothing new enters a batch; when they return they sign empty
// checkpoints for the epochs they missed, epochs are live again, and what was
// published during the outage enters the batches.
func TestWitnessOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("32 nodes")
	}
	const nodes = 32
	n := newNet(t, Config{Nodes: nodes, Witnesses: 4, Seed: 11})
	rng := rand.New(rand.NewPCG(11, 5))
	ctx := context.Background()
	all := make([]int, nodes)
	for i := range all {
		all[i] = i
	}
	var acks []acked
	step := time.Duration(n.Cfg.EpochMs/4) * time.Millisecond
	run := func(epochs int) {
		for s := 0; s < 4*epochs; s++ {
			signSome(t, n, rng, all, 15, &acks)
			if err := n.Advance(step); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(5)
	down := []int{1, 2} // witnesses are nodes 0..3
	crashMs := n.Sim.NowMs() + int64(n.Cfg.EpochMs/2)
	if err := n.RunUntil(crashMs); err != nil {
		t.Fatal(err)
	}
	for _, i := range down {
		if err := n.Crash(i); err != nil {
			t.Fatal(err)
		}
	}
	crashEpoch := n.EpochAt(crashMs)
	run(6)
	var during []acked
	for _, a := range acks {
		if a.signed > crashMs {
			during = append(during, a)
		}
	}
	// While they are down: epochs whose checkpoints were all due after the crash are
	// not live, and their batches are empty, at every running node.
	ctx2 := context.Background()
	es, err := n.Epochs(ctx2, 0)
	if err != nil {
		t.Fatal(err)
	}
	lastDown := uint64(len(es)) - 1
	for _, i := range n.Running() {
		es, err := n.Epochs(ctx2, i)
		if err != nil {
			t.Fatal(err)
		}
		for k := crashEpoch + 2; k < uint64(len(es)); k++ {
			if es[k].Live || es[k].Batch != 0 {
				t.Errorf("node %d epoch %d during the outage: live %v, batch %d; want not live, empty", i, k, es[k].Live, es[k].Batch)
			}
		}
	}
	returnMs := n.Sim.NowMs()
	for _, i := range down {
		if err := n.Restart(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	returnEpoch := n.EpochAt(returnMs)
	run(4)
	if err := n.RunEpochs(4); err != nil {
		t.Fatal(err)
	}
	k := computed(t, n) - 2
	eps := agreedUpTo(t, n, k)
	var liveBefore, liveAfter []uint64
	for _, e := range eps {
		switch {
		case e.Epoch >= 1 && e.Epoch < crashEpoch:
			if !e.Live {
				t.Errorf("epoch %d before the outage is not live", e.Epoch)
			}
			liveBefore = append(liveBefore, e.Epoch)
		case e.Epoch >= crashEpoch+2 && e.Epoch <= lastDown:
			if e.Live {
				t.Errorf("epoch %d during the outage is live after the return", e.Epoch)
			}
		case e.Epoch >= returnEpoch+2:
			if !e.Live {
				t.Errorf("epoch %d after the return is not live", e.Epoch)
			}
			liveAfter = append(liveAfter, e.Epoch)
		}
	}
	if len(liveAfter) < 3 {
		t.Fatalf("only %d epochs after the return were checked (up to %d)", len(liveAfter), k)
	}
	// The returning witnesses signed an empty checkpoint (no heads, no root) for every
	// epoch they missed, in order, before any normal one.
	for _, i := range down {
		empties := emptyCheckpoints(t, n, i)
		for j := crashEpoch; j < returnEpoch; j++ {
			if !empties[j] {
				t.Errorf("witness %d signed no empty checkpoint for missed epoch %d (empty: %v)", i, j, keys(empties))
			}
		}
	}
	in := nothingLost(t, n, acks, k)
	for _, a := range during {
		if b := in[a.id]; b <= lastDown {
			t.Errorf("message %s published during the outage is in batch %d, before the witnesses returned", a.id.Short(), b)
		}
	}
	t.Logf("crash at epoch %d, return at %d; live before %v, live after %v; %d messages during the outage; sim %+v",
		crashEpoch, returnEpoch, liveBefore, liveAfter, len(during), n.Sim.Stats())
}

// emptyCheckpoints reads node i's own chain and gives the epochs of its empty
// checkpoints.
func emptyCheckpoints(t *testing.T, n *Net, i int) map[uint64]bool {
	t.Helper()
	m := n.Members[i]
	out := map[uint64]bool{}
	err := m.Store.Range(m.Account, 1, ^uint64(0), func(r store.Record) bool {
		e, err := msg.Decode(r.Envelope, msg.Options{Network: n.Genesis.NetworkID()})
		if err != nil {
			t.Fatal(err)
		}
		if cp, ok := e.Payload.(*msg.Checkpoint); ok && len(cp.Heads) == 0 && cp.HeadsBlob == nil && cp.StateRoot == nil {
			out[cp.Epoch] = true
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(m map[uint64]bool) []uint64 {
	var out []uint64
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keysInt(m map[int]uint64) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
