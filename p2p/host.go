package p2p

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
)

// Protocol ids of the two stream protocols.
const (
	SyncProtocol protocol.ID = "/guild/sync/1.0.0"
	BlobProtocol protocol.ID = "/guild/blob/1.0.0"
)

// Deps are what the node plugs into the host.
type Deps struct {
	Key     identity.Key // the expert's key: the host's identity
	Network msg.ID       // names the gossip topic
	// Validator judges gossiped envelopes; required when gossip is on.
	Validator Validator
	// Ingester and Log make sync work; sync is off when either is nil.
	Ingester Ingester
	Log      LogSource
	// Blobs makes the blob protocol work; it is off when nil.
	Blobs BlobStore
}

// Host is a running libp2p host with Guild's gossip, sync, blob and
// discovery services.
type Host struct {
	cfg  config
	deps Deps
	log  *slog.Logger
	h    host.Host
	m    *metrics

	ps    *pubsub.PubSub
	topic *pubsub.Topic
	sub   *pubsub.Subscription

	sync  *syncer
	blobs *blobService
	disc  *discovery

	scoreMu sync.Mutex
	scores  map[peer.ID]float64 // gossipsub's latest view, from the inspector
	pen     map[peer.ID]penalty // application penalties

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type penalty struct {
	points float64
	at     time.Time
}

// Score thresholds (docs/rationale.md (p2p)). One invalid envelope costs
// InvalidWeight·n² in P4, so the third one from a peer with no positive
// score drops it under GraylistThreshold.
const (
	GossipThreshold   = -10.0
	PublishThreshold  = -50.0
	GraylistThreshold = -80.0
	invalidWeight     = -10.0
	penaltyHalfLife   = 10 * time.Minute
)

// New starts a host. ctx bounds start-up only; Close stops the host.
func New(ctx context.Context, d Deps, opts ...Option) (*Host, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("p2p: %w", err)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	if cfg.registerer == nil {
		cfg.registerer = prometheus.NewRegistry()
	}
	if cfg.gossip && d.Validator == nil {
		return nil, errors.New("p2p: gossip needs a Validator")
	}
	priv, err := d.Key.Libp2p()
	if err != nil {
		return nil, fmt.Errorf("p2p: identity: %w", err)
	}
	rm, err := newResourceManager()
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	cm, err := connmgr.NewConnManager(cfg.connLow, cfg.connHigh, connmgr.WithGracePeriod(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	lopts := []libp2p.Option{
		libp2p.Identity(priv),
		libp2p.ListenAddrStrings(cfg.listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableRelay(),
		libp2p.PrometheusRegisterer(cfg.registerer),
	}
	lh, err := libp2p.New(lopts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: libp2p host: %w", err)
	}
	hctx, cancel := context.WithCancel(context.Background())
	h := &Host{cfg: cfg, deps: d, log: cfg.logger.With("peer", lh.ID().ShortString()), h: lh,
		scores: make(map[peer.ID]float64), pen: make(map[peer.ID]penalty), ctx: hctx, cancel: cancel}
	h.m, err = newMetrics(cfg.registerer, func() float64 { return float64(len(lh.Network().Peers())) })
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("p2p: metrics: %w", err)
	}
	if cfg.gossip {
		if err := h.startGossip(); err != nil {
			h.Close()
			return nil, err
		}
	}
	if d.Blobs != nil {
		h.blobs = newBlobService(h)
		lh.SetStreamHandler(BlobProtocol, h.blobs.serve)
	}
	if d.Log != nil && d.Ingester != nil {
		h.sync = newSyncer(h)
		lh.SetStreamHandler(SyncProtocol, h.sync.serve)
		h.sync.start()
	}
	h.disc, err = startDiscovery(ctx, h)
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// newResourceManager builds fixed limits (not autoscaled, so a node behaves
// the same on every machine). Per peer: 8 connections, 512 streams; the blob
// protocol gets 16 streams per peer so the application's own limit of 8
// concurrent requests answers "busy" before libp2p resets streams.
func newResourceManager() (network.ResourceManager, error) {
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: 512, ConnsInbound: 256, ConnsOutbound: 256,
			Streams: 8192, StreamsInbound: 4096, StreamsOutbound: 4096,
			FD: 512, Memory: 1 << 30,
		},
		Transient: rcmgr.ResourceLimits{
			Conns: 64, ConnsInbound: 32, ConnsOutbound: 32,
			Streams: 256, StreamsInbound: 128, StreamsOutbound: 128,
			FD: 64, Memory: 64 << 20,
		},
		PeerDefault: rcmgr.ResourceLimits{
			Conns: 8, ConnsInbound: 4, ConnsOutbound: 4,
			Streams: 512, StreamsInbound: 256, StreamsOutbound: 256,
			FD: 8, Memory: 128 << 20,
		},
		ProtocolPeer: map[protocol.ID]rcmgr.ResourceLimits{
			SyncProtocol: {Streams: 8, StreamsInbound: 4, StreamsOutbound: 4, Memory: 64 << 20},
			BlobProtocol: {Streams: 32, StreamsInbound: 16, StreamsOutbound: 16, Memory: 96 << 20},
		},
	}
	limits := partial.Build(rcmgr.DefaultLimits.AutoScale())
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
}

// ID is the host's peer id (the expert's account).
func (h *Host) ID() peer.ID { return h.h.ID() }

// Libp2p exposes the underlying host (for the node's status API and tests).
func (h *Host) Libp2p() host.Host { return h.h }

// AddrInfo gives the host's id and listen addresses, to hand to another
// host's Connect or bootstrap list.
func (h *Host) AddrInfo() peer.AddrInfo {
	return peer.AddrInfo{ID: h.h.ID(), Addrs: h.h.Addrs()}
}

// Addrs gives the full dialable addresses ("…/p2p/12D3KooW…").
func (h *Host) Addrs() []string {
	var out []string
	for _, a := range h.h.Addrs() {
		out = append(out, a.Encapsulate(ma.StringCast("/p2p/"+h.h.ID().String())).String())
	}
	return out
}

// Connect dials a peer.
func (h *Host) Connect(ctx context.Context, ai peer.AddrInfo) error {
	if err := h.h.Connect(ctx, ai); err != nil {
		return fmt.Errorf("connect %s: %w", ai.ID.ShortString(), err)
	}
	return nil
}

// Peers lists connected peers.
func (h *Host) Peers() []peer.ID { return h.h.Network().Peers() }

// TopicPeers lists the peers known to be subscribed to the network's topic.
func (h *Host) TopicPeers() []peer.ID {
	if h.topic == nil {
		return nil
	}
	return h.topic.ListPeers()
}

// Score returns gossipsub's latest score of p (refreshed every second) and
// whether there is one.
func (h *Host) Score(p peer.ID) (float64, bool) {
	h.scoreMu.Lock()
	defer h.scoreMu.Unlock()
	s, ok := h.scores[p]
	return s, ok
}

// Penalize lowers p's application score by points (decaying with a 10-minute
// half-life); the node calls it for misbehaviour it sees outside p2p.
func (h *Host) Penalize(p peer.ID, points float64, why string) {
	h.scoreMu.Lock()
	cur := h.pen[p]
	cur.points = decayed(cur, time.Now()) + points
	cur.at = time.Now()
	h.pen[p] = cur
	h.scoreMu.Unlock()
	h.m.penalties.Inc()
	h.log.Info("peer penalised", "remote", p.ShortString(), "points", points, "why", why)
}

func decayed(p penalty, now time.Time) float64 {
	if p.points == 0 {
		return 0
	}
	return p.points * math.Exp2(-float64(now.Sub(p.at))/float64(penaltyHalfLife))
}

// appScore is gossipsub's P5: minus the decayed application penalty points.
func (h *Host) appScore(p peer.ID) float64 {
	h.scoreMu.Lock()
	defer h.scoreMu.Unlock()
	pp, ok := h.pen[p]
	if !ok {
		return 0
	}
	return -decayed(pp, time.Now())
}

// Close stops every service and the libp2p host. It is safe to call twice.
func (h *Host) Close() error {
	var err error
	h.once.Do(func() {
		h.cancel()
		if h.disc != nil {
			h.disc.close()
		}
		if h.sub != nil {
			h.sub.Cancel()
		}
		if h.topic != nil {
			_ = h.topic.Close()
		}
		err = h.h.Close()
		h.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("p2p: close: %w", err)
	}
	return nil
}

// loopbackNets is the IP-colocation whitelist: a devnet or test runs many
// hosts on one machine.
func loopbackNets() []*net.IPNet {
	_, v4, _ := net.ParseCIDR("127.0.0.0/8")
	_, v6, _ := net.ParseCIDR("::1/128")
	return []*net.IPNet{v4, v6}
}
