// Package p2p is the node's network shell: a go-libp2p host (TCP and QUIC,
// resource- and connection-manager limits, the expert's key as identity), the
// network's gossipsub topic with its validator and peer scoring, the
// anti-entropy sync protocol /guild/sync/1.0.0, the blob protocol
// /guild/blob/1.0.0 and peer discovery (bootstrap list, mDNS, optional DHT).
//
// It never decides what a message means. The node plugs in through small
// interfaces defined here, at the consumer:
//
//   - Validator judges one gossiped envelope (decode → group commit → ingest)
//     and answers Accept, Reject or Ignore.
//   - Ingester takes the envelopes sync fetched, in causal order, in batches.
//   - LogSource is what sync reads: the frontier of author heads, ranges by
//     (author, seq), envelopes by id, and the ids the node is missing.
//   - BlobStore holds blobs in 256 KiB chunks (*store.Store satisfies it).
//
// StoreLog adapts a *store.Store to LogSource, so a node (or a test) gets the
// sync frontier definition shared by every peer.
//
// Usage:
//
//	h, err := p2p.New(ctx, p2p.Deps{Key: key, Network: netID, Validator: v,
//		Ingester: in, Log: p2p.StoreLog{Store: st, MissingFn: m}, Blobs: st},
//		p2p.WithListenAddrs("/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"),
//		p2p.WithBootstrap(peers...))
//	defer h.Close()
//	h.Publish(ctx, ownEnvelope)   // after the envelope is fsynced (SPEC §1.4)
//	h.Want(missingIDs...)         // orphans' ancestors, unheld checkpoint heads
//	h.FetchBlob(ctx, id)          // provider search over connected peers
//
// Wire frames of both stream protocols: docs/protocol.md (peer-to-peer).
package p2p
