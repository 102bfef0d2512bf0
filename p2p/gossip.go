package p2p

import (
	"context"
	"errors"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
)

// ErrNoGossip is returned by Publish on a host started WithGossip(false).
var ErrNoGossip = errors.New("p2p: gossip is off")

// Topic is the network's gossipsub topic name (WIRE §4).
func Topic(network msg.ID) string { return msg.Topic(network) }

// scoreParams builds peer scoring for the one topic. Positive score comes
// slowly (time in mesh, first deliveries, both capped); P4 punishes every
// invalid envelope quadratically; P3 (mesh delivery rate) stays off because
// Guild's traffic is bursty and a quiet epoch must not look like a failing
// peer.
func (h *Host) scoreParams(topic string) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	p := &pubsub.PeerScoreParams{
		SkipAtomicValidation: true,
		Topics: map[string]*pubsub.TopicScoreParams{topic: {
			SkipAtomicValidation:           true,
			TopicWeight:                    1,
			TimeInMeshWeight:               0.01,
			TimeInMeshQuantum:              time.Second,
			TimeInMeshCap:                  300, // ≤ 3 points after 5 minutes
			FirstMessageDeliveriesWeight:   0.5,
			FirstMessageDeliveriesDecay:    0.9,
			FirstMessageDeliveriesCap:      20, // ≤ 10 points
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  0.99, // per second: ~70 s half-life
		}},
		TopicScoreCap:               20,
		AppSpecificScore:            h.appScore,
		AppSpecificWeight:           1,
		IPColocationFactorWeight:    -5,
		IPColocationFactorThreshold: 8,
		IPColocationFactorWhitelist: loopbackNets(),
		BehaviourPenaltyWeight:      -1,
		BehaviourPenaltyThreshold:   6,
		BehaviourPenaltyDecay:       0.99,
		DecayInterval:               time.Second,
		DecayToZero:                 0.01,
		RetainScore:                 10 * time.Minute,
	}
	t := &pubsub.PeerScoreThresholds{
		SkipAtomicValidation:        true,
		GossipThreshold:             GossipThreshold,
		PublishThreshold:            PublishThreshold,
		GraylistThreshold:           GraylistThreshold,
		AcceptPXThreshold:           10,
		OpportunisticGraftThreshold: 2,
	}
	return p, t
}

func (h *Host) startGossip() error {
	topic := Topic(h.deps.Network)
	sp, st := h.scoreParams(topic)
	opts := []pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string { return gossipID(m.Data) }),
		pubsub.WithFloodPublish(true),
		pubsub.WithPeerExchange(true),
		pubsub.WithPeerScore(sp, st),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(h.inspectScores), h.cfg.scoreInspect),
		pubsub.WithPeerOutboundQueueSize(DefaultPeerQueue),
		pubsub.WithValidateQueueSize(DefaultValidateQueue),
		pubsub.WithMaxMessageSize(h.cfg.envelopeMax + 4096),
		pubsub.WithRawTracer(dropTracer{h.m}),
	}
	if h.cfg.gossipParams != nil {
		opts = append(opts, pubsub.WithGossipSubParams(*h.cfg.gossipParams))
	}
	ps, err := pubsub.NewGossipSub(h.ctx, h.h, opts...)
	if err != nil {
		return fmt.Errorf("p2p: gossipsub: %w", err)
	}
	h.ps = ps
	if err := ps.RegisterTopicValidator(topic, h.validate,
		pubsub.WithValidatorConcurrency(DefaultValidateConc),
		pubsub.WithValidatorTimeout(30*time.Second)); err != nil {
		return fmt.Errorf("p2p: topic validator: %w", err)
	}
	if h.topic, err = ps.Join(topic); err != nil {
		return fmt.Errorf("p2p: join %s: %w", topic, err)
	}
	if h.sub, err = h.topic.Subscribe(pubsub.WithBufferSize(DefaultSubBuffer)); err != nil {
		return fmt.Errorf("p2p: subscribe %s: %w", topic, err)
	}
	h.wg.Add(1)
	go h.drain()
	return nil
}

func (h *Host) inspectScores(m map[peer.ID]float64) {
	h.scoreMu.Lock()
	clear(h.scores)
	for p, s := range m {
		h.scores[p] = s
	}
	h.scoreMu.Unlock()
}

// validate is the topic validator. A node's own envelopes were stored with
// PutSync before Publish (SPEC §1.4), so they pass at once.
func (h *Host) validate(ctx context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == h.h.ID() {
		h.m.validation.WithLabelValues("local").Inc()
		return pubsub.ValidationAccept
	}
	out := h.deps.Validator.Validate(ctx, from, m.Data)
	h.m.validation.WithLabelValues(out.Verdict.String()).Inc()
	if len(out.Missing) > 0 && h.sync != nil {
		h.sync.want(from, out.Missing)
	}
	switch out.Verdict {
	case Accept:
		return pubsub.ValidationAccept
	case Reject:
		return pubsub.ValidationReject
	default:
		return pubsub.ValidationIgnore
	}
}

// drain reads the subscription so pubsub never drops for a slow reader; the
// validator already handed every envelope to the node.
func (h *Host) drain() {
	defer h.wg.Done()
	for {
		m, err := h.sub.Next(h.ctx)
		if err != nil {
			return
		}
		if h.cfg.onDeliver != nil && m.ReceivedFrom != h.h.ID() {
			h.cfg.onDeliver(m.ReceivedFrom, m.Data)
		}
	}
}

// Publish floods one of the node's own envelopes to every topic peer (flood
// publishing). The node must have made it durable first (SPEC §1.4).
func (h *Host) Publish(ctx context.Context, env []byte) error {
	if h.topic == nil {
		return ErrNoGossip
	}
	if err := h.topic.Publish(ctx, env); err != nil {
		return fmt.Errorf("p2p: publish: %w", err)
	}
	return nil
}
