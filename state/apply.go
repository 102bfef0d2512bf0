package state

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

// Fork is fork evidence against an author, first contained in the cut being applied.
type Fork struct {
	Author msg.Account
	Seq    uint64 // the smallest seq at which the author's chain forks
}

// Inputs are what the epoch rule hands Apply besides the batch (SPEC §4).
type Inputs struct {
	Seed          msg.ID
	Live          bool
	Forks         []Fork
	Misbehaviours []msg.Account // checkpoint signers whose double checkpoint is first contained in the cut
}

// Apply gives the state after epoch k from the state after k−1 and batch k. s is not
// modified. The batch may come in any order and with duplicates.
func Apply(s *State, k uint64, batch []*msg.Envelope, in Inputs) (*State, error) {
	n := s.Clone()
	if err := n.apply(k, batch, in); err != nil {
		return nil, err
	}
	return n, nil
}

// ApplyInPlace is Apply without the copy, for drivers that keep their own snapshots.
func (s *State) ApplyInPlace(k uint64, batch []*msg.Envelope, in Inputs) error { return s.apply(k, batch, in) }

func (s *State) apply(k uint64, batch []*msg.Envelope, in Inputs) error {
	if s.applied && k != s.epoch+1 || !s.applied && k != 0 {
		return fmt.Errorf("apply epoch %d to the state after %d: epochs must be applied in order", k, s.lastEpoch())
	}
	if k == 0 && in.Live {
		return fmt.Errorf("apply epoch 0: epoch 0 is never live")
	}
	s.applied, s.epoch, s.seed = true, k, in.Seed
	if in.Live {
		s.live++
	}

	// Fork evidence and checkpoint misbehaviour take effect from this epoch on.
	for _, f := range in.Forks {
		if q, ok := s.forkSeq[f.Author]; !ok || f.Seq < q {
			if !ok {
				s.equivPending = append(s.equivPending, f.Author)
			}
			s.forkSeq[f.Author] = f.Seq
		}
	}
	sortAccounts(s.equivPending)
	for _, a := range in.Misbehaviours {
		s.misbehavers[a] = struct{}{}
	}

	msgs := s.effective(batch)

	// Phase 1: parameter changes activating now.
	s.params, _ = s.pending.Activate(s.params, s.live)

	// Phase 2: decay in live epochs, then the snapshot S_k.
	if in.Live {
		s.rep.Decay(s.params.Get(params.DecayPPM))
	}
	snap := s.rep.Snapshot()
	_ = snap

	// Phases 3–7 run the messages in (kind phase, author, seq, id) order. Checkpoints
	// (phase 7) are recorded by the epoch rule from the DAG and change no balance.
	for _, m := range msgs {
		switch m.Body.Kind {
		case msg.KindCheckpoint:
		}
	}

	// Phase 8: deadlines, in live epochs only.
	if in.Live {
		for _, a := range s.equivPending {
			s.rep.Equivocate(a)
		}
		s.equivPending = s.equivPending[:0]
	}

	// Witness sets: epoch k+1's was computed from the state after k−1; epoch k+2's
	// comes from this state.
	s.witnesses[0] = s.witnesses[1]
	s.witnesses[1] = s.computeWitnessSet()
	return nil
}

func (s *State) lastEpoch() int64 {
	if !s.applied {
		return -1
	}
	return int64(s.epoch)
}

// effective sorts the batch by (kind phase, author, seq, id), drops duplicates, and
// leaves out what has no effect whatever the state: messages at or after an
// equivocator's fork seq (SPEC §3), and each author's messages beyond the first
// max_msgs_per_author_epoch of the batch by seq.
func (s *State) effective(batch []*msg.Envelope) []*msg.Envelope {
	ms := slices.Clone(batch)
	// Volume rule first, by (author, seq, id).
	slices.SortFunc(ms, func(a, b *msg.Envelope) int {
		if c := bytes.Compare(a.Body.Author[:], b.Body.Author[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Body.Seq, b.Body.Seq); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	ms = slices.CompactFunc(ms, func(a, b *msg.Envelope) bool { return a.ID == b.ID })
	limit := s.params.Get(params.MaxMsgsPerAuthorEpoch)
	out := ms[:0]
	var run uint64
	var author msg.Account
	for i, m := range ms {
		if i == 0 || m.Body.Author != author {
			author, run = m.Body.Author, 0
		}
		run++
		if run > limit {
			continue
		}
		if q, ok := s.forkSeq[m.Body.Author]; ok && m.Body.Seq >= q {
			continue
		}
		out = append(out, m)
	}
	slices.SortStableFunc(out, func(a, b *msg.Envelope) int {
		return cmp.Compare(a.Body.Kind.Phase(), b.Body.Kind.Phase())
	})
	return out
}
