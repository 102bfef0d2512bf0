// Package state is Guild's deterministic machine: Apply(state, k, batch, in) turns the
// state after epoch k−1 and the agreed batch of epoch k into the state after k
// (SPEC §4 "Applying a batch"), and Root gives the state root of WIRE §4 (row layouts:
// docs/protocol.md (State root)).
//
// The package is pure: no clock, I/O, goroutines, floats or map-order dependence. It
// composes the domain ledgers (reputation, credits, forum, pool, params) in the phases
// of SPEC §4, and owns what sits between them and the epoch rule: the witness sets of
// the next two epochs, the live-epoch count, equivocators and checkpoint misbehavers,
// and the seed. Each Apply also yields a Report (outside the root) saying which
// messages had no effect and why, and State.Check answers the same question for a
// message before it is signed.
//
// AVAILABILITY, UNSTAKE, REQUEST, COMMIT and REVEAL have no effect in this version
// (ErrNotImplemented); the work lifecycle of SPEC §8 is the next extension.
//
// A driver (package ledger) feeds it: for each epoch it asks the epoch engine for
// the cut, batch and inputs, then calls Apply on a clone of the previous state.
package state
