package node

import (
	"context"
	"errors"
	"strconv"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/ingest"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/p2p"
)

// source says where inbound envelopes came from.
type source uint8

const (
	fromGossip source = iota
	fromSync
	fromAPI
)

var sourceNames = [...]string{"gossip", "sync", "api"}

// inbound is one request to the ingest loop: envelopes to decode, verify, store and
// ingest. reply gets one outcome per envelope (nil when the node stopped).
type inbound struct {
	raws  [][]byte
	src   source
	reply chan []ingest.Outcome
}

// submit queues raws for the loop and waits for the outcomes (not for durability).
// Gossip never waits for room: a full queue drops the envelope (sync recovers it).
func (n *Node) submit(ctx context.Context, raws [][]byte, src source) ([]ingest.Outcome, error) {
	if n.stopping.Load() || !n.started.Load() {
		n.m.drops.WithLabelValues("stopping").Add(float64(len(raws)))
		return nil, ErrStopped
	}
	r := &inbound{raws: raws, src: src, reply: make(chan []ingest.Outcome, 1)}
	if src == fromGossip {
		select {
		case n.in <- r:
		default:
			n.m.drops.WithLabelValues("queue_full").Inc()
			return nil, ErrBusy
		}
	} else {
		select {
		case n.in <- r:
		case <-n.done:
			return nil, ErrStopped
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	select {
	case outs := <-r.reply:
		if outs == nil {
			return nil, ErrStopped
		}
		return outs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// handleInbound runs on the loop: it gathers whatever else is queued (up to maxBatch
// envelopes) so signatures are verified in one batch, ingests, and replies.
func (n *Node) handleInbound(first *inbound) {
	reqs := []*inbound{first}
	total := len(first.raws)
gather:
	for total < maxBatch {
		select {
		case r := <-n.in:
			reqs = append(reqs, r)
			total += len(r.raws)
		default:
			break gather
		}
	}
	raws := make([][]byte, 0, total)
	for _, r := range reqs {
		raws = append(raws, r.raws...)
	}
	now := n.clk.NowMs()
	outs := n.pipe.SubmitBatch(raws, now)
	i := 0
	for _, r := range reqs {
		mine := outs[i : i+len(r.raws)]
		i += len(r.raws)
		for j := range mine {
			n.after(&mine[j], r.src, now)
		}
		r.reply <- mine
	}
	n.publishMissing()
}

// after does the loop's bookkeeping for one ingested envelope: metrics, the clock
// check, checkpoint state roots, heads blobs to fetch, foreign own messages.
func (n *Node) after(o *ingest.Outcome, src source, now int64) {
	if o.Err != nil {
		var re *msg.RejectError
		if errors.As(o.Err, &re) {
			n.m.ingested.WithLabelValues(sourceNames[src], "rejected_stateless").Inc()
		} else {
			n.m.ingested.WithLabelValues(sourceNames[src], "error").Inc()
			n.log.Warn("ingest failed", "id", o.ID.Short(), "err", o.Err)
		}
		return
	}
	n.m.ingested.WithLabelValues(sourceNames[src], o.Result.Status.String()).Inc()
	if o.Result.Status == dag.Duplicate {
		return
	}
	env, ok := n.led.DAG().Envelope(o.ID)
	if !ok {
		return // evicted at once from a full buffer
	}
	b := &env.Body
	if b.Author == n.self {
		n.foreignOwn(env)
		return
	}
	if src == fromGossip && o.Result.Status == dag.Accepted {
		n.clock.Observe(b.Author, b.TsMs, now)
	}
	if cp, ok := env.Payload.(*msg.Checkpoint); ok {
		if cp.StateRoot != nil && cp.Epoch > 0 {
			n.addClaim(b.Author, cp.Epoch, *cp.StateRoot)
		}
		if cp.HeadsBlob != nil {
			n.fetchBlob(*cp.HeadsBlob)
		}
	}
}

// foreignOwn handles a message of the node's own account that this process did not
// write: everything the node signs is stored before anyone can see it, so such a
// message was signed elsewhere with this key, or by this node before its store was
// replaced by an older copy. Signing on would fork the chain (equivocation, SPEC §7.6).
func (n *Node) foreignOwn(env *msg.Envelope) {
	if n.own.keyInUse {
		return
	}
	n.own.keyInUse = true
	n.alarms.add("key_in_use: a message of this node's account that it did not sign appeared (seq " +
		strconv.FormatUint(env.Body.Seq, 10) + "); signing stopped. Another node uses this key, or the store was restored from a stale copy")
	n.log.Error("a message of this node's own account appeared that this node did not write; signing stopped to avoid equivocation",
		"id", env.ID.Short(), "seq", env.Body.Seq, "own_seq", n.own.seq,
		"hint", "never run two nodes on one key, never restore a stale store (docs/operations.md)")
}

// fetchBlob fetches a checkpoint's heads blob in the background, then tells the
// ledger it arrived.
func (n *Node) fetchBlob(id msg.ID) {
	if has, _ := n.st.HasBlob(id); has {
		return
	}
	if n.tr == nil || n.fetching[id] || len(n.fetching) >= 64 {
		return
	}
	n.fetching[id] = true
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*flushTimeout)
		defer cancel()
		err := n.tr.FetchBlob(ctx, id)
		if err != nil {
			n.log.Debug("heads blob fetch failed", "blob", id.Short(), "err", err)
		}
		_ = n.do(context.Background(), func() {
			delete(n.fetching, id)
			if err == nil {
				if err := n.led.BlobArrived(); err != nil {
					n.log.Error("blob arrived", "err", err)
				}
			}
		})
	}()
}

// verdict turns an outcome into a gossip verdict.
func (n *Node) verdict(ctx context.Context, o ingest.Outcome) p2p.Outcome {
	if o.Err != nil {
		var re *msg.RejectError
		if errors.As(o.Err, &re) {
			return p2p.Outcome{Verdict: p2p.Reject}
		}
		return p2p.Outcome{Verdict: p2p.Ignore}
	}
	switch o.Result.Status {
	case dag.Accepted:
		// SPEC §1.4: a relayed envelope is Accepted (and so forwarded) once it is in
		// the store's group commit, which fsyncs within 10 ms or 256 messages; what a
		// crash drops from that window, sync recovers from the peers that have it.
		// Waiting for the fsync here would put a disk flush on every gossip hop.
		return p2p.Outcome{Verdict: p2p.Accept}
	case dag.Orphan:
		return p2p.Outcome{Verdict: p2p.Ignore, Missing: o.Result.Missing}
	default:
		return p2p.Outcome{Verdict: p2p.Ignore}
	}
}

// validator is the gossip side of the node (p2p.Validator).
type validator struct{ n *Node }

func (v validator) Validate(ctx context.Context, from peer.ID, data []byte) p2p.Outcome {
	outs, err := v.n.submit(ctx, [][]byte{data}, fromGossip)
	if err != nil {
		return p2p.Outcome{Verdict: p2p.Ignore}
	}
	return v.n.verdict(ctx, outs[0])
}

// ingester is the sync side of the node (p2p.Ingester).
type ingester struct{ n *Node }

func (g ingester) IngestBatch(ctx context.Context, from peer.ID, envs [][]byte) []p2p.Outcome {
	res := make([]p2p.Outcome, len(envs))
	outs, err := g.n.submit(ctx, envs, fromSync)
	if err != nil {
		return res // all Ignore: sync asks again later
	}
	for i, o := range outs {
		res[i] = g.n.verdict(ctx, o)
	}
	return res
}
