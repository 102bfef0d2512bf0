package ingest

import (
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/guild-net/guild/msg"
)

// sortByLamport sorts envs by (lamport, id) and returns them. It sorts small keys
// rather than the envelopes, so that a comparison does not chase two pointers into a
// heap of 100,000 envelopes.
func sortByLamport(envs []*msg.Envelope) []*msg.Envelope {
	type key struct {
		lamport, id uint64 // id: its first 8 bytes, big-endian, so the order is the bytes'
		i           int
	}
	keys := make([]key, len(envs))
	for i, e := range envs {
		keys[i] = key{e.Body.Lamport, binary.BigEndian.Uint64(e.ID[:8]), i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.lamport, b.lamport); c != 0 {
			return c
		}
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return slices.Compare(envs[a.i].ID[8:], envs[b.i].ID[8:])
	})
	out := make([]*msg.Envelope, len(envs))
	for j, k := range keys {
		out[j] = envs[k.i]
	}
	return out
}

// replayOrder hands emit the envelopes sorted by (lamport, id), holding each checkpoint back
// while the messages it lists may still be ahead, ancestors still first. The ledger's
// result does not depend on the order (SPEC §4, P1), but its cost does. A checkpoint
// lists heads that mostly come later in lamport order than the checkpoint itself, and
// the epoch engine parks every listed head it does not hold yet and looks it up again
// when it arrives; a checkpoint held back to the very end finds every head there, but
// long evicted from the cache. So a checkpoint comes out once a message timestamped
// more than listLagMs after it comes up (a witness lists only what it received, and
// nothing it received can be timestamped further ahead of its clock than the future
// bound of SPEC §3), or earlier when a message descends from it. Envelopes go to emit
// as they are ordered, while this pass has them in cache; emit's error stops it.
func replayOrder(sorted []*msg.Envelope, emit func(*msg.Envelope) error) error {
	held := make(map[msg.ID]*msg.Envelope)
	var queue []*msg.Envelope // held-back checkpoints in lamport order
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
	for _, e := range sorted {
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
