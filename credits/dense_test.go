package credits

import (
	"fmt"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// TestBalancesVersions: clones share the numbering of accounts until one of them
// changes membership; writes to any version (new accounts, balances dropping to zero,
// renumbering after churn) never show in another, and each version lists exactly its
// non-zero balances.
func TestBalancesVersions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		accts := make([]msg.Account, 6)
		for i := range accts {
			accts[i][0] = byte(i + 1)
		}
		vs := []*balances{newBalances()}
		want := []map[msg.Account]uint64{{}}
		for range rapid.IntRange(1, 400).Draw(t, "steps") {
			i := rapid.IntRange(0, len(vs)-1).Draw(t, "version")
			if rapid.IntRange(0, 9).Draw(t, "clone") == 0 {
				vs = append(vs, vs[i].clone())
				w := map[msg.Account]uint64{}
				for a, v := range want[i] {
					w[a] = v
				}
				want = append(want, w)
				continue
			}
			a := accts[rapid.IntRange(0, len(accts)-1).Draw(t, "acct")]
			v := rapid.Uint64Range(0, 3).Draw(t, "value")
			vs[i].set(a, v)
			if v == 0 {
				delete(want[i], a)
			} else {
				want[i][a] = v
			}
			for j, b := range vs {
				if b.len() != len(want[j]) {
					t.Fatalf("version %d: %d accounts, want %d", j, b.len(), len(want[j]))
				}
				n := 0
				b.each(func(a msg.Account, v uint64) {
					n++
					if want[j][a] != v {
						t.Fatalf("version %d: %x holds %d, want %d", j, a[:1], v, want[j][a])
					}
				})
				if n != len(want[j]) {
					t.Fatalf("version %d: each gave %d, want %d", j, n, len(want[j]))
				}
				for _, a := range accts {
					if b.get(a) != want[j][a] {
						t.Fatalf("version %d: get %x = %d, want %d", j, a[:1], b.get(a), want[j][a])
					}
				}
				if len(b.keys) > 2*len(b.pos)+17 {
					t.Fatalf("version %d: %d slots for %d accounts", j, len(b.keys), len(b.pos))
				}
			}
		}
	})
}

// TestBalancesChurn: an account leaving and coming back over and over leaves dead
// slots until a renumbering reclaims them; a clone taken before is unaffected.
func TestBalancesChurn(t *testing.T) {
	b := newBalances()
	stay, churn := msg.Account{1}, msg.Account{2}
	b.set(stay, 7)
	var old *balances
	for i := range 100 {
		b.set(churn, 5)
		if i == 10 {
			old = b.clone()
		}
		b.set(churn, 0)
		if len(b.keys) > 2*len(b.pos)+16 {
			t.Fatalf("round %d: %d slots for %d accounts", i, len(b.keys), len(b.pos))
		}
	}
	b.set(churn, 3)
	if b.get(stay) != 7 || b.get(churn) != 3 || b.len() != 2 {
		t.Fatalf("balances %d and %d, %d accounts", b.get(stay), b.get(churn), b.len())
	}
	if old.get(stay) != 7 || old.get(churn) != 5 || old.len() != 2 {
		t.Fatalf("clone: balances %d and %d, %d accounts", old.get(stay), old.get(churn), old.len())
	}
}

// TestBalancesConcurrentClones: a published table may be cloned from several
// goroutines at once, and each clone may then change membership on its own (run with
// -race).
func TestBalancesConcurrentClones(t *testing.T) {
	b := newBalances()
	for i := range 100 {
		b.set(msg.Account{byte(i), 1}, 10)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			c := b.clone()
			c.set(msg.Account{byte(g), 1}, 0)
			c.set(msg.Account{byte(g), 2}, 5)
			for i := range 100 {
				if v := b.get(msg.Account{byte(i), 1}); v != 10 {
					done <- fmt.Errorf("goroutine %d: source changed: %d holds %d", g, i, v)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if b.len() != 100 {
		t.Fatalf("source has %d accounts", b.len())
	}
}
