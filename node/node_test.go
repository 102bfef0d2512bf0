package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
)

// settledRoots gives the state roots of the node's settled prefix of epochs.
func (tn *testNode) settledRoots(t testing.TB) []msg.ID {
	var roots []msg.ID
	tn.read(t, func() {
		for k := 0; k < tn.led.Epochs(); k++ {
			r, _ := tn.led.Epoch(uint64(k))
			if !r.Settled {
				break
			}
			roots = append(roots, r.Root())
		}
	})
	return roots
}

// TestThreeNodesAgree runs three real nodes (libp2p on 127.0.0.1, pebble on disk),
// all witnesses, each publishing posts: every node reaches the same state root for
// every epoch, the epochs settle and are live, and every post lands in a batch.
func TestThreeNodesAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("real network, ~15 s")
	}
	g := testGenesis(t, 3, 1500*time.Millisecond)
	ns := []*testNode{startNode(t, g, 0, t.TempDir(), true), startNode(t, g, 1, t.TempDir(), true), startNode(t, g, 2, t.TempDir(), true)}
	connectAll(t, ns...)

	ctx := context.Background()
	var ids []msg.ID
	for round := 0; round < 10; round++ {
		for i, n := range ns {
			e, err := n.Sign(ctx, post(n.self, fmt.Sprintf("post %d by node %d", round, i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		time.Sleep(300 * time.Millisecond)
	}
	lastTs := uint64(time.Now().UnixMilli())
	target := int(ns[0].ecfg.EpochOf(lastTs)) + 2
	waitFor(t, 40*time.Second, fmt.Sprintf("epoch %d settled at every node", target), func() bool {
		for _, n := range ns {
			if len(n.settledRoots(t)) <= target {
				return false
			}
		}
		return true
	})
	ref := ns[0].settledRoots(t)
	for i, n := range ns[1:] {
		roots := n.settledRoots(t)
		for k := 0; k <= target; k++ {
			if roots[k] != ref[k] {
				t.Fatalf("epoch %d: node %d root %s, node 0 root %s", k, i+1, roots[k].Short(), ref[k].Short())
			}
		}
	}
	for i, n := range ns {
		var missing, live int
		n.read(t, func() {
			r, _ := n.led.Epoch(uint64(target))
			for _, id := range ids {
				if _, ok := r.State.Forum().Get(id); !ok {
					missing++
				}
			}
			live = int(r.State.LiveEpochs())
		})
		if missing > 0 {
			t.Errorf("node %d: %d of %d posts not in the state after settled epoch %d", i, missing, len(ids), target)
		}
		// Epoch 0 is never live; with every witness online every later epoch is.
		if live != target {
			t.Errorf("node %d: %d live epochs up to %d, want %d", i, live, target, target)
		}
		st, err := n.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Alarms) > 0 {
			t.Errorf("node %d alarms: %v", i, st.Alarms)
		}
		if st.Peers != 2 {
			t.Errorf("node %d: %d peers, want 2", i, st.Peers)
		}
		if st.LastCheckpoint == nil || *st.LastCheckpoint < uint64(target) {
			t.Errorf("node %d: last checkpoint %v, want ≥ %d", i, st.LastCheckpoint, target)
		}
	}
}
