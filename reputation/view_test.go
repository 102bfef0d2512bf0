package reputation

import (
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// TestSortedViewSlots: Snapshot, Rows and Range, which read balances through the slots
// cached with the sorted account list, agree with Get across gains, burns to zero
// (dead slots, and enough of them for a renumbering), equivocations, decay and clones.
func TestSortedViewSlots(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		churn(t, 40, 200, func(l *Ledger) { _ = l.Snapshot() }, func(j int, v *Ledger) {
			snap, rows := v.Snapshot(), v.Rows()
			if snap.Len() != v.Len() || len(rows) != v.Len() {
				t.Fatalf("version %d: snapshot %d, rows %d, accounts %d", j, snap.Len(), len(rows), v.Len())
			}
			var total uint64
			for i := range snap.Len() {
				e := snap.At(i)
				b := v.Get(e.Account)
				if e.S != b.Bal || snap.Get(e.Account) != b.Bal || rows[i].Account != e.Account ||
					rows[i].Balance != b.Bal || rows[i].Locked != b.Locked {
					t.Fatalf("version %d: %s snapshot %d, row %+v, balance %+v", j, e.Account, e.S, rows[i], b)
				}
				total += b.Bal
			}
			if snap.Total() != total {
				t.Fatalf("version %d: T %d, Σ %d", j, snap.Total(), total)
			}
			n := 0
			v.Range(func(a msg.Account, b Balance) bool {
				if b != v.Get(a) {
					t.Fatalf("version %d: Range gives %s %+v, Get %+v", j, a, b, v.Get(a))
				}
				n++
				return true
			})
			if n != v.Len() {
				t.Fatalf("version %d: Range visits %d of %d", j, n, v.Len())
			}
		})
	})
}
