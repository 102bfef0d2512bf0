package epoch

import "github.com/guild-net/guild/msg"

// StopRule decides when a recomputation may stop (SPEC §4 "Recomputation"): after two
// consecutive epochs whose cut and state root came out unchanged, counted only once every head
// that was newly listed or newly held is in the recomputed cut. Until then a late head may
// still enter some later batch, so an unchanged epoch proves nothing.
//
// Why two: the witnesses of k+2 come from the state after k, so one unchanged epoch leaves the
// next epoch's witness set fixed but not the one after; two in a row fix both, and from there
// every input of the rule is the same as before.
type StopRule struct {
	heads  []msg.ID
	streak int
}

// NewStopRule starts a recomputation for the heads Engine.TakeNewHeads returned.
func NewStopRule(heads []msg.ID) *StopRule { return &StopRule{heads: heads} }

// Observe is called after recomputing one epoch, in ascending order, with its new cut and
// whether that cut (Cut.Equal) and the state root equal the stored snapshot's. It reports
// whether the recomputation can stop after this epoch.
func (s *StopRule) Observe(cut *Cut, unchanged bool) bool {
	keep := s.heads[:0]
	for _, h := range s.heads {
		if !cut.Contains(h) {
			keep = append(keep, h)
		}
	}
	s.heads = keep
	if len(s.heads) == 0 && unchanged {
		s.streak++
	} else {
		s.streak = 0
	}
	return s.streak >= 2
}

// Waiting is the number of new heads not yet in a recomputed cut.
func (s *StopRule) Waiting() int { return len(s.heads) }
