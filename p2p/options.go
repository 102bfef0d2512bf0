package p2p

import (
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/guild-net/guild/msg"
)

// Defaults. Every limit is an explicit number so an operator can reason
// about a node's worst case; docs/rationale.md (p2p) says why each is what it is.
const (
	DefaultSyncInterval  = 30 * time.Second // periodic anti-entropy round
	DefaultStreamTimeout = 20 * time.Second // deadline for each frame read or write
	DefaultMaxFrame      = 4 << 20          // largest frame either protocol accepts
	DefaultRangeLimit    = 50_000           // envelopes per RANGE response
	DefaultRangeBytes    = 64 << 20         // envelope bytes per RANGE response
	MaxGetIDs            = 4096             // ids per GET request
	MaxRanges            = 65_536           // ranges per RANGE request
	MaxHeadEntries       = 1 << 20          // frontier entries per HEADS response
	BlobChunkSize        = 256 << 10        // SPEC §5
	MaxBlobSize          = 64 << 20         // SPEC §5
	BlobRequestsPerPeer  = 8                // SPEC §5: concurrent blob requests per peer
	DefaultConnLow       = 64               // connection manager: trim down to this
	DefaultConnHigh      = 128              // connection manager: start trimming above this
	DefaultSyncSessions  = 4                // concurrent pulling sync sessions
	DefaultWantRounds    = 64               // fetch-by-id rounds per session (ancestor depth)
	DefaultValidateConc  = 1024             // concurrent topic validations
	DefaultPeerQueue     = 256              // pubsub outbound RPC queue per peer
	DefaultSubBuffer     = 1024             // pubsub subscription buffer
	DefaultValidateQueue = 1024             // pubsub validation queue
)

// Option configures New.
type Option func(*config) error

type config struct {
	listen        []string
	bootstrap     []peer.AddrInfo
	mdns          bool
	dht           bool
	gossip        bool
	syncInterval  time.Duration
	streamTimeout time.Duration
	maxFrame      int
	rangeLimit    int
	rangeBytes    int
	envelopeMax   int
	connLow       int
	connHigh      int
	sessions      int
	wantRounds    int
	gossipParams  *pubsub.GossipSubParams
	registerer    prometheus.Registerer
	logger        *slog.Logger
	onDeliver     func(from peer.ID, data []byte)
	scoreInspect  time.Duration
	syncOnConnect bool
}

func defaultConfig() config {
	return config{
		listen:        []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"},
		mdns:          true,
		gossip:        true,
		syncInterval:  DefaultSyncInterval,
		streamTimeout: DefaultStreamTimeout,
		maxFrame:      DefaultMaxFrame,
		rangeLimit:    DefaultRangeLimit,
		rangeBytes:    DefaultRangeBytes,
		envelopeMax:   msg.DefaultEnvelopeMax,
		connLow:       DefaultConnLow,
		connHigh:      DefaultConnHigh,
		sessions:      DefaultSyncSessions,
		wantRounds:    DefaultWantRounds,
		scoreInspect:  time.Second,
		syncOnConnect: true,
	}
}

// WithListenAddrs sets the multiaddrs to listen on (TCP and/or QUIC), e.g.
// "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1".
func WithListenAddrs(addrs ...string) Option {
	return func(c *config) error { c.listen = append([]string(nil), addrs...); return nil }
}

// WithBootstrap sets peers to connect to at start and to keep connected.
func WithBootstrap(peers ...peer.AddrInfo) Option {
	return func(c *config) error { c.bootstrap = append(c.bootstrap, peers...); return nil }
}

// WithBootstrapAddrs is WithBootstrap from "/ip4/…/tcp/…/p2p/12D3KooW…" strings.
func WithBootstrapAddrs(addrs ...string) Option {
	return func(c *config) error {
		for _, a := range addrs {
			ai, err := peer.AddrInfoFromString(a)
			if err != nil {
				return fmt.Errorf("bootstrap address %q: %w", a, err)
			}
			c.bootstrap = append(c.bootstrap, *ai)
		}
		return nil
	}
}

// WithMDNS turns LAN discovery on or off (default on).
func WithMDNS(on bool) Option { return func(c *config) error { c.mdns = on; return nil } }

// WithDHT turns the Kademlia DHT (protocol prefix "/guild") on or off
// (default off).
func WithDHT(on bool) Option { return func(c *config) error { c.dht = on; return nil } }

// WithGossip turns the gossip topic on or off (default on). A node without
// gossip learns everything by sync.
func WithGossip(on bool) Option { return func(c *config) error { c.gossip = on; return nil } }

// WithSyncInterval sets how often sync runs with every connected peer; 0
// turns the periodic round off (connect-time and on-demand sync remain).
func WithSyncInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sync interval %v is negative", d)
		}
		c.syncInterval = d
		return nil
	}
}

// WithSyncOnConnect turns the sync session on every new connection on or off
// (default on).
func WithSyncOnConnect(on bool) Option {
	return func(c *config) error { c.syncOnConnect = on; return nil }
}

// WithStreamTimeout sets the deadline of each frame read and write.
func WithStreamTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("stream timeout %v must be positive", d)
		}
		c.streamTimeout = d
		return nil
	}
}

// WithEnvelopeMax sets envelope_max_bytes of the network (genesis).
func WithEnvelopeMax(n int) Option {
	return func(c *config) error {
		if n <= 0 || n > DefaultMaxFrame/2 {
			return fmt.Errorf("envelope max %d out of range 1..%d", n, DefaultMaxFrame/2)
		}
		c.envelopeMax = n
		return nil
	}
}

// WithRangeLimit caps the envelopes and bytes of one RANGE response, served
// and asked for.
func WithRangeLimit(msgs, bytes int) Option {
	return func(c *config) error {
		if msgs <= 0 || bytes <= 0 {
			return fmt.Errorf("range limit %d msgs / %d bytes must be positive", msgs, bytes)
		}
		c.rangeLimit, c.rangeBytes = msgs, bytes
		return nil
	}
}

// WithConnLimits sets the connection manager's low and high water marks.
func WithConnLimits(low, high int) Option {
	return func(c *config) error {
		if low <= 0 || high < low {
			return fmt.Errorf("connection limits low %d high %d: need 0 < low ≤ high", low, high)
		}
		c.connLow, c.connHigh = low, high
		return nil
	}
}

// WithGossipParams overrides gossipsub's mesh parameters (benchmarks).
func WithGossipParams(p pubsub.GossipSubParams) Option {
	return func(c *config) error { c.gossipParams = &p; return nil }
}

// WithMetrics registers the host's metrics (and libp2p's) on reg.
func WithMetrics(reg prometheus.Registerer) Option {
	return func(c *config) error { c.registerer = reg; return nil }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) error { c.logger = l; return nil } }

// WithDeliverHook calls fn for every gossip message delivered to the node's
// subscription (after the validator accepted it). fn must not block.
func WithDeliverHook(fn func(from peer.ID, data []byte)) Option {
	return func(c *config) error { c.onDeliver = fn; return nil }
}
