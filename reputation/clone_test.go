package reputation

import (
	"fmt"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// TestCloneIsolation: clones share the account numbering until one of them changes
// membership, so writes to any version (gains, burns to zero, locks, equivocations,
// decay, slot reuse after renumbering) never show in another, and every version keeps
// its invariants.
func TestCloneIsolation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		accts := make([]msg.Account, 24)
		for i := range accts {
			accts[i][0], accts[i][31] = byte(i*37), byte(i)
		}
		vs := []*Ledger{New()}
		want := []map[msg.Account]Balance{{}}
		for range rapid.IntRange(1, 150).Draw(t, "steps") {
			i := rapid.IntRange(0, len(vs)-1).Draw(t, "version")
			l := vs[i]
			a := accts[rapid.IntRange(0, len(accts)-1).Draw(t, "acct")]
			amount := rapid.Uint64Range(0, 1000).Draw(t, "amount")
			switch rapid.IntRange(0, 7).Draw(t, "op") {
			case 0, 1:
				if amount > 0 {
					if err := l.Genesis(a, amount); err != nil {
						t.Fatal(err)
					}
				}
			case 2:
				l.BurnFree(a, amount)
			case 3:
				l.LockUpTo(a, amount)
			case 4:
				_ = l.Unlock(a, min(amount, l.Get(a).Locked))
			case 5:
				l.Equivocate(a)
			case 6:
				l.Decay(rapid.Uint64Range(0, PPM).Draw(t, "ppm"))
			case 7:
				vs = append(vs, l.Clone())
				want = append(want, nil)
			}
			for j, v := range vs {
				if j == i || want[j] == nil {
					// The version just written (or made) becomes its own expectation.
					w := map[msg.Account]Balance{}
					for _, a := range accts {
						if b := v.Get(a); b != (Balance{}) {
							w[a] = b
						}
					}
					want[j] = w
				}
				if err := v.Check(); err != nil {
					t.Fatalf("version %d: %v", j, err)
				}
				rows := v.Rows()
				if len(rows) != len(want[j]) || v.Len() != len(want[j]) {
					t.Fatalf("version %d: %d rows, Len %d, want %d", j, len(rows), v.Len(), len(want[j]))
				}
				for _, r := range rows {
					if b := want[j][r.Account]; b.Bal != r.Balance || b.Locked != r.Locked {
						t.Fatalf("version %d: %s holds %d (locked %d), want %d (%d)", j, r.Account, r.Balance, r.Locked, b.Bal, b.Locked)
					}
				}
			}
		}
	})
}

// TestSlotChurn: accounts that leave and come back leave dead slots behind until the
// ledger renumbers its accounts; balances, rows and invariants hold throughout, and a
// clone taken before the renumbering is unaffected by it.
func TestSlotChurn(t *testing.T) {
	l := New()
	stay, churn := msg.Account{1}, msg.Account{2}
	if err := l.Genesis(stay, 7); err != nil {
		t.Fatal(err)
	}
	var old *Ledger
	for i := range 100 {
		if err := l.Genesis(churn, 5); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			old = l.Clone()
		}
		if got := l.BurnFree(churn, 5); got != 5 {
			t.Fatalf("round %d: burned %d", i, got)
		}
		if err := l.Check(); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if err := l.Genesis(churn, 3); err != nil {
		t.Fatal(err)
	}
	if l.bals.Slots() > 2*l.bals.Len()+16 {
		t.Fatalf("%d slots for %d accounts: never renumbered", l.bals.Slots(), l.bals.Len())
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if l.Get(stay).Bal != 7 || l.Get(churn).Bal != 3 || l.Len() != 2 {
		t.Fatalf("balances %d and %d, %d accounts", l.Get(stay).Bal, l.Get(churn).Bal, l.Len())
	}
	if err := old.Check(); err != nil {
		t.Fatal(err)
	}
	if old.Get(stay).Bal != 7 || old.Get(churn).Bal != 5 || old.Len() != 2 {
		t.Fatalf("clone: balances %d and %d, %d accounts", old.Get(stay).Bal, old.Get(churn).Bal, old.Len())
	}
}

// TestConcurrentClones: a published ledger may be cloned from several goroutines at
// once, and each clone may then change membership on its own (run with -race).
func TestConcurrentClones(t *testing.T) {
	l := New()
	for i := range 100 {
		if err := l.Genesis(msg.Account{byte(i), 1}, 10); err != nil {
			t.Fatal(err)
		}
	}
	l.Clone() // l is published: a later clone's first write must copy the numbering
	done := make(chan error)
	for g := range 4 {
		go func() {
			c := l.Clone()
			c.Equivocate(msg.Account{byte(g), 1})
			if err := c.Genesis(msg.Account{byte(g), 2}, 5); err != nil {
				done <- err
				return
			}
			c.Decay(PPM / 10)
			for i := range 100 {
				if b := l.Get(msg.Account{byte(i), 1}); b.Bal != 10 {
					done <- fmt.Errorf("goroutine %d: source changed: %d holds %d", g, i, b.Bal)
					return
				}
			}
			done <- c.Check()
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Check(); err != nil || l.Len() != 100 {
		t.Fatalf("source: %v, %d accounts", err, l.Len())
	}
}
