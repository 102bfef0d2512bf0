package ingest

import "github.com/guild-net/guild/msg"

// replayOrder hands emit the stored envelopes in their order, holding each
// checkpoint back while the messages it lists may still be ahead. The ledger's
// result does not depend on the order (SPEC §4, P1), but its cost does: the epoch
// engine parks every listed head it does not hold yet and looks it up again when it
// arrives. A checkpoint held back to the very end would find every head there, but
// long evicted from the cache. So a checkpoint comes out once a message timestamped
// more than listLagMs after it comes up (a witness lists only what it received, and
// nothing it received can be timestamped further ahead of its clock than the future
// bound of SPEC §3), or earlier when a message descends from it, which keeps a
// checkpoint before its descendants. Envelopes go to emit as they are ordered, while
// this pass has them in cache; emit's error stops it.
func replayOrder(envs []*msg.Envelope, emit func(*msg.Envelope) error) error {
	held := make(map[msg.ID]*msg.Envelope)
	var queue []*msg.Envelope // held-back checkpoints in store order
	var stack []*msg.Envelope
	// release emits a held-back checkpoint after the held-back checkpoints it
	// descends from (its own chain's earlier checkpoints, typically).
	release := func(id msg.ID) error {
		e, ok := held[id]
		if !ok {
			return nil
		}
		delete(held, id)
		stack = append(stack[:0], e)
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if anc := heldAncestor(held, top); anc != nil {
				delete(held, anc.ID)
				stack = append(stack, anc)
				continue
			}
			stack = stack[:len(stack)-1]
			if err := emit(top); err != nil {
				return err
			}
		}
		return nil
	}
	for _, e := range envs {
		for len(queue) > 0 && queue[0].Body.TsMs+listLagMs < e.Body.TsMs {
			if err := release(queue[0].ID); err != nil {
				return err
			}
			queue = queue[1:]
		}
		if len(held) > 0 {
			b := &e.Body
			if b.Prev != nil {
				if err := release(*b.Prev); err != nil {
					return err
				}
			}
			for _, p := range b.Parents {
				if err := release(p); err != nil {
					return err
				}
			}
		}
		if e.Body.Kind == msg.KindCheckpoint {
			held[e.ID] = e
			queue = append(queue, e)
			continue
		}
		if err := emit(e); err != nil {
			return err
		}
	}
	for _, e := range queue {
		if err := release(e.ID); err != nil {
			return err
		}
	}
	return nil
}

// listLagMs is how far past a checkpoint's timestamp the messages it lists can be
// timestamped: the 5 s future bound of SPEC §3.
const listLagMs = 5_000

// heldAncestor gives a held-back checkpoint that e names as prev or parent, or nil.
func heldAncestor(held map[msg.ID]*msg.Envelope, e *msg.Envelope) *msg.Envelope {
	b := &e.Body
	if b.Prev != nil {
		if a, ok := held[*b.Prev]; ok {
			return a
		}
	}
	for _, p := range b.Parents {
		if a, ok := held[p]; ok {
			return a
		}
	}
	return nil
}
