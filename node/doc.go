// Package node composes one Guild peer: the durable store, the ingest pipeline (dag,
// epoch engine, state via package ledger), the node's own author chain, witness duty,
// and the network (a Transport). It is the imperative shell around the pure core, in
// the manner of etcd-raft's node.go: time enters only through Clock, the network only
// through Transport, and one goroutine (the loop) owns every piece of mutable state.
//
// The loop:
//
//	inbound envelopes (gossip validator, sync batches, API submits)
//	    → batched SubmitBatch (signatures verified together, group commit, ledger ingest)
//	    → reply; the caller waits for the store ticket OUTSIDE the loop, then Accepts
//	every tick (epoch_ms/20):
//	    release deferred messages → Advance to the newest epoch whose end(k)+g passed
//	    → publish a snapshot for readers → witness duty → ask sync for missing ids
//	closures from readers and from Sign run between those steps.
//
// Own messages (Sign, witness checkpoints) take the next seq, prev = the previous own
// message, parents = up to 16 other authors' heads in the newest computed cut (honest
// parent selection, SPEC §3), lamport = 1 + max, ts = now raised to the ancestors';
// they are fsynced before anyone sees them, and the chain position is recovered from
// the store at start, so a restart never reuses a seq. A message of the node's account
// that the node did not write stops all signing (key_in_use alarm).
//
// Witness duty (SPEC §4) is decided by package duty; the node flushes the store first
// (so listed messages and their receive times are durable), stores a heads blob
// durably when the list is too large, and signs empty checkpoints for epochs missed
// while down.
//
// Usage:
//
//	n, _ := node.New(node.Config{Genesis: g, Key: k, Store: st,
//		Transport: node.Libp2p(k, p2p.WithListenAddrs(...))})
//	n.Start(ctx)
//	defer n.Close()                 // then st.Close()
//	api.NewServer(n, reg, log)      // *Node implements api.Backend
package node
