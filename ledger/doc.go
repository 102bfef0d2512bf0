// Package ledger is the deterministic pipeline of one node: envelopes go into the
// DAG, held messages into the epoch engine, and agreed batches into state.Apply, with
// a state snapshot per epoch. It is pure like the packages it composes (time is passed
// in), so the node, `guild log inspect`, the replay benchmark and the property tests all
// drive the same code.
//
// Usage:
//
//	l, _ := ledger.New(gen, ledger.Options{})
//	for each decoded envelope e:   l.Ingest(e, nowMs)
//	whenever the clock moves:      l.Tick(nowMs)
//	to bring epochs up to date:    l.Advance(target)   // recomputes from the earliest changed epoch
//	to read:                       l.Epoch(k), l.Latest(), l.Settled(k)
//	to rebuild from the store:     l.Reserve(n); l.Restoring(true)
//	                               l.IngestAdmitted(e, nowMs) for each stored envelope, in store order
//	                               l.Restoring(false)
//
// Advance recomputes from the earliest epoch a new message or checkpoint may have
// changed, and stops early by SPEC §4's rule: two consecutive epochs whose cut and
// state root come out unchanged, once every newly listed or held head is in the cut.
package ledger
