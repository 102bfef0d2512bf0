package node

import (
	"context"

	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/p2p"
)

// Libp2p gives a TransportFactory that starts a real libp2p host (gossip, sync,
// blobs, discovery) with the node's key as its identity.
func Libp2p(key identity.Key, opts ...p2p.Option) TransportFactory {
	return func(ctx context.Context, in Inbound) (Transport, error) {
		h, err := p2p.New(ctx, p2p.Deps{Key: key, Network: in.Network, Validator: in.Validator,
			Ingester: in.Ingester, Log: in.Log, Blobs: in.Blobs}, opts...)
		if err != nil {
			return nil, err
		}
		return &HostTransport{Host: h}, nil
	}
}

// HostTransport adapts a *p2p.Host to Transport. Host is exported so callers (tests,
// the devnet) can connect peers directly.
type HostTransport struct {
	*p2p.Host
}

// Peers implements Transport.
func (t *HostTransport) Peers() []Peer {
	ids := t.Host.Peers()
	out := make([]Peer, 0, len(ids))
	ps := t.Libp2p().Peerstore()
	for _, id := range ids {
		p := Peer{ID: id.String()}
		p.Score, p.HasScore = t.Score(id)
		for _, a := range ps.Addrs(id) {
			p.Addrs = append(p.Addrs, a.String())
		}
		out = append(out, p)
	}
	return out
}
