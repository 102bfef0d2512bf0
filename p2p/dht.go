package p2p

import (
	"context"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	dutil "github.com/libp2p/go-libp2p/p2p/discovery/util"
)

const (
	// DHTPrefix keeps Guild's DHT apart from the public IPFS one.
	DHTPrefix      = "/guild"
	dhtFindEvery   = time.Minute
	dhtDialPerFind = 16
)

// startDHT joins the Kademlia DHT under the private prefix, seeded by the
// bootstrap peers, advertises the network's topic as a rendezvous and dials
// peers found under it.
func startDHT(ctx context.Context, h *Host) (closer, error) {
	kd, err := dht.New(h.ctx, h.h,
		dht.ProtocolPrefix(DHTPrefix),
		dht.Mode(dht.ModeAutoServer),
		dht.BootstrapPeers(h.cfg.bootstrap...))
	if err != nil {
		return nil, fmt.Errorf("p2p: DHT: %w", err)
	}
	if err := kd.Bootstrap(ctx); err != nil {
		_ = kd.Close()
		return nil, fmt.Errorf("p2p: DHT bootstrap: %w", err)
	}
	rd := drouting.NewRoutingDiscovery(kd)
	ns := Topic(h.deps.Network)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		dutil.Advertise(h.ctx, rd, ns)
		t := time.NewTicker(dhtFindEvery)
		defer t.Stop()
		for {
			found, err := dutil.FindPeers(h.ctx, rd, ns)
			if err == nil {
				dialFound(h, found)
			}
			select {
			case <-h.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return kd, nil
}

func dialFound(h *Host, found []peer.AddrInfo) {
	n := 0
	for _, ai := range found {
		if n >= dhtDialPerFind {
			return
		}
		if ai.ID == h.h.ID() || len(ai.Addrs) == 0 || len(h.h.Network().ConnsToPeer(ai.ID)) > 0 {
			continue
		}
		n++
		ctx, cancel := context.WithTimeout(h.ctx, dialTimeout)
		_ = h.h.Connect(ctx, ai)
		cancel()
	}
}
