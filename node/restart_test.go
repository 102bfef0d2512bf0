package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
)

// TestRestartResumes stops a node and restarts it from its data dir: it keeps every
// message it acknowledged (its own, and the peer's it accepted), resumes its own chain
// at the next seq (no fork anywhere), and the two nodes agree on settled state roots.
func TestRestartResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("real network, ~10 s")
	}
	g := testGenesis(t, 2, 1000*time.Millisecond)
	dirA := t.TempDir()
	a := startNode(t, g, 0, dirA, true)
	b := startNode(t, g, 1, t.TempDir(), true)
	connectAll(t, a, b)
	ctx := context.Background()

	var acked []msg.ID
	for i := 0; i < 5; i++ {
		e, err := a.Sign(ctx, post(a.self, fmt.Sprintf("a%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, e.ID)
		e, err = b.Sign(ctx, post(b.self, fmt.Sprintf("b%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, e.ID) // a acknowledges these by Accepting them
	}
	waitFor(t, 20*time.Second, "a holds b's posts", func() bool {
		for _, id := range acked {
			if ok, _ := a.st.Has(id); !ok {
				return false
			}
		}
		return true
	})
	var seqBefore uint64
	a.read(t, func() { seqBefore = a.own.seq })
	if seqBefore < 5 {
		t.Fatalf("own seq %d before restart, want ≥ 5", seqBefore)
	}
	a.stop(t)
	// Stay down across a duty time or two: on return the node owes empty checkpoints.
	time.Sleep(2500 * time.Millisecond)

	a2 := startNode(t, g, 0, dirA, true)
	var seqAfter uint64
	a2.read(t, func() { seqAfter = a2.own.seq })
	if seqAfter != seqBefore {
		t.Fatalf("own seq %d after restart, want %d", seqAfter, seqBefore)
	}
	for _, id := range acked {
		if ok, _ := a2.st.Has(id); !ok {
			t.Fatalf("acknowledged message %s lost across the restart", id.Short())
		}
	}
	connectAll(t, a2, b)
	e, err := a2.Sign(ctx, post(a2.self, "after restart"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Body.Seq <= seqBefore {
		t.Fatalf("first message after restart has seq %d, want > %d", e.Body.Seq, seqBefore)
	}
	waitFor(t, 20*time.Second, "b holds a's post-restart message", func() bool {
		ok, _ := b.st.Has(e.ID)
		return ok
	})
	target := int(a2.ecfg.EpochOf(uint64(time.Now().UnixMilli()))) + 2
	waitFor(t, 30*time.Second, "both settle past the restart", func() bool {
		return len(a2.settledRoots(t)) > target && len(b.settledRoots(t)) > target
	})
	ra, rb := a2.settledRoots(t), b.settledRoots(t)
	for k := 0; k <= target; k++ {
		if ra[k] != rb[k] {
			t.Fatalf("epoch %d: roots differ after restart: %s vs %s", k, ra[k].Short(), rb[k].Short())
		}
	}
	if v := testutilCount(a2, "empty_checkpoint"); v < 1 {
		t.Errorf("%v empty checkpoints signed after downtime, want ≥ 1", v)
	}
	for _, n := range []*testNode{a2, b} {
		n.read(t, func() {
			if f := n.led.DAG().ForksOf(a2.self); len(f) > 0 {
				t.Errorf("fork of the restarted node's chain at seq %d", f[0].Seq)
			}
			if n.own.keyInUse {
				t.Error("key_in_use raised")
			}
		})
	}
}
