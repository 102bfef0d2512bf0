// Package state is Guild's deterministic machine: Apply(state, k, batch, in) turns the
// state after epoch k−1 and the agreed batch of epoch k into the state after k
// (SPEC §4 "Applying a batch"), and Root gives the state root of WIRE §4.
//
// The package is pure: no clock, I/O, goroutines, floats or map-order dependence. It
// composes the domain ledgers (reputation, credits, forum, pools) and owns what sits
// between them and the epoch rule: the witness sets of the next two epochs, the
// live-epoch count, equivocators and checkpoint misbehavers, and the seed.
//
// A driver (package ledger) feeds it: for each epoch it asks the epoch engine for
// the cut, batch and inputs, then calls Apply on a clone of the previous state.
package state
