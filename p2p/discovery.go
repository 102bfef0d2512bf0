package p2p

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

const (
	bootstrapEvery = 30 * time.Second // redial bootstrap peers that dropped
	dialTimeout    = 10 * time.Second
	protectTag     = "guild-bootstrap"
)

type discovery struct {
	h    *Host
	mdns interface{ Close() error }
	dht  closer
	once sync.Once
}

type closer interface{ Close() error }

// mdnsService names the mDNS service per network, so two devnets on one LAN
// do not meet.
func mdnsService(h *Host) string { return "guild-" + h.deps.Network.String()[:16] }

func startDiscovery(ctx context.Context, h *Host) (*discovery, error) {
	d := &discovery{h: h}
	for _, ai := range h.cfg.bootstrap {
		h.h.ConnManager().Protect(ai.ID, protectTag)
	}
	if len(h.cfg.bootstrap) > 0 {
		h.wg.Add(1)
		go d.bootstrapLoop()
	}
	if h.cfg.mdns {
		svc := mdns.NewMdnsService(h.h, mdnsService(h), mdnsNotifee{h})
		if err := svc.Start(); err != nil {
			h.log.Warn("mDNS discovery unavailable", "err", err)
		} else {
			d.mdns = svc
		}
	}
	if h.cfg.dht {
		c, err := startDHT(ctx, h)
		if err != nil {
			return nil, err
		}
		d.dht = c
	}
	return d, nil
}

func (d *discovery) bootstrapLoop() {
	defer d.h.wg.Done()
	t := time.NewTicker(bootstrapEvery)
	defer t.Stop()
	for {
		d.dialBootstrap()
		select {
		case <-d.h.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *discovery) dialBootstrap() {
	for _, ai := range d.h.cfg.bootstrap {
		if ai.ID == d.h.h.ID() || len(d.h.h.Network().ConnsToPeer(ai.ID)) > 0 {
			continue
		}
		ctx, cancel := context.WithTimeout(d.h.ctx, dialTimeout)
		if err := d.h.h.Connect(ctx, ai); err != nil && d.h.ctx.Err() == nil {
			d.h.log.Info("bootstrap peer unreachable", "remote", ai.ID.ShortString(), "err", err)
		}
		cancel()
	}
}

func (d *discovery) close() {
	d.once.Do(func() {
		if d.mdns != nil {
			_ = d.mdns.Close()
		}
		if d.dht != nil {
			_ = d.dht.Close()
		}
	})
}

type mdnsNotifee struct{ h *Host }

// HandlePeerFound dials a peer found on the LAN (in the background: mDNS
// calls this from its own loop).
func (n mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	h := n.h
	if ai.ID == h.h.ID() || h.ctx.Err() != nil {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(h.ctx, dialTimeout)
		defer cancel()
		if err := h.h.Connect(ctx, ai); err != nil {
			h.log.Debug("mDNS peer unreachable", "remote", ai.ID.ShortString(), "err", err)
		}
	}()
}
