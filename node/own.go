package node

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// ownChain is the node's own author chain (loop-owned).
type ownChain struct {
	seq     uint64
	lamport uint64
	tsMs    uint64
	prev    msg.ID
	// refd is, per other author, the highest seq the chain already points at through
	// parents: pointing at it again adds nothing.
	refd map[msg.Account]uint64
	// keyInUse: a message of this account appeared that the node did not write.
	keyInUse bool
	// failed: storing an own message failed; its seq may or may not be durable, so
	// the node signs nothing more until restarted.
	failed error
}

// recoverOwn restores the chain position and witness history from the store, so a
// restart never reuses a sequence number (SPEC §1.4).
func (n *Node) recoverOwn() error {
	n.own.refd = map[msg.Account]uint64{}
	seq, ids, ok, err := n.st.AuthorHead(n.self)
	if err != nil {
		return fmt.Errorf("node: own chain head: %w", err)
	}
	if !ok {
		return nil
	}
	if len(ids) > 1 {
		n.alarms.add("own_fork: this account's chain holds several messages at seq " + strconv.FormatUint(seq, 10))
		n.log.Error("the node's own chain is forked in its store; it continues from one branch",
			"seq", seq, "ids", len(ids))
	}
	head, ok := n.led.DAG().Envelope(ids[0])
	if !ok {
		return fmt.Errorf("node: own head %s is stored but was not loaded", ids[0].Short())
	}
	n.own.seq, n.own.prev = seq, head.ID
	n.own.lamport, n.own.tsMs = head.Body.Lamport, head.Body.TsMs
	// Replay the chain's checkpoints: the last epoch signed, and what was listed (so
	// later checkpoints omit it). A chain is short enough to read at start.
	opts := n.pipe.Options()
	opts.SkipVerify = true
	var rerr error
	err = n.st.Range(n.self, 1, seq, func(r store.Record) bool {
		e, err := msg.Decode(r.Envelope, opts)
		if err != nil {
			rerr = err
			return false
		}
		for _, p := range e.Body.Parents {
			if pn, ok := n.led.DAG().Get(p); ok {
				n.own.refd[pn.Author()] = max(n.own.refd[pn.Author()], pn.Seq())
			}
		}
		cp, ok := e.Payload.(*msg.Checkpoint)
		if !ok {
			return true
		}
		if !n.hasCP || cp.Epoch > n.lastCP {
			n.lastCP, n.hasCP = cp.Epoch, true
		}
		heads := cp.Heads
		if cp.HeadsBlob != nil {
			b, ok, err := n.st.GetBlob(*cp.HeadsBlob)
			if err == nil && ok {
				heads, _ = msg.DecodeHeadsBlob(b)
			}
		}
		n.listed.Add(n.led.DAG(), heads)
		return true
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("node: replay own chain: %w", err)
	}
	return nil
}

// seal signs payload p as the next message of the own chain at nowMs. It does not
// store it; the chain position moves only once the message is stored.
func (n *Node) seal(p msg.Payload, nowMs int64) (*msg.Envelope, map[msg.Account]uint64, error) {
	if n.own.keyInUse {
		return nil, nil, ErrKeyInUse
	}
	if n.own.failed != nil {
		return nil, nil, fmt.Errorf("node: an earlier own message failed to store (%w); restart the node", n.own.failed)
	}
	b := msg.Body{Network: n.gen.NetworkID(), Seq: n.own.seq + 1}
	lamport := uint64(0)
	ts := uint64(max(nowMs, 0))
	if n.own.seq > 0 {
		prev := n.own.prev
		b.Prev = &prev
		lamport = n.own.lamport
		ts = max(ts, n.own.tsMs)
	}
	parents, refd := n.pickParents()
	for _, pn := range parents {
		b.Parents = append(b.Parents, pn.ID())
		lamport = max(lamport, pn.Lamport())
		ts = max(ts, pn.TsMs())
	}
	b.Lamport = lamport + 1
	b.TsMs = ts
	e, err := msg.Seal(n.cfg.Key.Priv, b, p)
	if err != nil {
		return nil, nil, fmt.Errorf("node: seal %s: %w", p.Kind(), err)
	}
	if len(e.Raw) > n.envMax {
		return nil, nil, fmt.Errorf("node: %s envelope is %d bytes, over envelope_max_bytes %d", p.Kind(), len(e.Raw), n.envMax)
	}
	return e, refd, nil
}

// pickParents chooses parents by honest parent selection (SPEC §3): only messages
// in the node's agreed cut — the heads of other authors' branches in the cut of the
// newest computed epoch — that the chain does not already point at, newest first, at
// most msg.MaxParents, sorted by id.
func (n *Node) pickParents() ([]*dag.Node, map[msg.Account]uint64) {
	k := n.led.Epochs() - 1
	if k < 0 {
		return nil, nil
	}
	r, _ := n.led.Epoch(uint64(k))
	var cands []*dag.Node
	for _, h := range r.Cut.Heads() {
		if h.Author == n.self || h.Seq <= n.own.refd[h.Author] {
			continue
		}
		if pn, ok := n.led.DAG().Get(h.ID); ok && pn.Held {
			cands = append(cands, pn)
		}
	}
	slices.SortFunc(cands, func(x, y *dag.Node) int {
		if x.TsMs() != y.TsMs() {
			if x.TsMs() > y.TsMs() {
				return -1
			}
			return 1
		}
		xi, yi := x.ID(), y.ID()
		return bytes.Compare(xi[:], yi[:])
	})
	// An author can appear twice (two branches of a fork); one parent per author.
	var out []*dag.Node
	seen := map[msg.Account]bool{}
	for _, c := range cands {
		if len(out) == msg.MaxParents {
			break
		}
		if seen[c.Author()] {
			continue
		}
		seen[c.Author()] = true
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y *dag.Node) int {
		xi, yi := x.ID(), y.ID()
		return bytes.Compare(xi[:], yi[:])
	})
	refd := make(map[msg.Account]uint64, len(out))
	for _, c := range out {
		refd[c.Author()] = c.Seq()
	}
	return out, refd
}

