package node

import (
	"context"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/p2p"
)

// Transport is everything the node asks of the network. *p2p.Host satisfies it
// through Libp2p; internal/testnet supplies an in-memory one. Keep it small: each
// method is one thing a node must be able to do, whatever carries the bytes.
type Transport interface {
	// Publish floods one of the node's own envelopes (or one a client submitted) to
	// the network. The node has made it durable first (SPEC §1.4).
	Publish(ctx context.Context, env []byte) error
	// Want asks the network for envelopes by id (orphans' ancestors, checkpoint-listed
	// heads the node does not hold). It returns at once; what arrives comes back
	// through Inbound.Ingester.
	Want(ids ...msg.ID)
	// FetchBlob makes sure the blob is in the node's blob store, fetching it from a
	// peer if needed and verifying it against id.
	FetchBlob(ctx context.Context, id msg.ID) error
	// Peers lists the connected peers.
	Peers() []Peer
	// Addrs gives the node's own dialable addresses (empty for in-memory transports).
	Addrs() []string
	// Close stops the transport; no Inbound call starts after it returns.
	Close() error
}

// Peer is one connected peer as the node reports it.
type Peer struct {
	ID       string  // libp2p peer id (the peer's account)
	Score    float64 // gossip score, when HasScore
	HasScore bool
	Addrs    []string
}

// Inbound is what the node hands a transport: the handlers for what arrives from
// the network, and what the transport serves to peers. The interfaces are p2p's, so
// a transport built on anything else speaks the same contract.
type Inbound struct {
	Network   msg.ID
	Validator p2p.Validator // gossip: Accept only once the envelope is in the group commit
	Ingester  p2p.Ingester  // sync: batches in causal order
	Log       p2p.LogSource // what sync serves and what the node is missing
	Blobs     p2p.BlobStore // what the blob protocol serves and where fetched blobs go
}

// TransportFactory starts a transport wired to the node's inbound handlers. The node
// calls it once, from Start, before its ingest loop runs; inbound calls made before
// the loop runs wait for it.
type TransportFactory func(ctx context.Context, in Inbound) (Transport, error)
