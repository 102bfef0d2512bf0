package testnet

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
)

func holds(t *testing.T, n *Net, i int, id msg.ID) bool {
	t.Helper()
	ok, err := n.Members[i].Store.Has(id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func peerIDs(n *Net, i int) []string {
	var out []string
	for _, p := range n.Node(i).Transport().Peers() {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}

func idsOf(n *Net, is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, n.Members[i].Account.String())
	}
	slices.Sort(out)
	return out
}

// Gossip stops at a partition, Peers shows it, and healing brings the message over
// by sync; a crashed node drops out of Peers, and after a restart from its store it
// catches up and continues its own chain without reusing a sequence number.
func TestPartitionHealCrash(t *testing.T) {
	ctx := context.Background()
	n := newNet(t, Config{Nodes: 3, Witnesses: 1, Seed: 3})
	if got, want := peerIDs(n, 0), idsOf(n, 1, 2); !slices.Equal(got, want) {
		t.Fatalf("peers of 0: %v, want %v", got, want)
	}
	n.Partition([]int{0})
	if got := peerIDs(n, 0); len(got) != 0 {
		t.Fatalf("partitioned node 0 has peers %v", got)
	}
	if got, want := peerIDs(n, 1), idsOf(n, 2); !slices.Equal(got, want) {
		t.Fatalf("peers of 1: %v, want %v", got, want)
	}
	e, err := n.Sign(ctx, 0, withdraw(n, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Advance(500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if holds(t, n, 1, e.ID) || holds(t, n, 2, e.ID) {
		t.Fatal("a message crossed the partition")
	}
	if d := n.Network.Stats().Dropped; d < 2 {
		t.Fatalf("dropped %d deliveries, want ≥ 2", d)
	}
	n.Heal()
	if err := n.Advance(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !holds(t, n, 1, e.ID) || !holds(t, n, 2, e.ID) {
		t.Fatal("healing did not sync the message")
	}

	e2, err := n.Sign(ctx, 2, withdraw(n, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Crash(2); err != nil {
		t.Fatal(err)
	}
	if got, want := peerIDs(n, 1), idsOf(n, 0); !slices.Equal(got, want) {
		t.Fatalf("peers of 1 with 2 down: %v, want %v", got, want)
	}
	if err := n.Advance(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if holds(t, n, 0, e2.ID) {
		t.Fatal("a message signed just before the crash was delivered by a dead node")
	}
	e3, err := n.Sign(ctx, 0, withdraw(n, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Restart(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := n.Advance(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !holds(t, n, 2, e3.ID) || !holds(t, n, 0, e2.ID) || !holds(t, n, 1, e2.ID) {
		t.Fatal("restart did not sync both ways")
	}
	e4, err := n.Sign(ctx, 2, withdraw(n, 4))
	if err != nil {
		t.Fatal(err)
	}
	if e4.Body.Seq != e2.Body.Seq+1 {
		t.Fatalf("restarted node signed seq %d after %d", e4.Body.Seq, e2.Body.Seq)
	}
}

// A blob held by one node is fetched by another through the transport, in chunks,
// and verified; a partition makes it unreachable.
func TestFetchBlob(t *testing.T) {
	ctx := context.Background()
	n := newNet(t, Config{Nodes: 3, Witnesses: 1, Seed: 4})
	content := bytes.Repeat([]byte("guild testnet blob "), 40_000) // 760,000 bytes: three chunks
	id, err := n.Node(0).PutBlob(ctx, content)
	if err != nil {
		t.Fatal(err)
	}
	n.Partition([]int{0})
	if err := n.Node(1).Transport().FetchBlob(ctx, id); err == nil {
		t.Fatal("fetched a blob across a partition")
	}
	n.Heal()
	got, err := n.Node(1).Blob(ctx, id) // the node fetches what it lacks
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatalf("fetched %d bytes, want the %d stored", len(got), len(content))
	}
	if b := n.Network.Stats().Blobs; b != 1 {
		t.Fatalf("%d blobs copied, want 1", b)
	}
}

// The same seed gives the same per-epoch state roots, partitions and crashes
// included: virtual receive times do not depend on goroutine scheduling.
func TestDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("two runs")
	}
	run := func() []string {
		ctx := context.Background()
		n := newNet(t, Config{Nodes: 8, Witnesses: 4, Seed: 21})
		step := 250 * time.Millisecond
		for s := 0; s < 32; s++ {
			switch s {
			case 6:
				n.Partition([]int{0, 1, 4, 5})
			case 12:
				if err := n.Crash(6); err != nil {
					t.Fatal(err)
				}
			case 16:
				n.Heal()
			case 18:
				if err := n.Restart(ctx, 6); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n.Members {
				if n.Up(i) && (s+i)%3 == 0 {
					if _, err := n.Sign(ctx, i, withdraw(n, uint64(s*100+i))); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := n.Advance(step); err != nil {
				t.Fatal(err)
			}
		}
		es, err := n.Epochs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var roots []string
		for _, e := range es {
			roots = append(roots, e.StateRoot)
		}
		return roots
	}
	a, b := run(), run()
	if len(a) < 6 || !slices.Equal(a, b) {
		t.Fatalf("two runs with one seed differ:\n%v\n%v", a, b)
	}
}
