package duty

import (
	"bytes"
	"math/bits"

	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/state"
)

// ExtraSigners is how many accounts beyond witnesses_n sign checkpoints (SPEC §4), so
// that an account a late batch lifts into the witness set has already signed.
const ExtraSigners = 8

// Roster is what Signs reads from the signer's state after epoch k−2.
type Roster interface {
	// Candidates lists the witness candidates: accounts with REP > 0 that are neither
	// equivocators nor checkpoint misbehavers, with their µREP.
	Candidates() []epoch.Candidate
	// Witnesses gives the witness set of epoch k kept by the state.
	Witnesses(k uint64) (epoch.WitnessSet, error)
}

// Signs reports whether self signs the checkpoint for epoch k: it is among the first
// witnesses_n + 8 candidates by (REP desc, id asc) in r, the state after k−2, or it is
// a witness of k (the genesis fallback list can name accounts without REP).
// Checkpoints of anybody else are ignored by every node, so they are not signed.
func Signs(self msg.Account, k uint64, r Roster, witnessesN int) (bool, error) {
	ws, err := r.Witnesses(k)
	if err != nil {
		return false, err
	}
	if ws.Index(self) >= 0 {
		return true, nil
	}
	var mine uint64
	found := false
	cands := r.Candidates()
	for _, c := range cands {
		if c.Account == self && c.Rep > 0 {
			mine, found = c.Rep, true
			break
		}
	}
	if !found {
		return false, nil
	}
	ahead := 0 // candidates ranked before self
	for _, c := range cands {
		if c.Rep > mine || (c.Rep == mine && c.Rep > 0 && bytes.Compare(c.Account[:], self[:]) < 0) {
			ahead++
		}
	}
	return ahead < witnessesN+ExtraSigners, nil
}

// StateView reads a *state.State for duty: it is a Standing and a Roster.
type StateView struct{ S *state.State }

// FromState wraps the signer's state after k−2.
func FromState(s *state.State) StateView { return StateView{S: s} }

// Admitted implements Standing.
func (v StateView) Admitted(a msg.Account) bool { return v.S.Admitted(a) }

// Rep implements Standing.
func (v StateView) Rep(a msg.Account) uint64 { return v.S.Rep(a).Bal }

// Credits implements Standing: free plus frozen µcredits (saturating).
func (v StateView) Credits(a msg.Account) uint64 {
	free, frozen := v.S.Credits(a)
	s, carry := bits.Add64(free, frozen, 0)
	if carry != 0 {
		return ^uint64(0)
	}
	return s
}

// Candidates implements Roster.
func (v StateView) Candidates() []epoch.Candidate {
	rows := v.S.RepLedger().Rows()
	out := make([]epoch.Candidate, 0, len(rows))
	for _, r := range rows {
		if r.Balance > 0 && !v.S.IsEquivocator(r.Account) && !v.S.IsMisbehaver(r.Account) {
			out = append(out, epoch.Candidate{Account: r.Account, Rep: r.Balance})
		}
	}
	return out
}

// Witnesses implements Roster.
func (v StateView) Witnesses(k uint64) (epoch.WitnessSet, error) { return v.S.Witnesses(k) }