// advanceOwn moves the chain position past e once it is stored.
func (n *Node) advanceOwn(e *msg.Envelope, refd map[msg.Account]uint64) {
	n.own.seq, n.own.prev = e.Body.Seq, e.ID
	n.own.lamport, n.own.tsMs = e.Body.Lamport, e.Body.TsMs
	for a, s := range refd {
		n.own.refd[a] = max(n.own.refd[a], s)
	}
	n.m.own.WithLabelValues(e.Body.Kind.String()).Inc()
}

// signOwn signs payloads in order on the own chain and makes them durable (one
// fsync for the lot) before returning; it runs on the loop. The caller publishes
// the envelopes afterwards.
func (n *Node) signOwn(ctx context.Context, ps []msg.Payload) ([]*msg.Envelope, error) {
	now := n.clk.NowMs()
	out := make([]*msg.Envelope, 0, len(ps))
	if len(ps) == 1 {
		e, refd, err := n.seal(ps[0], now)
		if err != nil {
			return nil, err
		}
		r, err := n.pipe.SubmitOwn(ctx, e, now)
		if err != nil {
			n.own.failed = err
			return nil, fmt.Errorf("node: store own %s: %w", e.Body.Kind, err)
		}
		n.advanceOwn(e, refd)
		n.ownResult(e, r)
		return append(out, e), nil
	}
	for _, p := range ps {
		e, refd, err := n.seal(p, now)
		if err != nil {
			return nil, err
		}
		o := n.pipe.Submit(e.Raw, now)
		if o.Err != nil {
			n.own.failed = o.Err
			return nil, fmt.Errorf("node: store own %s: %w", e.Body.Kind, o.Err)
		}
		n.advanceOwn(e, refd)
		n.ownResult(e, o.Result)
		out = append(out, e)
	}
	// Nothing is published before all of it is durable (SPEC §1.4).
	if err := n.st.Flush(ctx); err != nil {
		n.own.failed = err
		return nil, fmt.Errorf("node: flush own messages: %w", err)
	}
	return out, nil
}

// ownResult checks the dag's verdict on one of the node's own messages: anything but
// accepted (or waiting for admission) is a bug in chain building.
func (n *Node) ownResult(e *msg.Envelope, r dag.Result) {
	switch r.Status {
	case dag.Accepted, dag.Ignored:
	default:
		n.log.Error("own message not accepted by the dag", "id", e.ID.Short(), "seq", e.Body.Seq,
			"status", r.Status.String(), "reason", r.Reason)
	}
}

// publishAsync publishes envelopes in the background (the loop never waits on the
// network).
func (n *Node) publishAsync(envs []*msg.Envelope) {
	if n.tr == nil || len(envs) == 0 || n.stopping.Load() {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for _, e := range envs {
			ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			if err := n.tr.Publish(ctx, e.Raw); err != nil && !n.stopping.Load() {
				n.log.Warn("publish own message", "id", e.ID.Short(), "seq", e.Body.Seq, "err", err)
			}
			cancel()
		}
	}()
}

// Sign signs payload p on the node's own chain, stores it durably and publishes it.
// It returns once the message is durable; publishing may still be under way.
func (n *Node) Sign(ctx context.Context, p msg.Payload) (*msg.Envelope, error) {
	var envs []*msg.Envelope
	var err error
	if derr := n.do(ctx, func() { envs, err = n.signOwn(ctx, []msg.Payload{p}) }); derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	n.publishAsync(envs)
	return envs[0], nil
}
