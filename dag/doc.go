// Package dag owns the log as a graph (SPEC §3): author chains linked by prev, parent
// links across authors, structural validity, the held set, branch heads, fork
// evidence, and the three bounded waiting rooms for messages that cannot enter yet
// (orphans missing an ancestor, deferred future messages, unadmitted authors).
//
// It receives envelopes that already passed every stateless check (msg.Decode) and
// does everything that needs other messages. It is pure: time comes in as nowMs,
// admission as an Admitter the caller implements from its state, and persistence is
// the caller's. Re-ingesting the same set of envelopes, in any order, with
// duplicates, gives the same dag: which messages are in it, which are held, the
// heads and the forks depend only on the set (as long as no buffer overflowed).
//
// A node drives it like this:
//
//	d := dag.New(dag.DefaultConfig())
//	// for each envelope from pubsub, sync, the API or the store on restart:
//	r := d.Ingest(env, clock.NowMs(), admitter)
//	switch r.Status {
//	case dag.Orphan:  // ask sync for r.Missing
//	case dag.Rejected: // r.Reason: the author's message is structurally invalid (evidence)
//	}
//	// r.Added: new dag nodes (ancestors first); each n.Held says whether it counts.
//	// r.Evicted: ids dropped from a buffer; the store may forget them.
//	// every so often (see NextDue), and with the receive time nowMs:
//	for _, r := range d.Tick(clock.NowMs(), admitter) { ... }
//	// when a counted checkpoint lists a message of an unadmitted author:
//	for _, r := range d.Promote(author) { ... }
//	// rebuilding from the node's own store, in the order it stored (arrival):
//	d.Restoring(true)  // no orphan bound: stored children may come first
//	...
//	d.Restoring(false) // the bound again
//
// Order of checks in Ingest: duplicate (the id is stored in any form), future
// (ts_ms > now + FutureSkewMs → Deferred), admission (→ Ignored), ancestors in the
// dag (→ Orphan), then structure (→ Accepted or Rejected). A message enters the dag
// only when every ancestor has; its validity and held flag are decided then, from
// it and its ancestors alone, and never change. Readers for the epoch rule: Get,
// Held, Heads, OnChain, Ancestor, LatestBefore, HeldAt, Forks, ForksOf, Authors; for
// sync: Has, Envelope, Orphans, MissingIDs, Unadmitted, Deferred; for metrics: Stats.
//
// Ingest expects an envelope from msg.Decode (or msg.Seal, or a msg.StoredDecoder on
// a rebuild, whose envelopes keep no bytes: the buffer bounds count Envelope.Size);
// it never checks signatures, encodings or anything else decidable without other
// messages.
package dag
