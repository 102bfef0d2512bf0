package state

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

// TestPostRuns adds batches of ids epoch by epoch, keeping every version, and checks
// that each version still lists exactly its ids in order (runs are shared, never
// written), and that the number of runs stays logarithmic.
func TestPostRuns(t *testing.T) {
	var versions [][][]msg.ID
	var want [][]msg.ID
	var runs [][]msg.ID
	var all []msg.ID
	next := uint64(1)
	for epoch := range 120 {
		var add []msg.ID
		for range (epoch*7)%23 + epoch%3*100 {
			var id msg.ID
			binary.BigEndian.PutUint64(id[:], next*0x9e3779b97f4a7c15)
			next++
			add = append(add, id)
		}
		all = append(all, add...)
		runs = addRun(runs, add)
		versions = append(versions, runs)
		w := slices.Clone(all)
		slices.SortFunc(w, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
		want = append(want, w)
		if len(runs) > 20 {
			t.Fatalf("epoch %d: %d runs for %d ids", epoch, len(runs), len(all))
		}
	}
	for i, v := range versions {
		s := &State{postRuns: v}
		if got := s.sortedPostIDs(); !slices.Equal(got, want[i]) {
			t.Fatalf("version %d: %d ids, want %d (or order differs)", i, len(got), len(want[i]))
		}
	}
}
