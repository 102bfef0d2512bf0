// Package epoch owns the epoch rule of SPEC §4: epoch times, witness sets and their capped
// weights, checkpoint validity, counting and misbehaviour, support, Q_k, the agreed cuts C_k
// and batches, fork evidence as it enters cuts, live epochs and live-epoch windows, seeds,
// the recomputation stop rule and the settled predicate.
//
// It is pure, like etcd-raft: no clock, no I/O, no goroutines, no floats, no map-order
// dependence. Time enters as timestamps inside messages, witness sets enter as arguments
// (the state computes them from its state after k−2), and messages enter already decoded and
// already held — package dag decides held; a message that is not held never reaches this
// package, and neither does a checkpoint whose heads blob is missing.
//
// # Using it
//
// A node keeps one Engine and, per epoch, a snapshot of what it computed:
//
//	e := epoch.NewEngine(cfg)                 // cfg from genesis (WIRE §7 ids 1–9)
//
//	// Whenever dag reports newly held messages (ancestors first):
//	from, err := e.Add(epoch.FromEnvelope(env, blobHeads))
//	// from is the earliest epoch whose cut, batch or liveness may have changed
//	// (epoch.NoChange if none): a late checkpoint or a listed message that just arrived.
//
//	// At each epoch boundary, and from `from` after a late change:
//	heads := e.TakeNewHeads()
//	stop := epoch.NewStopRule(heads)
//	for k := from; k <= current; k++ {
//		ws := state[k-1].WitnessSet(k)        // W_k, kept by the state
//		cut, batch := e.Cut(k, ws, cuts[k-1]) // C_k and batch k (nil prev for k = 0)
//		in := ApplyInput{Seed: batch.Seed(seeds[k-1]), Live: batch.Live,
//			Forks: batch.Forks, Misbehaviour: batch.Misbehaviour}
//		st := state.Apply(states[k-1], k, batch.IDs, in)
//		unchanged := cut.Equal(cuts[k]) && st.Root() == states[k].Root()
//		cuts[k], states[k], seeds[k] = cut, st, in.Seed
//		lives.Record(k, batch.Live)
//		if stop.Observe(cut, unchanged) {
//			break // two unchanged epochs in a row, every new head in: later epochs stand
//		}
//	}
//
//	// For the API and the divergence alarm:
//	settled[k] = e.Settled(k, ws, cuts[k], settled[k-1])
//
// Everything the engine returns depends only on the set of messages added (P1): the order,
// duplicates and batching of Add calls do not matter. The one exception is a handle:
// messages are numbered in the order they are added (Len before an Add), and Batch.Refs
// gives those numbers, so that a caller keeping its messages by the same numbers finds a
// batch's without an id lookup. A caller that numbers them can also name a message's
// parents by number (Message.ParentNums); the engine then keeps no id index until
// something asks by id. Cuts are snapshots that stay valid as
// the engine grows: one prefix length per author branch, so keeping one per epoch costs a
// few bytes per author, never a set of ids.
//
// # How a cut is computed
//
// Every message of one author lies on a tree by prev. The engine splits each tree into
// segments: runs of messages where each one is its predecessor's first child. An author who
// never forked has exactly one segment, and "x is on the prev-chain of h" becomes "same
// segment, x.seq ≤ h.seq". A counted listing of head h by witness w raises, for h's segment
// and each ancestor segment, the highest seq w supports there from the checkpoint's epoch on
// (a staircase over epochs). For epoch k, the messages of a segment that a quorum supports
// are a prefix, found by sorting that segment's witnesses by their supported seq. C_k then
// keeps C_{k−1} and decides the new candidates in lamport order: a candidate stays iff its
// prev and parents are in. Cost per cut: one pass over the listed segments plus the
// candidates; per Add, one step per listed head.
package epoch
