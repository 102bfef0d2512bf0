package state

import (
	"math"

	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
)

// applyMsg gives one message of batch k its effect (phases 3–7). A non-nil error is the
// reason it had none, all or nothing; partial marks a POST that stands without its
// invalid params diff.
func (s *State) applyMsg(k uint64, m *msg.Envelope) (partial bool, err error) {
	author := m.Body.Author
	switch p := m.Payload.(type) {
	case *msg.Deposit: // phase 3
		return false, s.cr.Deposit(author, p.Ref, p.Account, p.Amount)
	case *msg.Withdraw: // phase 3
		return false, s.cr.Withdraw(author, p.Gateway, p.Amount)
	case *msg.Post: // phase 4
		// Add copies the authors, so they can live on the stack.
		var buf [4]forum.Author
		res, err := s.forum.Add(newPost(m.ID, author, p, buf[:0]), k, &s.params)
		if err != nil {
			return false, err
		}
		if res.ParamsErr != nil {
			return true, res.ParamsErr
		}
		return false, nil
	case *msg.PoolOpen: // phase 6
		if p.PoolKind > msg.PoolGovernance {
			return false, pool.ErrKind
		}
		_, err := s.book.Open(pool.OpenRequest{ID: m.ID, Opener: author, Post: p.Post, Fee: p.Fee,
			Duration: p.Duration, Kind: pool.Kind(p.PoolKind)},
			pool.OpenEnv{Batch: k, Live: s.live, Params: &s.params, Forum: s.forum, Credits: s.cr})
		return false, err
	case *msg.Vote: // phase 7
		if p.Side > msg.SideFor {
			return false, pool.ErrSide
		}
		_, err := s.book.Vote(p.Pool, author, pool.Side(p.Side), p.Stake, k, s.rep)
		return false, err
	case *msg.Checkpoint: // phase 7: the epoch rule reads checkpoints from the DAG
		return false, nil
	case *msg.Availability, *msg.Unstake, *msg.Request, *msg.Commit, *msg.Reveal:
		// Phases 5–7 of the work lifecycle (SPEC §7.4, §8): documented no-ops until the
		// business package exists. They change nothing, so adding them later changes no
		// root of a log without them.
		return false, ErrNotImplemented
	}
	return false, ErrUnknownKind
}

// newPost converts a POST payload, appending the authors to buf. Parameter ids that do
// not fit a params.ID cannot name a parameter: they become the largest id, which is
// unknown too, so the diff is refused for the right reason instead of aliasing a real
// parameter.
func newPost(id msg.ID, signer msg.Account, p *msg.Post, buf []forum.Author) forum.NewPost {
	np := forum.NewPost{ID: id, Signer: signer, Authors: buf}
	for _, a := range p.Authors {
		np.Authors = append(np.Authors, forum.Author{Account: a.Account, PPM: a.PPM})
	}
	if len(p.Citations) > 0 {
		np.Citations = make([]forum.Citation, len(p.Citations))
		for i, c := range p.Citations {
			np.Citations[i] = forum.Citation{Target: c.Target, Weight: c.Weight}
		}
	}
	if p.Module != nil {
		np.Module = *p.Module
	}
	if len(p.Params) > 0 {
		m := make(map[params.ID]uint64, len(p.Params))
		for id, v := range p.Params {
			if id > math.MaxUint16 {
				id = math.MaxUint16
			}
			m[params.ID(id)] = v
		}
		np.Params = params.NewDiff(m)
	}
	return np
}

// checkID stands in for the envelope id of a message not signed yet (a pool's id is
// its envelope id). It is a tagged hash, so no real message or escrow can have it.
var checkID = msg.TaggedHash("guild/v1/state/check\x00")

// Check tells, before a message is signed, whether author's payload would have an
// effect if it landed in the next batch on top of this state, and if not why: the same
// *NoEffectError that Apply records (nil when it would take full effect). It cannot
// foresee the rest of that batch (other messages, the volume rule) or later
// parameter activations. It works on a scratch copy of only the ledgers the kind
// touches, so s is never modified.
func (s *State) Check(author msg.Account, p msg.Payload) error {
	kind := p.Kind()
	if _, forked := s.forkSeq[author]; forked {
		return &NoEffectError{Kind: kind, Err: ErrForked}
	}
	k := uint64(0)
	if s.applied {
		k = s.epoch + 1
	}
	n := *s
	switch p.(type) {
	case *msg.Deposit, *msg.Withdraw:
		n.cr = s.cr.Clone()
	case *msg.Post:
		n.forum = s.forum.Clone()
	case *msg.PoolOpen:
		n.cr, n.book = s.cr.Clone(), s.book.Clone()
	case *msg.Vote:
		n.rep, n.book = s.rep.Clone(), s.book.Clone()
	}
	m := &msg.Envelope{ID: checkID, Body: msg.Body{Author: author, Kind: kind}, Payload: p}
	if partial, err := n.applyMsg(k, m); err != nil {
		return &NoEffectError{Kind: kind, Partial: partial, Err: err}
	}
	return nil
}
