package node

import (
	"context"
	"slices"
	"strconv"

	"github.com/guild-net/guild/duty"
	"github.com/guild-net/guild/msg"
)

// doDuty signs the checkpoints the node owes (SPEC §4), on the loop. Decisions are
// package duty's; the node supplies time, its state, durability and the signature.
func (n *Node) doDuty(now int64) {
	if n.own.keyInUse || n.own.failed != nil {
		return
	}
	v := n.clock.Verdict(now)
	prev := n.clockV
	n.clockV = v
	n.m.clockOff.Set(float64(v.OffsetMs))
	sch := duty.Due(n.ecfg, n.lastCP, n.hasCP, n.startedMs, now, n.obliged)
	if len(sch.Empty) == 0 && !sch.HasNormal {
		return
	}
	if v.Skip {
		// Skipping leaves the epoch unsigned; once the clock agrees again, Due owes it
		// an empty checkpoint.
		n.m.duty.WithLabelValues("clock_skip").Inc()
		if !prev.Skip {
			n.log.Warn("clock differs from peers by more than sigma_max_ms: skipping witness duty",
				"offset_ms", v.OffsetMs, "peers", v.Peers, "sigma_max_ms", n.ecfg.SigmaMaxMs)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	var ps []msg.Payload
	for _, k := range sch.Empty {
		ps = append(ps, duty.Empty(k).Payload)
	}
	var sel duty.Selection
	if sch.HasNormal {
		k := sch.Normal
		// Everything listed, and the receive times that decide what may be listed, must
		// be durable before the checkpoint is signed (SPEC §1.4).
		if err := n.st.Flush(ctx); err != nil {
			n.log.Error("witness duty: flush store", "epoch", k, "err", err)
			return
		}
		standing := n.stateAfter(int64(k) - 2)
		if standing == nil {
			n.log.Error("witness duty: state after k−2 not computed", "epoch", k)
			return
		}
		sel = duty.Heads(duty.HeadsInput{Epoch: k, Config: n.ecfg, Log: n.led.DAG(), Received: n.received,
			Standing: duty.FromState(standing), Listed: &n.listed})
		cp, err := duty.Build(k, sel.Heads, duty.Root(k, n.rootAfter), n.envMax)
		if err != nil {
			n.log.Error("witness duty: build checkpoint", "epoch", k, "err", err)
			return
		}
		if cp.Blob != nil {
			// The blob is durable when PutBlob returns; a checkpoint whose blob is not
			// held counts as not held.
			if _, err := n.st.PutBlob(ctx, cp.Blob); err != nil {
				n.log.Error("witness duty: store heads blob", "epoch", k, "err", err)
				return
			}
			n.m.duty.WithLabelValues("heads_blob").Inc()
		}
		ps = append(ps, cp.Payload)
	}
	envs, err := n.signOwn(ctx, ps)
	if err != nil {
		n.log.Error("witness duty: sign checkpoints", "err", err)
		return
	}
	for _, e := range envs {
		cp := e.Payload.(*msg.Checkpoint)
		n.lastCP, n.hasCP = cp.Epoch, true
		if sch.HasNormal && cp.Epoch == sch.Normal {
			n.m.duty.WithLabelValues("checkpoint").Inc()
			n.listed.Add(n.led.DAG(), sel.Heads)
			n.log.Debug("checkpoint signed", "epoch", cp.Epoch, "heads", len(sel.Heads), "omitted", sel.Omitted,
				"dropped", sel.Dropped, "blob", cp.HeadsBlob != nil, "seq", e.Body.Seq)
		} else {
			n.m.duty.WithLabelValues("empty_checkpoint").Inc()
		}
	}
	if len(sch.Empty) > 0 {
		n.log.Info("signed empty checkpoints for epochs missed while not running", "count", len(sch.Empty),
			"first", sch.Empty[0], "last", sch.Empty[len(sch.Empty)-1])
	}
	n.publishAsync(envs)
}

// obliged reports whether the node's account signs the checkpoint for k: among the
// top witnesses_n + 8 of its state after k−2, or a witness of k.
func (n *Node) obliged(k uint64) bool {
	st := n.stateAfter(int64(k) - 2)
	if st == nil {
		return false
	}
	ok, err := duty.Signs(n.self, k, duty.FromState(st), n.ecfg.WitnessesN)
	if err != nil {
		n.log.Error("witness duty: who signs", "epoch", k, "err", err)
		return false
	}
	return ok
}

// received gives a message's durable receive time. A deferred message counts as
// received when it stopped being deferred: no earlier than ts − the future skew
// (SPEC §3); for every message duty may list (ts < end(k)) that is long before
// end(k)+g.
func (n *Node) received(id msg.ID) (int64, bool) {
	r, ok, err := n.st.Get(id)
	if err != nil || !ok {
		return 0, false
	}
	ms := r.RecvMs
	if e, ok := n.led.DAG().Envelope(id); ok {
		skew := n.cfg.DAG.FutureSkewMs
		if skew == 0 {
			skew = 5000
		}
		if rel := int64(e.Body.TsMs) - skew; rel > ms {
			ms = rel
		}
	}
	return ms, true
}

// addClaim records the state root a checkpoint for cpEpoch claims after cpEpoch−1.
func (n *Node) addClaim(signer msg.Account, cpEpoch uint64, root msg.ID) {
	j := cpEpoch - 1
	if len(n.claims[j]) >= 256 || len(n.claims) >= 1024 {
		return
	}
	n.claims[j] = append(n.claims[j], claim{signer: signer, cpEpoch: cpEpoch, root: root})
}

// checkClaims compares witnesses' state roots with ours on settled epochs (the
// divergence alarm fires only there, SPEC §4).
func (n *Node) checkClaims() {
	if len(n.claims) == 0 {
		return
	}
	ks := make([]uint64, 0, len(n.claims))
	for k := range n.claims {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	computed := int64(n.led.Epochs()) - 1
	for _, j := range ks {
		r, ok := n.led.Epoch(j)
		if !ok {
			break
		}
		if !r.Settled {
			if int64(j)+1000 < computed {
				delete(n.claims, j) // never settles here; bound memory
			}
			continue
		}
		// Only witnesses of the checkpoint's epoch are heard: anybody can sign a
		// checkpoint, and a stranger's root must not raise the alarm.
		st := n.stateAfter(int64(j) - 1)
		for _, c := range n.claims[j] {
			if st == nil {
				break
			}
			ws, err := st.Witnesses(c.cpEpoch)
			if err != nil || ws.Index(c.signer) < 0 {
				continue
			}
			if c.root != r.Root() {
				n.m.divergence.Inc()
				n.alarms.add("state_root_divergence: witness " + c.signer.String() + " has root " + c.root.Short() +
					" after settled epoch " + strconv.FormatUint(j, 10) + ", this node has " + r.Root().Short())
				n.log.Error("state root divergence on a settled epoch", "epoch", j, "witness", c.signer.String(),
					"theirs", c.root.String(), "ours", r.Root().String())
			}
		}
		delete(n.claims, j)
	}
}
