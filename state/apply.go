package state

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/guild-net/guild/internal/bucket"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
	"github.com/guild-net/guild/reputation"
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
func (s *State) ApplyInPlace(k uint64, batch []*msg.Envelope, in Inputs) error {
	return s.apply(k, batch, in)
}

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
	rep := &Report{Epoch: int64(k), Live: in.Live, hint: len(s.report.NoEffect)}
	if n := rep.hint; n > 0 {
		// Sized from the last epoch's: growing by doubling allocated several times
		// what the report keeps.
		rep.NoEffect = make([]NoEffect, 0, n+n/4+8)
	}
	s.report = rep

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

	// Phase 1: parameter changes activating now (the live count only moves in live
	// epochs, so nothing activates in a non-live one). It runs before the volume rule,
	// so max_msgs_per_author_epoch is the value in force for this epoch.
	s.params, rep.Activations = s.pending.Activate(s.params, s.live)

	msgs := s.effective(batch, rep)

	// Phase 2: decay in live epochs, then the snapshot S_k. Only the deadline phase of
	// this same epoch reads S_k, and it runs only in live epochs, so a non-live epoch
	// takes none (and S_k is not part of the state carried to the next epoch).
	var snap reputation.Snapshot
	if in.Live {
		rep.Decayed = s.rep.Decay(s.params.Get(params.DecayPPM))
		snap = s.rep.Snapshot()
	}

	// Phases 3–7 run the messages in (kind phase, author, seq, id) order. Checkpoints
	// (phase 7) are recorded by the epoch rule from the DAG and change no balance.
	for _, j := range msgs {
		m := batch[j]
		if partial, err := s.applyMsg(k, m); err != nil {
			rep.noEffect(m, partial, err)
		}
	}

	// Phase 8: deadlines, in live epochs only.
	if in.Live {
		if err := s.deadlines(snap, rep); err != nil {
			return fmt.Errorf("apply epoch %d: %w", k, err)
		}
	}

	if err := s.check(); err != nil {
		return fmt.Errorf("apply epoch %d: %w", k, err)
	}
	if len(rep.NoEffect) == 0 {
		rep.NoEffect = nil // as when nothing was preallocated
	}
	s.refreshEscrowOwners()

	// Witness sets: epoch k+1's was computed from the state after k−1; epoch k+2's
	// comes from this state.
	s.witnesses[0] = s.witnesses[1]
	s.witnesses[1] = s.computeWitnessSet()
	// Clones of the state handed out must not copy this epoch's posts.
	s.forum.Seal()
	return nil
}

// deadlines is phase 8 (SPEC §4) without the work lifecycle: equivocation first, then
// pool resolutions by ascending pool id, then the salary split. The work steps
// (assignment, commit and reveal windows, request deadlines, availability expiry) have
// nothing to act on until REQUEST and AVAILABILITY take effect.
func (s *State) deadlines(snap reputation.Snapshot, rep *Report) error {
	for _, a := range s.equivPending {
		e := Equivocation{Account: a, BurnedREP: s.rep.Equivocate(a), FrozenCredits: s.cr.Freeze(a)}
		s.book.DropVoter(a)
		rep.Equivocations = append(rep.Equivocations, e)
	}
	s.equivPending = s.equivPending[:0]

	outs, err := s.book.ResolveDue(pool.ResolveEnv{Live: s.live, Snap: snap, Params: &s.params, Rep: s.rep,
		Forum: s.forum, Credits: s.cr, Schedule: s.pending})
	rep.Pools = outs
	if err != nil {
		return err
	}
	rep.Salary, err = s.book.PaySalary(snap, s.rep, s.cr)
	return err
}

// check verifies the ledgers' invariants at the Apply boundary. A failure is a bug in
// the state machine, never a user error, so Apply refuses to hand out the state.
func (s *State) check() error {
	if p := s.rep.Pending(); p != 0 {
		return fmt.Errorf("%d µREP left pending: %w", p, reputation.ErrInvariant)
	}
	if err := s.rep.Check(); err != nil {
		return err
	}
	return s.cr.Check()
}

// refreshEscrowOwners rebuilds the admission index of escrow owners. The map is new
// each time, so clones may share the previous one.
func (s *State) refreshEscrowOwners() { s.escrowOwners = s.cr.EscrowOwners() }

func (s *State) lastEpoch() int64 {
	if !s.applied {
		return -1
	}
	return int64(s.epoch)
}

// effective sorts the batch by (kind phase, author, seq, id), drops duplicates, and
// leaves out what has no effect whatever the state: messages at or after an
// equivocator's fork seq (SPEC §3), and each author's messages beyond the first
// max_msgs_per_author_epoch of the batch by seq. It gives positions in the batch:
// sorting and filtering them stores no pointers, each of which costs a write barrier
// while the collector runs (most of a replay).
func (s *State) effective(batch []*msg.Envelope, rep *Report) []int32 {
	// Volume rule first, by (author, seq, id).
	ms := sortByAuthor(batch)
	ms = slices.CompactFunc(ms, func(a, b int32) bool { return batch[a].ID == batch[b].ID })
	limit := s.params.Get(params.MaxMsgsPerAuthorEpoch)
	out := ms[:0]
	var run uint64
	var author msg.Account
	for i, j := range ms {
		m := batch[j]
		if i == 0 || m.Body.Author != author {
			author, run = m.Body.Author, 0
		}
		run++
		if run > limit {
			rep.noEffect(m, false, ErrVolume)
			continue
		}
		if q, ok := s.forkSeq[m.Body.Author]; ok && m.Body.Seq >= q {
			rep.noEffect(m, false, ErrForked)
			continue
		}
		out = append(out, j)
	}
	// Then by kind phase, keeping (author, seq, id) within a phase: phases are a few
	// small numbers, so a stable counting sort replaces a stable comparison sort.
	var count [maxPhase + 2]int
	for _, j := range out {
		p := batch[j].Body.Kind.Phase()
		if p < 0 || p > maxPhase {
			slices.SortStableFunc(out, func(a, b int32) int {
				return cmp.Compare(batch[a].Body.Kind.Phase(), batch[b].Body.Kind.Phase())
			})
			return out
		}
		count[p+1]++
	}
	for p := 1; p < len(count); p++ {
		if count[p] == len(out) {
			return out // one phase only: already in order
		}
		count[p] += count[p-1]
	}
	byPhase := make([]int32, len(out))
	for _, j := range out {
		p := batch[j].Body.Kind.Phase()
		byPhase[count[p]] = j
		count[p]++
	}
	return byPhase
}

// maxPhase is the largest kind phase of SPEC §4 (phase 8, deadlines, has no messages);
// a larger one, which no kind has, would only take the comparison sort.
const maxPhase = 8

// sortByAuthor gives the positions of the batch's messages sorted by (author, seq,
// id). Accounts are public keys, so their leading bits spread evenly: a bucket sort
// (internal/bucket), which mostly leaves only an author's own messages to compare.
func sortByAuthor(batch []*msg.Envelope) []int32 {
	pos := make([]int32, len(batch))
	for i := range pos {
		pos[i] = int32(i)
	}
	return bucket.Sort(pos, func(i int32) uint64 { return binary.BigEndian.Uint64(batch[i].Body.Author[:8]) },
		func(i, j int32) int { return compareAuthorSeqID(batch[i], batch[j]) })
}

func compareAuthorSeqID(a, b *msg.Envelope) int {
	if c := pmap.Compare32(a.Body.Author, b.Body.Author); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Body.Seq, b.Body.Seq); c != 0 {
		return c
	}
	return pmap.Compare32(a.ID, b.ID)
}
