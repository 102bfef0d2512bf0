package duty

import (
	"fmt"

	"github.com/guild-net/guild/msg"
)

// EnvelopeOverhead bounds the bytes a sealed envelope adds around its payload, whatever
// the chain position of the checkpoint (WIRE §1–§2, widest encodings):
//
//	envelope array head 1 + body bstr head ≤ 5 + signature 2+64                     =  72
//	body map head 1 + version 2 + network 35 + author 35 + seq ≤ 10 + prev 35
//	+ parents 1+1+16·34 + lamport ≤ 10 + ts ≤ 10 + kind 2 + payload key 1 + head ≤ 5 = 692
//
// The bound is at most 5 bytes above the exact size of a body with 16 parents and
// 9-byte integers (tested), so deciding inline versus blob with it never produces an
// envelope over envelope_max_bytes and moves at most one head to a blob.
const EnvelopeOverhead = 764

// Checkpoint is a checkpoint ready to sign.
type Checkpoint struct {
	Payload *msg.Checkpoint
	// Blob, when not nil, is the heads blob Payload.HeadsBlob names. The node stores
	// it durably (and pins it) before signing: a checkpoint whose blob is not held
	// counts as not held (SPEC §4).
	Blob []byte
}

// Empty is the checkpoint a witness signs for an epoch it missed: no heads, no root.
func Empty(k uint64) Checkpoint {
	return Checkpoint{Payload: &msg.Checkpoint{Epoch: k}}
}

// Root gives the state root a checkpoint for k carries: the signer's root after k−1
// if it has one, else none (SPEC §4: duty never waits). rootAfter is the node's view
// of its computed epochs.
func Root(k uint64, rootAfter func(j uint64) (msg.ID, bool)) *msg.ID {
	if k == 0 {
		return nil
	}
	r, ok := rootAfter(k - 1)
	if !ok {
		return nil
	}
	return &r
}

// Build assembles the checkpoint for epoch k from heads (as Heads returns them) and
// root. The heads go inline unless the sealed envelope could then exceed envelopeMax
// (envelope_max_bytes; 0 means the WIRE default), in which case they go as a heads
// blob. An error means the heads are not sorted and unique by (author, seq, id).
func Build(k uint64, heads []msg.Head, root *msg.ID, envelopeMax int) (Checkpoint, error) {
	if envelopeMax <= 0 {
		envelopeMax = msg.DefaultEnvelopeMax
	}
	cp := &msg.Checkpoint{Epoch: k, StateRoot: root}
	if len(heads) == 0 {
		return Checkpoint{Payload: cp}, nil
	}
	cp.Heads = heads
	p, err := msg.EncodePayload(cp)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %d: %w", k, err)
	}
	if len(p) <= envelopeMax-EnvelopeOverhead {
		return Checkpoint{Payload: cp}, nil
	}
	blob, err := msg.EncodeHeadsBlob(heads)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint %d heads blob: %w", k, err)
	}
	id := msg.BlobID(blob)
	return Checkpoint{Payload: &msg.Checkpoint{Epoch: k, HeadsBlob: &id, StateRoot: root}, Blob: blob}, nil
}
