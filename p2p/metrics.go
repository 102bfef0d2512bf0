package p2p

import (
	"github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the host's Prometheus series. They live on the registerer given
// by WithMetrics (a private registry by default): no global state.
type metrics struct {
	validation *prometheus.CounterVec // gossip validation outcomes
	drops      *prometheus.CounterVec // gossip messages/RPCs dropped by a full queue
	syncRuns   *prometheus.CounterVec // sync sessions by result
	syncMsgs   *prometheus.CounterVec // envelopes received/served by sync
	blobs      *prometheus.CounterVec // blob fetches and serves by result
	penalties  prometheus.Counter     // application penalties given to peers
	peers      prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, peers func() float64) (*metrics, error) {
	m := &metrics{
		validation: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guild_p2p_gossip_validation_total",
			Help: "Gossip envelopes judged by the topic validator, by result (accept, reject, ignore, local).",
		}, []string{"result"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guild_p2p_gossip_dropped_total",
			Help: "Gossip traffic dropped because a bounded queue was full, by queue (peer_outbound, subscription, validation, throttled).",
		}, []string{"queue"}),
		syncRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guild_p2p_sync_sessions_total",
			Help: "Sync sessions run as the pulling side, by result (agreed, pulled, error).",
		}, []string{"result"}),
		syncMsgs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guild_p2p_sync_envelopes_total",
			Help: "Envelopes moved by sync, by direction (received, served, rejected).",
		}, []string{"direction"}),
		blobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guild_p2p_blob_requests_total",
			Help: "Blob requests, by side and result (fetch_ok, fetch_corrupt, fetch_error, serve_ok, serve_busy, serve_notfound, serve_error).",
		}, []string{"result"}),
		penalties: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "guild_p2p_peer_penalties_total",
			Help: "Application penalties (bad sync data, corrupt blob chunks) added to peer scores.",
		}),
		peers: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "guild_p2p_connected_peers",
			Help: "Peers with at least one open connection.",
		}, peers),
	}
	for _, c := range []prometheus.Collector{m.validation, m.drops, m.syncRuns, m.syncMsgs, m.blobs, m.penalties, m.peers} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// dropTracer counts pubsub's queue drops and validation outcomes it sees.
type dropTracer struct{ m *metrics }

var _ pubsub.RawTracer = dropTracer{}

func (dropTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (dropTracer) OnClosedOutboundStream(peer.ID)           {}
func (dropTracer) Join(string)                              {}
func (dropTracer) Leave(string)                             {}
func (dropTracer) Graft(peer.ID, string)                    {}
func (dropTracer) Prune(peer.ID, string)                    {}
func (dropTracer) ValidateMessage(*pubsub.Message)          {}
func (dropTracer) DeliverMessage(*pubsub.Message)           {}
func (dropTracer) DuplicateMessage(*pubsub.Message)         {}
func (dropTracer) ThrottlePeer(peer.ID)                     {}
func (dropTracer) RecvRPC(*pubsub.RPC)                      {}
func (dropTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (t dropTracer) DropRPC(*pubsub.RPC, peer.ID)           { t.m.drops.WithLabelValues("peer_outbound").Inc() }
func (t dropTracer) UndeliverableMessage(*pubsub.Message) {
	t.m.drops.WithLabelValues("subscription").Inc()
}
func (t dropTracer) RejectMessage(_ *pubsub.Message, why string) {
	switch why {
	case pubsub.RejectValidationQueueFull:
		t.m.drops.WithLabelValues("validation").Inc()
	case pubsub.RejectValidationThrottled:
		t.m.drops.WithLabelValues("throttled").Inc()
	}
}
