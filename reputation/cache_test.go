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
		churn(t, 6, 80, func(l *Ledger) { _ = l.Accounts() }, func(j int, v *Ledger) {
			var want []msg.Account
			for a := range v.bals.Keys() {
				want = append(want, a)
			}
			slices.SortFunc(want, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
			if got := v.Accounts(); !slices.Equal(got, want) {
				t.Fatalf("version %d: Accounts %d entries, want %d (or wrong order)", j, len(got), len(want))
			}
		})
	})
}

// churn runs up to steps random gains, burns, equivocations, decays, cache fills (fill)
// and clones over n accounts, calling check on every version after each step.
func churn(t *rapid.T, n, steps int, fill func(*Ledger), check func(j int, v *Ledger)) {
	accts := make([]msg.Account, n)
	for i := range accts {
		accts[i][0], accts[i][31] = byte(250-i*(200/n)), byte(i)
	}
	vs := []*Ledger{New()}
	for range rapid.IntRange(1, steps).Draw(t, "steps") {
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
			fill(l)
		case 6:
			vs = append(vs, l.Clone())
		}
		for j, v := range vs {
			check(j, v)
		}
	}
}
