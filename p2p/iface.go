package p2p

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
)

// Verdict is a validator's answer about one envelope, mapped onto gossipsub's
// Accept / Reject / Ignore.
type Verdict uint8

const (
	// Ignore drops the envelope without blame: duplicates, orphans, future
	// messages, unadmitted authors, and anything the node could not judge.
	Ignore Verdict = iota
	// Accept forwards the envelope; the node has put it in the store's group
	// commit.
	Accept
	// Reject drops the envelope and blames the sender (stateless-invalid).
	Reject
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	default:
		return "ignore"
	}
}

// Outcome is the node's answer about one envelope. Missing lists ancestors the
// node lacks (an orphan's parents); p2p fetches them by id.
type Outcome struct {
	Verdict Verdict
	Missing []msg.ID
}

// Validator judges one gossiped envelope. The node decodes it (msg.Decode),
// puts it in the store's group commit and ingests it; Accept only once it is
// in the group commit (SPEC §1.4). It is called concurrently.
type Validator interface {
	Validate(ctx context.Context, from peer.ID, data []byte) Outcome
}

// Ingester takes envelopes that sync fetched from a peer, in causal order
// (ancestors first), and returns one Outcome per envelope. Batching lets the
// node verify signatures in one batch and wait for one group commit.
type Ingester interface {
	IngestBatch(ctx context.Context, from peer.ID, envs [][]byte) []Outcome
}

// Head is one entry of a node's sync frontier.
type Head struct {
	Author msg.Account
	Seq    uint64
	ID     msg.ID
}

// LogSource is what sync reads from the node.
type LogSource interface {
	// Frontier returns the node's frontier sorted by (author, seq, id): for
	// each author, the ids at its highest stored seq and every id of its fork
	// evidence. Two nodes holding the same messages have the same frontier.
	Frontier() ([]Head, error)
	// Range calls fn with the envelopes of author with from ≤ seq ≤ to, in
	// (seq, id) order, until fn returns false.
	Range(author msg.Account, from, to uint64, fn func(seq uint64, env []byte) bool) error
	// Get returns the envelope with id.
	Get(id msg.ID) ([]byte, bool, error)
	// Has reports whether the node holds id.
	Has(id msg.ID) bool
	// Missing lists ids the node wants: orphans' missing ancestors and
	// checkpoint-listed heads it does not hold.
	Missing() []msg.ID
}

// BlobStore holds blobs. *store.Store implements it.
type BlobStore interface {
	HasBlob(id msg.ID) (bool, error)
	BlobSize(id msg.ID) (int64, bool, error)
	BlobChunk(id msg.ID, i uint32) ([]byte, bool, error)
	PutBlob(ctx context.Context, content []byte) (msg.ID, error)
}
