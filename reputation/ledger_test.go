package reputation

import (
	"errors"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

const rep = 1_000_000

func TestLedgerBasics(t *testing.T) {
	l := New()
	a, b := acct(1), acct(2)
	if err := l.Genesis(a, 10*rep); err != nil {
		t.Fatal(err)
	}
	if err := l.Lock(a, 4*rep); err != nil {
		t.Fatal(err)
	}
	if err := l.Lock(a, 7*rep); !errors.Is(err, ErrInsufficientFree) {
		t.Fatalf("over-lock: %v", err)
	}
	if got := l.LockUpTo(a, 9*rep); got != 6*rep {
		t.Fatalf("LockUpTo %d", got)
	}
	if err := l.Take(a, 1); !errors.Is(err, ErrInsufficientFree) {
		t.Fatalf("take locked: %v", err)
	}
	if err := l.Unlock(a, 10*rep); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(a, 1); !errors.Is(err, ErrInsufficientLocked) {
		t.Fatalf("over-unlock: %v", err)
	}
	if err := l.Take(a, 3*rep); err != nil {
		t.Fatal(err)
	}
	if err := l.Give(b, 4*rep); !errors.Is(err, ErrInsufficientPending) {
		t.Fatalf("over-give: %v", err)
	}
	if err := l.Give(b, 2*rep); err != nil {
		t.Fatal(err)
	}
	if err := l.BurnPending(rep); err != nil {
		t.Fatal(err)
	}
	if l.Get(a).Bal != 7*rep || l.Get(b).Bal != 2*rep || l.Burned() != rep || l.Supply() != 9*rep || l.Pending() != 0 {
		t.Fatalf("balances %v %v burned %d", l.Get(a), l.Get(b), l.Burned())
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	// Equivocation burns everything, locks included; later credits burn on arrival.
	if err := l.Lock(b, rep); err != nil {
		t.Fatal(err)
	}
	if got := l.Equivocate(b); got != 2*rep {
		t.Fatalf("equivocate burned %d", got)
	}
	if err := l.Unlock(b, rep); err != nil {
		t.Fatalf("unlock of equivocator must be a no-op: %v", err)
	}
	l.Mint(5 * rep)
	if err := l.Give(b, 5*rep); err != nil {
		t.Fatal(err)
	}
	if l.Get(b).Bal != 0 || l.Burned() != 8*rep || l.Minted() != 15*rep || l.Supply() != 7*rep {
		t.Fatalf("after equivocation: %v burned %d minted %d", l.Get(b), l.Burned(), l.Minted())
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	rows := l.Rows()
	if len(rows) != 1 || rows[0].Account != a || rows[0].Balance != 7*rep {
		t.Fatalf("rows %+v", rows)
	}
	if eq := l.Equivocators(); len(eq) != 1 || eq[0] != b {
		t.Fatalf("equivocators %v", eq)
	}
}

func TestDecay(t *testing.T) {
	l := New()
	a, b, c := acct(1), acct(2), acct(3)
	_ = l.Genesis(a, 10*rep)
	_ = l.Genesis(b, 10*rep)
	_ = l.Genesis(c, 3)
	_ = l.Lock(b, 6*rep)
	// decay_ppm = 100000 (10 %): A burns 1 REP, B burns 10 % of its free 4 REP, C's 0.3 µREP rounds to 0.
	if got := l.Decay(100_000); got != 1_400_000 {
		t.Fatalf("decay burned %d", got)
	}
	if l.Get(a).Bal != 9*rep || l.Get(b).Bal != 9_600_000 || l.Get(b).Locked != 6*rep || l.Get(c).Bal != 3 {
		t.Fatalf("after decay %v %v %v", l.Get(a), l.Get(b), l.Get(c))
	}
	if l.Decay(0) != 0 {
		t.Fatal("decay 0")
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotAndClone(t *testing.T) {
	l := New()
	_ = l.Genesis(acct(2), 5)
	_ = l.Genesis(acct(1), 7)
	_ = l.Lock(acct(1), 7)
	s := l.Snapshot()
	c := l.Clone()
	_ = l.Unlock(acct(1), 7)
	l.BurnFree(acct(1), 7)
	if s.Total() != 12 || s.Get(acct(1)) != 7 || s.Get(acct(3)) != 0 || s.Len() != 2 {
		t.Fatalf("snapshot %+v", s)
	}
	if c.Get(acct(1)) != (Balance{7, 7}) || l.Get(acct(1)) != (Balance{}) {
		t.Fatal("clone shares state")
	}
}

// TestLedgerProperties drives random operations and checks the SPEC §7.1 invariants
// after each: Σ balances = minted − burned once pending is settled, locked ≤ balance.
func TestLedgerProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := New()
		accts := []msg.Account{acct(1), acct(2), acct(3), acct(4)}
		pick := func() msg.Account { return accts[rapid.IntRange(0, 3).Draw(t, "acct")] }
		amt := func() uint64 { return rapid.Uint64Range(0, 20*rep).Draw(t, "amt") }
		for range rapid.IntRange(1, 60).Draw(t, "ops") {
			switch rapid.IntRange(0, 8).Draw(t, "op") {
			case 0:
				_ = l.Genesis(pick(), amt())
			case 1:
				_ = l.Lock(pick(), amt())
			case 2:
				l.LockUpTo(pick(), amt())
			case 3:
				a := pick()
				_ = l.Unlock(a, min(amt(), l.Get(a).Locked))
			case 4:
				// a transfer: take then give all of it, or burn part
				from, to := pick(), pick()
				x := min(amt(), l.Free(from))
				if err := l.Take(from, x); err != nil {
					t.Fatal(err)
				}
				g := rapid.Uint64Range(0, x).Draw(t, "give")
				_ = l.Give(to, g)
				_ = l.BurnPending(x - g)
			case 5:
				l.BurnFree(pick(), amt())
			case 6:
				l.Decay(rapid.Uint64Range(0, 100_000).Draw(t, "ppm"))
			case 7:
				l.Equivocate(pick())
			case 8:
				m := l.Mint(amt())
				_ = l.Give(pick(), m)
			}
			if l.Pending() != 0 {
				t.Fatalf("pending %d left", l.Pending())
			}
			if err := l.Check(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
