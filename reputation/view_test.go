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
		accts := make([]msg.Account, 40)
		for i := range accts {
			accts[i][0], accts[i][31] = byte(250-i*6), byte(i)
		}
		vs := []*Ledger{New()}
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			l := vs[rapid.IntRange(0, len(vs)-1).Draw(t, "version")]
			a := accts[rapid.IntRange(0, len(accts)-1).Draw(t, "acct")]
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0, 1:
				if err := l.Genesis(a, rapid.Uint64Range(1, 1000).Draw(t, "amount")); err != nil {
					t.Fatal(err)
				}
			case 2:
				l.BurnFree(a, rapid.Uint64Range(0, 1000).Draw(t, "burn"))
			case 3:
				l.Equivocate(a)
			case 4:
				l.Decay(rapid.Uint64Range(0, PPM).Draw(t, "ppm"))
			case 5:
				_ = l.Snapshot() // fill the cache
			case 6:
				vs = append(vs, l.Clone())
			}
			for j, v := range vs {
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
			}
		}
	})
}
