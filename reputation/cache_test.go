package reputation

import (
	"bytes"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// TestAccountsCache: the cached sorted account list always equals the sorted keys of
// the balances, across gains, burns to zero, equivocations, decay and clones (a clone
// shares the cache until either side changes membership).
func TestAccountsCache(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		accts := make([]msg.Account, 6)
		for i := range accts {
			accts[i][0], accts[i][31] = byte(200-i*30), byte(i)
		}
		vs := []*Ledger{New()}
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			i := rapid.IntRange(0, len(vs)-1).Draw(t, "version")
			l := vs[i]
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
				_ = l.Accounts() // fill the cache
			case 6:
				vs = append(vs, l.Clone())
			}
			for j, v := range vs {
				var want []msg.Account
				for a := range v.bals.Keys() {
					want = append(want, a)
				}
				slices.SortFunc(want, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
				if got := v.Accounts(); !slices.Equal(got, want) {
					t.Fatalf("version %d: Accounts %d entries, want %d (or wrong order)", j, len(got), len(want))
				}
			}
		}
	})
}
