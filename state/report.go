package state

import (
	"errors"
	"fmt"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
)

// Reasons of the state machine itself; the domain packages give the rest
// (forum.RejectError, pool.Err…, credits.Err…, params.Error).
var (
	// ErrVolume: beyond the first max_msgs_per_author_epoch messages of the author in
	// this batch, by seq (SPEC §3 "Volume").
	ErrVolume = errors.New("beyond max_msgs_per_author_epoch messages of this author in one batch")
	// ErrForked: the author's fork evidence is committed and the message's seq is at or
	// after the fork seq (SPEC §3 "Equivocation").
	ErrForked = errors.New("the author equivocated: messages at or after the fork seq have no effect")
	// ErrNotImplemented: AVAILABILITY, UNSTAKE, REQUEST, COMMIT and REVEAL are accepted
	// into the log but have no effect in this version (the work lifecycle of SPEC §8 is
	// not wired into the state yet).
	ErrNotImplemented = errors.New("this kind has no effect yet: the work lifecycle is not implemented in this version")
	// ErrUnknownKind: a payload the state has no handler for.
	ErrUnknownKind = errors.New("unknown message kind")
)

// NoEffectError says why a message has no effect (or, with Partial, why part of it has
// none: a POST whose params diff is invalid stands without the diff). It unwraps to the
// domain reason, so callers branch with errors.Is / errors.As.
type NoEffectError struct {
	Kind msg.Kind
	// Partial is set when the message took effect except for the part Err names.
	Partial bool
	Err     error
}

func (e *NoEffectError) Error() string {
	if e.Partial {
		return fmt.Sprintf("%s takes effect without its params diff: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("%s has no effect: %v", e.Kind, e.Err)
}

func (e *NoEffectError) Unwrap() error { return e.Err }

// NoEffect is one message of a batch that had no effect (or a partial one), with why.
type NoEffect struct {
	ID     msg.ID
	Author msg.Account
	Seq    uint64
	Err    *NoEffectError
}

// Equivocation reports the deadline-phase effect of committed fork evidence (SPEC §7.6).
type Equivocation struct {
	Account       msg.Account
	BurnedREP     uint64
	FrozenCredits uint64
}

// Report says what one Apply did, for the API, the CLI and logs. It is derived from the
// batch and the state, is not part of the state root, and is never read by a later
// Apply. Its size is bounded by the batch (one entry per message at most) and by the
// pools closing in the epoch.
type Report struct {
	Epoch int64 // −1 for the genesis state
	Live  bool
	// NoEffect lists the batch's messages without (full) effect, in Apply order.
	NoEffect      []NoEffect
	Activations   []params.Activation
	Decayed       uint64 // µREP burned by decay in phase 2
	Equivocations []Equivocation
	Pools         []pool.Outcome
	Salary        pool.Salary

	// errs hands out NoEffect's errors in chunks: a replayed log has tens of thousands
	// of messages without effect, and one allocation each is pure GC work.
	errs []NoEffectError
	// hint is the last epoch's count of messages without effect, which sizes the
	// chunks: the state keeps every epoch's report, unused tails of chunks included.
	hint int
}

// Reason gives why message id of this epoch's batch had no effect; ok is false when
// the message took full effect (or is not in the batch).
func (r *Report) Reason(id msg.ID) (*NoEffectError, bool) {
	for i := range r.NoEffect {
		if r.NoEffect[i].ID == id {
			return r.NoEffect[i].Err, true
		}
	}
	return nil, false
}

func (r *Report) noEffect(m *msg.Envelope, partial bool, err error) {
	if len(r.errs) == cap(r.errs) {
		// What the hint says is left, then chunks that grow with the errors beyond it.
		made := len(r.NoEffect)
		n := min(max(made-r.hint, 8), 256)
		if left := r.hint - made; left > 0 {
			n = min(left, 4096)
		}
		r.errs = make([]NoEffectError, 0, n)
	}
	r.errs = append(r.errs, NoEffectError{Kind: m.Body.Kind, Partial: partial, Err: err})
	r.NoEffect = append(r.NoEffect, NoEffect{ID: m.ID, Author: m.Body.Author, Seq: m.Body.Seq,
		Err: &r.errs[len(r.errs)-1]})
}
