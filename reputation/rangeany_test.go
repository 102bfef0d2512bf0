package reputation

import (
	"testing"

	"github.com/guild-net/guild/msg"
)

// TestRangeAnyVisitsRange: RangeAny yields exactly what Range yields, also after
// accounts left (dead slots) and in a clone.
func TestRangeAnyVisitsRange(t *testing.T) {
	l := New()
	for i := range 40 {
		if err := l.Genesis(acct(byte(i)), uint64(i+1)*10); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i += 3 {
		l.BurnFree(acct(byte(i)), 1<<62) // leaves a dead slot
	}
	l.Equivocate(acct(7))
	c := l.Clone()
	if err := c.Take(acct(5), 60); err != nil { // a's whole balance: removed in c only
		t.Fatal(err)
	}
	if err := c.BurnPending(60); err != nil {
		t.Fatal(err)
	}
	for _, led := range []*Ledger{l, c} {
		want := map[msg.Account]Balance{}
		led.Range(func(a msg.Account, b Balance) bool { want[a] = b; return true })
		got := map[msg.Account]Balance{}
		led.RangeAny(func(a msg.Account, b Balance) {
			if _, dup := got[a]; dup {
				t.Fatalf("%s twice", a)
			}
			got[a] = b
		})
		if len(got) != len(want) {
			t.Fatalf("RangeAny %d accounts, Range %d", len(got), len(want))
		}
		for a, b := range want {
			if got[a] != b {
				t.Fatalf("%s: RangeAny %+v, Range %+v", a, got[a], b)
			}
		}
	}
}
