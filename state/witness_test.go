package state

import (
	"testing"

	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
	"pgregory.net/rapid"
)

// TestTopCandidatesSameWitnessSet checks the premise of computeWitnessSet: handing
// epoch.ComputeWitnessSet only the best max(witnesses_n, witnesses_min) eligible
// candidates gives the set that every candidate gives, ties in REP, exclusions and a
// witnesses_min above witnesses_n included.
func TestTopCandidatesSameWitnessSet(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 60).Draw(t, "accounts")
		cands := make([]epoch.Candidate, n)
		for i := range cands {
			cands[i].Account[0] = byte(i) // distinct
			cands[i].Account[1] = rapid.Byte().Draw(t, "salt")
			// Few REP levels, so that ties decide.
			cands[i].Rep = rapid.SampledFrom([]uint64{1, 2, 3, 1_000, 1 << 62, 1<<64 - 1}).Draw(t, "rep")
		}
		out := rapid.SliceOfDistinct(rapid.IntRange(0, 63), rapid.ID).Draw(t, "excluded")
		excluded := func(a msg.Account) bool {
			for _, i := range out {
				if a[0] == byte(i) {
					return true
				}
			}
			return false
		}
		cfg := epoch.Config{ThetaNum: 2, ThetaDen: 3,
			WitnessesN:    rapid.IntRange(1, 12).Draw(t, "n"),
			WitnessesMin:  rapid.IntRange(1, 14).Draw(t, "min"),
			WitnessCapPPM: rapid.SampledFrom([]uint64{100_000, 400_000, 1_000_000}).Draw(t, "cap")}
		genesis := []msg.Account{{0xfe}, {0xff}, {3}}

		top := topCandidates{k: max(cfg.WitnessesN, cfg.WitnessesMin, 1)}
		for _, c := range cands {
			if top.admits(c) && !excluded(c.Account) {
				top.push(c)
			}
		}
		if len(top.h) > top.k {
			t.Fatalf("kept %d > %d", len(top.h), top.k)
		}
		want := epoch.ComputeWitnessSet(cands, genesis, excluded, cfg)
		got := epoch.ComputeWitnessSet(top.h, genesis, excluded, cfg)
		if !got.Equal(want) {
			t.Fatalf("from the best %d: %v %v, from all: %v %v", top.k, got.Members, got.Weights, want.Members, want.Weights)
		}
	})
}
