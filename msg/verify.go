package msg

import (
	"crypto/ed25519"

	"github.com/hdevalence/ed25519consensus"
)

// VerifyBatch checks the signatures of envs together and returns the indices of
// the envelopes whose signature is bad, ascending; nil means all are good.
//
// ZIP-215 makes batch and single verification agree on every input, so the result
// is the same as calling VerifySignature on each: one multi-scalar multiplication
// decides the common case, and only a failing batch falls back to checking each
// envelope alone to name the culprits. An ingest pipeline decodes with
// Options.SkipVerify, collects a batch, and drops or punishes those listed here.
func VerifyBatch(envs []*Envelope) []int {
	switch len(envs) {
	case 0:
		return nil
	case 1:
		// A batch of one costs more than a single check.
		if envs[0].VerifySignature() != nil {
			return []int{0}
		}
		return nil
	}
	bv := ed25519consensus.NewPreallocatedBatchVerifier(len(envs))
	var m [len(SigDomain) + 32]byte
	copy(m[:], SigDomain)
	for _, e := range envs {
		copy(m[len(SigDomain):], e.ID[:])
		bv.Add(ed25519.PublicKey(e.Body.Author[:]), m[:], e.Sig[:])
	}
	if bv.Verify() {
		return nil
	}
	var bad []int
	for i, e := range envs {
		if e.VerifySignature() != nil {
			bad = append(bad, i)
		}
	}
	return bad
}
