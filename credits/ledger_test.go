package credits

import (
	"errors"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

const cr = 1_000_000

func acct(b byte) msg.Account { return msg.Account{b} }

func TestDepositWithdraw(t *testing.T) {
	gw, a, b := acct(9), acct(1), acct(2)
	l := New([]msg.Account{gw})
	if err := l.Genesis(a, 10*cr); err != nil {
		t.Fatal(err)
	}
	if err := l.Deposit(gw, []byte("r1"), b, 5*cr); err != nil {
		t.Fatal(err)
	}
	if err := l.Deposit(gw, []byte("r1"), b, 5*cr); !errors.Is(err, ErrRefUsed) {
		t.Fatalf("second use of ref: %v", err)
	}
	if err := l.Deposit(a, []byte("r2"), b, 5*cr); !errors.Is(err, ErrNotGateway) {
		t.Fatalf("non-gateway: %v", err)
	}
	if err := l.Deposit(gw, make([]byte, 65), b, 5*cr); !errors.Is(err, ErrRefTooLong) {
		t.Fatalf("long ref: %v", err)
	}
	// A ref is a byte string: "r1" and "r1\x00" differ.
	if err := l.Deposit(gw, []byte("r1\x00"), b, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Deposit(gw, []byte("big"), b, 1<<64-1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflow: %v", err)
	}
	if err := l.Withdraw(b, gw, 5*cr+2); !errors.Is(err, ErrInsufficient) {
		t.Fatalf("over-withdraw: %v", err)
	}
	if l.Free(b) != 5*cr+1 {
		t.Fatal("failed withdraw had an effect")
	}
	if err := l.Withdraw(b, a, 1); !errors.Is(err, ErrNotGateway) {
		t.Fatalf("withdraw to non-gateway: %v", err)
	}
	if err := l.Withdraw(b, gw, 5*cr); err != nil {
		t.Fatal(err)
	}
	if l.Free(b) != 1 || l.Totals() != (TotalsRow{Genesis: 10 * cr, Deposits: 5*cr + 1, Withdrawals: 5 * cr}) {
		t.Fatalf("after: free %d totals %+v", l.Free(b), l.Totals())
	}
	if refs := l.UsedRefs(); len(refs) != 2 || string(refs[0].Ref) != "r1" || string(refs[1].Ref) != "r1\x00" {
		t.Fatalf("refs %+v", refs)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestEscrowAndFreeze(t *testing.T) {
	a, b := acct(1), acct(2)
	pool := msg.ID{7}
	l := New(nil)
	_ = l.Genesis(a, 10*cr)
	if err := l.Hold(pool, a, 11*cr); !errors.Is(err, ErrInsufficient) || l.Free(a) != 10*cr {
		t.Fatalf("partial escrow: %v", err)
	}
	if err := l.Hold(pool, a, 10*cr); err != nil {
		t.Fatal(err)
	}
	if err := l.Hold(pool, a, 0); !errors.Is(err, ErrEscrowExists) {
		t.Fatalf("dup escrow: %v", err)
	}
	if err := l.Pay(pool, b, 2*cr); err != nil {
		t.Fatal(err)
	}
	if err := l.ToPot(pool, 3*cr); err != nil {
		t.Fatal(err)
	}
	if err := l.ToPot(pool, 6*cr); !errors.Is(err, ErrEscrowShort) {
		t.Fatalf("escrow short: %v", err)
	}
	// The opener equivocates: its refund lands in frozen credits.
	l.Freeze(a)
	if got := l.Release(pool); got != 5*cr || l.Frozen(a) != 5*cr || l.Free(a) != 0 {
		t.Fatalf("release %d frozen %d", got, l.Frozen(a))
	}
	if err := l.PayFromPot(a, 3*cr); err != nil || l.Frozen(a) != 8*cr || l.Pot() != 0 {
		t.Fatalf("pot to frozen: %v %d", err, l.Frozen(a))
	}
	if err := l.PayFromPot(b, 1); !errors.Is(err, ErrPotShort) {
		t.Fatalf("pot short: %v", err)
	}
	if err := l.Withdraw(a, a, 1); err == nil {
		t.Fatal("frozen credits withdrawn")
	}
	if rows := l.Accounts(); len(rows) != 2 || !rows[0].IsFrozen || rows[0].Frozen != 8*cr || rows[1].Free != 2*cr {
		t.Fatalf("rows %+v", rows)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestConservation: free + escrowed + frozen + pot = genesis + deposits − withdrawals
// after any sequence of operations, and no balance goes negative (wraps).
func TestConservation(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gw := acct(9)
		l := New([]msg.Account{gw})
		accts := []msg.Account{acct(1), acct(2), acct(3), gw}
		pick := func() msg.Account { return accts[rapid.IntRange(0, 3).Draw(t, "a")] }
		amt := func() uint64 { return rapid.Uint64Range(0, 30*cr).Draw(t, "amt") }
		ids := []msg.ID{{1}, {2}, {3}}
		pid := func() msg.ID { return ids[rapid.IntRange(0, 2).Draw(t, "id")] }
		for range rapid.IntRange(1, 80).Draw(t, "ops") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				_ = l.Genesis(pick(), amt())
			case 1:
				_ = l.Deposit(pick(), []byte{byte(rapid.IntRange(0, 5).Draw(t, "ref"))}, pick(), amt())
			case 2:
				_ = l.Withdraw(pick(), gw, amt())
			case 3:
				_ = l.Hold(pid(), pick(), amt())
			case 4:
				_ = l.Pay(pid(), pick(), amt())
			case 5:
				_ = l.ToPot(pid(), amt())
			case 6:
				l.Release(pid())
			case 7:
				_ = l.PayFromPot(pick(), amt())
			case 8:
				l.Freeze(pick())
			case 9:
				l = l.Clone()
			}
			if err := l.Check(); err != nil {
				t.Fatal(err)
			}
			for _, r := range l.Accounts() {
				if r.Free > l.outstanding() || r.Frozen > l.outstanding() {
					t.Fatalf("wrapped balance %+v", r)
				}
			}
		}
	})
}
