package duty

import (
	"testing"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/state"
)

func genesisState(t *testing.T, accts []msg.Account, rep, credits map[int]uint64, witnesses []int) *state.State {
	t.Helper()
	f := &genesis.File{
		Name: "duty-test", GenesisTsMs: G, EpochMs: 2000, GraceMs: 400,
		Params: map[string]uint64{"witnesses_n": 4, "witnesses_min": 4, "sigma_max_ms": 200},
	}
	for i, a := range accts {
		if rep[i] > 0 || credits[i] > 0 {
			f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: a.String(), RepMicro: rep[i], CreditsMicro: credits[i]})
		}
	}
	for _, i := range witnesses {
		f.Witnesses = append(f.Witnesses, accts[i].String())
	}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := state.Genesis(g)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignsTopWitnessesNPlus8(t *testing.T) {
	w := newWorld(t, 16)
	// Ranked by (REP desc, id asc) the order is 0, 1, …, 13: accounts ascend with the
	// index and REP never rises. 10, 11 and 12 tie at 5 µREP; only the first 12 sign.
	reps := []uint64{50, 50, 40, 40, 30, 30, 20, 20, 10, 10, 5, 5, 5, 1}
	rep := map[int]uint64{}
	for i, r := range reps {
		rep[i] = r
	}
	s := genesisState(t, w.accts, rep, map[int]uint64{14: 9}, []int{0})
	want := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true, 10: true, 11: true}
	for k := uint64(0); k < 2; k++ {
		for i, a := range w.accts {
			got, err := Signs(a, k, FromState(s), 4)
			if err != nil {
				t.Fatal(err)
			}
			if got != want[i] {
				t.Fatalf("epoch %d account %d signs = %v, want %v", k, i, got, want[i])
			}
		}
	}
	if _, err := Signs(w.accts[0], 2, FromState(s), 4); err == nil {
		t.Fatal("the genesis state does not keep epoch 2's witnesses; want an error")
	}
}

func TestSignsGenesisFallbackWitnesses(t *testing.T) {
	w := newWorld(t, 8)
	// Two REP holders are fewer than witnesses_min = 4: genesis's list (5 and 6, with no
	// REP) are the witnesses, and they sign; the REP holders rank in the top 12 too.
	s := genesisState(t, w.accts, map[int]uint64{1: 7, 2: 3}, map[int]uint64{3: 10}, []int{5, 6})
	want := map[int]bool{1: true, 2: true, 5: true, 6: true}
	for i, a := range w.accts {
		got, err := Signs(a, 1, FromState(s), 4)
		if err != nil {
			t.Fatal(err)
		}
		if got != want[i] {
			t.Fatalf("account %d signs = %v, want %v", i, got, want[i])
		}
	}
}

func TestStateViewStanding(t *testing.T) {
	w := newWorld(t, 4)
	s := FromState(genesisState(t, w.accts, map[int]uint64{0: 7}, map[int]uint64{0: 2, 1: 5}, []int{2}))
	for i, tc := range []struct {
		admitted     bool
		rep, credits uint64
	}{{true, 7, 2}, {true, 0, 5}, {true, 0, 0}, {false, 0, 0}} {
		a := w.accts[i]
		if s.Admitted(a) != tc.admitted || s.Rep(a) != tc.rep || s.Credits(a) != tc.credits {
			t.Fatalf("account %d: admitted %v rep %d credits %d; want %+v", i, s.Admitted(a), s.Rep(a), s.Credits(a), tc)
		}
	}
}
