package node

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	ingested   *prometheus.CounterVec // by source and dag status
	drops      *prometheus.CounterVec // inbound work dropped, by reason
	queue      prometheus.GaugeFunc
	own        *prometheus.CounterVec // own messages signed, by kind
	duty       *prometheus.CounterVec // duty decisions
	computed   prometheus.Gauge
	settled    prometheus.Gauge
	live       prometheus.Gauge
	divergence prometheus.Counter
	clockOff   prometheus.Gauge
	advanceSec prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64) (*metrics, error) {
	m := &metrics{
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guild_node_ingested_total",
			Help: "Envelopes handed to the ingest loop, by source (gossip, sync, api) and outcome."}, []string{"source", "outcome"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guild_node_dropped_total",
			Help: "Inbound work dropped before ingest, by reason (queue_full, stopping)."}, []string{"reason"}),
		queue: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "guild_node_ingest_queue",
			Help: "Inbound requests waiting for the ingest loop."}, queueLen),
		own: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guild_node_own_messages_total",
			Help: "Messages the node signed on its own chain, by kind."}, []string{"kind"}),
		duty: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "guild_node_duty_total",
			Help: "Witness duty decisions: checkpoint, empty_checkpoint, heads_blob, clock_skip."}, []string{"what"}),
		computed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "guild_node_computed_epoch",
			Help: "Newest computed epoch (-1 before epoch 0)."}),
		settled: prometheus.NewGauge(prometheus.GaugeOpts{Name: "guild_node_settled_epoch",
			Help: "Newest settled epoch (-1 when none)."}),
		live: prometheus.NewGauge(prometheus.GaugeOpts{Name: "guild_node_live_epochs",
			Help: "Live epochs counted by the newest computed state."}),
		divergence: prometheus.NewCounter(prometheus.CounterOpts{Name: "guild_node_state_root_divergence_total",
			Help: "Witness checkpoints whose state root differs from ours on a settled epoch. Anything above 0 needs an operator."}),
		clockOff: prometheus.NewGauge(prometheus.GaugeOpts{Name: "guild_node_clock_offset_ms",
			Help: "Median clock offset against peers' message timestamps (witness clock check)."}),
		advanceSec: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "guild_node_advance_seconds",
			Help: "Time to bring the ledger's epochs up to date.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8)}),
	}
	m.computed.Set(-1)
	m.settled.Set(-1)
	for _, c := range []prometheus.Collector{m.ingested, m.drops, m.queue, m.own, m.duty, m.computed, m.settled, m.live, m.divergence, m.clockOff, m.advanceSec} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}
