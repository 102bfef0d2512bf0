// Package ingest is the path from bytes to state on one goroutine: decode with every
// stateless check, verify signatures (in batches where several envelopes arrive
// together), write to the store's group commit, and hand the envelope to the ledger.
// It also rebuilds the ledger from the store at start-up (Load): the stored envelopes
// were checked when they arrived, so they are decoded with their recorded ids and no
// signature check, and replayed in the order the store holds them (arrival order,
// which the dag accepts whatever it is), computing each epoch as the replay passes it.
//
// The order is what SPEC §1.4 asks for: a message is in the store's group commit
// before the ledger sees it, so anything a node has acted on (or will list in a
// checkpoint, or acknowledge to a client after waiting for its ticket) survives a
// crash. The Pipeline is not safe for concurrent use; the node owns one ingest loop.
package ingest
