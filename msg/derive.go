package msg

import (
	"encoding/binary"
	"io"

	"github.com/zeebo/blake3"
)

// Domain tags of WIRE §4. Each preimage starts with its tag, NUL included.
const (
	tagIncinerator = "guild/v1/incinerator\x00"
	tagGenesis     = "guild/v1/genesis\x00"
	tagBatch       = "guild/v1/batch\x00"
	tagSeed        = "guild/v1/seed\x00"
	tagCommittee   = "guild/v1/committee\x00"
	tagCommit      = "guild/v1/commit\x00"
	tagUnavailable = "guild/v1/unavailable\x00"
	tagEvidence    = "guild/v1/evidence\x00"
	tagWorkPool    = "guild/v1/workpool\x00"
	tagRand        = "guild/v1/rand\x00"
	tagOutcome     = "guild/v1/outcome\x00"
	tagState       = "guild/v1/state\x00"
	// SigDomain prefixes the message id in every signature.
	SigDomain = "guild/v1/msg\x00"
)

// Incinerator is the post id that burns whatever is cited to it.
var Incinerator = ID(blake3.Sum256([]byte(tagIncinerator)))

// TaggedHash is BLAKE3-256 of tag ‖ parts. The tag must carry its trailing NUL.
func TaggedHash(tag string, parts ...[]byte) ID {
	h := blake3.New()
	_, _ = h.WriteString(tag)
	for _, p := range parts {
		_, _ = h.Write(p)
	}
	var id ID
	h.Sum(id[:0])
	return id
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// NetworkID derives the network id from the canonical CBOR of the genesis object.
func NetworkID(genesisCBOR []byte) ID { return TaggedHash(tagGenesis, genesisCBOR) }

// BatchHash hashes the ids of one batch; ids must be in ascending order.
func BatchHash(ids []ID) ID {
	h := blake3.New()
	_, _ = h.WriteString(tagBatch)
	for i := range ids {
		_, _ = h.Write(ids[i][:])
	}
	var id ID
	h.Sum(id[:0])
	return id
}

// Seed derives seed_k from seed_{k-1} (the network id for k = 0) and batch k's hash.
func Seed(k uint64, prev ID, batchHash ID) ID {
	return TaggedHash(tagSeed, u64(k), prev[:], batchHash[:])
}

// CommitteeStream is the XOF that committee draws read 8-byte words from.
func CommitteeStream(seed, request ID, run, round uint32) io.Reader {
	h := blake3.New()
	_, _ = h.WriteString(tagCommittee)
	_, _ = h.Write(seed[:])
	_, _ = h.Write(request[:])
	_, _ = h.Write(u32(run))
	_, _ = h.Write(u32(round))
	return h.Digest()
}

// JobRandomStream is the XOF a job's random_get reads, from offset 0.
func JobRandomStream(request ID, run uint32) io.Reader {
	h := blake3.New()
	_, _ = h.WriteString(tagRand)
	_, _ = h.Write(request[:])
	_, _ = h.Write(u32(run))
	return h.Digest()
}

// Commitment binds a worker to an outcome without revealing it.
func Commitment(request ID, run, round uint32, worker Account, outcome ID, salt [32]byte) ID {
	return TaggedHash(tagCommit, request[:], u32(run), u32(round), worker[:], outcome[:], salt[:])
}

// UnavailableOutcome is the outcome U a member commits when it cannot fetch the blobs.
func UnavailableOutcome(request ID, run uint32) ID {
	return TaggedHash(tagUnavailable, request[:], u32(run))
}

// EvidencePostID is the id of the post the state creates for a winning result.
func EvidencePostID(request ID, run, round uint32) ID {
	return TaggedHash(tagEvidence, request[:], u32(run), u32(round))
}

// WorkPoolID is the id of the pool opened on an evidence post.
func WorkPoolID(evidencePost ID) ID { return TaggedHash(tagWorkPool, evidencePost[:]) }

// OutcomeHash hashes an execution outcome; stdoutHash is BLAKE3(stdout), the output blob id.
func OutcomeHash(class uint8, code uint32, fuelUsed uint64, stdoutHash ID) ID {
	return TaggedHash(tagOutcome, []byte{class}, u32(code), u64(fuelUsed), stdoutHash[:])
}

// StateRootTag is the tag of the overall state root.
const StateRootTag = tagState

// ComponentTag gives the tag of one state-root component, e.g. "accounts".
func ComponentTag(name string) string { return "guild/v1/state/" + name + "\x00" }

// Topic is the gossipsub topic of a network: "guild/v1/" and the lowercase hex
// of its id.
func Topic(network ID) string { return "guild/v1/" + network.String() }
