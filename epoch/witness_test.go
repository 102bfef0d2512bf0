package epoch

import (
	"math"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

func wcfg(n, min int, capPPM uint64) Config {
	c := testCfg
	c.WitnessesN, c.WitnessesMin, c.WitnessCapPPM = n, min, capPPM
	return c
}

func TestWitnessWeightsCapped(t *testing.T) {
	// 20 witnesses at the default 10 % cap: one holds 1,000 REP, nineteen hold 10 REP.
	// For 10 REP < c ≤ 1,000 REP: Σ min(rep, c) = 190 REP + c ≥ 10·c ⇔ c ≤ 190/9 REP, so
	// c = ⌊190e6/9⌋ µREP = 21,111,111 and W = 21,111,111 + 19·10,000,000.
	var cands []Candidate
	cands = append(cands, Candidate{Account: acct(7), Rep: 1_000_000_000})
	for i := 0; i < 20; i++ {
		if i != 7 {
			cands = append(cands, Candidate{Account: acct(i), Rep: 10_000_000})
		}
	}
	ws := ComputeWitnessSet(cands, nil, nil, wcfg(32, 4, 100_000))
	if len(ws.Members) != 20 || ws.Total != 211_111_111 {
		t.Fatalf("members %d total %d", len(ws.Members), ws.Total)
	}
	if got := ws.Weight(acct(7)); got != 21_111_111 {
		t.Fatalf("whale weight %d", got)
	}
	if got := ws.Weight(acct(3)); got != 10_000_000 {
		t.Fatalf("small weight %d", got)
	}
	// The whale's share stays within the cap: 1e6·c ≤ 100000·W.
	if 1_000_000*ws.Weight(acct(7)) > 100_000*ws.Total {
		t.Fatal("cap exceeded")
	}
}

func TestWitnessSetRules(t *testing.T) {
	excluded := func(a msg.Account) bool { return a == acct(2) }
	for _, tc := range []struct {
		name    string
		cands   []Candidate
		genesis []msg.Account
		cfg     Config
		members []msg.Account
		weights []uint64
	}{
		{
			name:    "fewer than 10 at the default cap: weight 1",
			cands:   []Candidate{{acct(1), 5}, {acct(0), 500}, {acct(3), 7}},
			cfg:     wcfg(32, 2, 100_000),
			members: []msg.Account{acct(0), acct(1), acct(3)},
			weights: []uint64{1, 1, 1},
		},
		{
			name:    "no cap: weight = REP; REP 0 and excluded skipped",
			cands:   []Candidate{{acct(1), 5}, {acct(0), 500}, {acct(2), 9}, {acct(4), 0}},
			cfg:     wcfg(32, 2, 1_000_000),
			members: []msg.Account{acct(0), acct(1)},
			weights: []uint64{500, 5},
		},
		{
			name:    "top witnesses_n by REP desc, id asc",
			cands:   []Candidate{{acct(5), 10}, {acct(4), 10}, {acct(3), 20}, {acct(1), 1}},
			cfg:     wcfg(2, 1, 1_000_000),
			members: []msg.Account{acct(3), acct(4)},
			weights: []uint64{20, 10},
		},
		{
			name:    "fewer than witnesses_min: genesis list less excluded, weight 1",
			cands:   []Candidate{{acct(1), 5}, {acct(2), 50}},
			genesis: []msg.Account{acct(9), acct(2), acct(8), acct(9)},
			cfg:     wcfg(32, 2, 1_000_000),
			members: []msg.Account{acct(8), acct(9)},
			weights: []uint64{1, 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := ComputeWitnessSet(tc.cands, tc.genesis, excluded, tc.cfg)
			if !slices.Equal(ws.Members, tc.members) || !slices.Equal(ws.Weights, tc.weights) {
				t.Fatalf("got %v %v", ws.Members, ws.Weights)
			}
			var tot uint64
			for _, w := range tc.weights {
				tot += w
			}
			if ws.Total != tot {
				t.Fatalf("total %d", ws.Total)
			}
		})
	}
}

func TestWitnessWeightsNoOverflow(t *testing.T) {
	cands := []Candidate{{acct(0), math.MaxUint64}, {acct(1), math.MaxUint64 - 5}, {acct(2), 1 << 63}}
	ws := ComputeWitnessSet(cands, nil, nil, wcfg(32, 1, 1_000_000))
	var sum uint64
	for _, w := range ws.Weights {
		if sum+w < sum {
			t.Fatal("total overflows")
		}
		sum += w
	}
	if sum != ws.Total || ws.Weights[0] != math.MaxUint64/3 {
		t.Fatalf("weights %v total %d", ws.Weights, ws.Total)
	}
}

// The cap level found by binary search equals the largest c found by trying every c.
func TestCapLevelMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		reps := rapid.SliceOfN(rapid.Uint64Range(1, 60), 1, 25).Draw(t, "reps")
		capPPM := rapid.Uint64Range(1, 1_000_000).Draw(t, "cap")
		var want, total uint64
		for _, r := range reps {
			total += r
		}
		for c := uint64(1); c <= total+1; c++ {
			var s uint64
			for _, r := range reps {
				s += min(r, c)
			}
			if 1_000_000*c <= capPPM*s {
				want = c
			}
		}
		if got := capLevel(reps, capPPM); got != want {
			t.Fatalf("capLevel = %d, want %d", got, want)
		}
	})
}
