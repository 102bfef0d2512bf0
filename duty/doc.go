// Package duty owns a witness's decisions of SPEC §4 "Checkpoint duty": whether an
// account signs at all, which epochs it owes and which of them are empty, which heads
// a checkpoint lists, whether they travel inline or as a heads blob, the state root it
// carries, and whether a skewed clock makes it skip duty.
//
// It is pure: no clock, store, network or signing. The node owns those and feeds the
// decisions with what it knows: the dag (Log), durable receive times (Received), its
// state after k−2 (Standing), its own earlier listings (Listed) and clock samples
// (ClockCheck). A node drives it like this:
//
//	clk := duty.NewClockCheck(duty.ClockConfigFor(cfg))
//	// for each message first delivered by gossip from another author:
//	clk.Observe(env.Body.Author, env.Body.TsMs, nowMs)
//
//	// every tick:
//	if v := clk.Verdict(nowMs); v.Skip {
//		slog.Warn("clock skew, skipping witness duty", "offset_ms", v.OffsetMs)
//		return
//	}
//	sch := duty.Due(cfg, lastEpoch, hasLast, startedMs, nowMs, obliged)
//	for _, k := range sch.Empty {
//		sign(duty.Empty(k).Payload)             // CHECKPOINT{k, heads = []}, no root
//	}
//	if sch.HasNormal {
//		k := sch.Normal
//		sel := duty.Heads(duty.HeadsInput{Epoch: k, Config: cfg, Log: dag,
//			Received: recv, Standing: duty.FromState(stateAfter(k-2)), Listed: &listed})
//		cp, err := duty.Build(k, sel.Heads, duty.Root(k, rootAfter), envelopeMax)
//		if cp.Blob != nil {
//			store.PutBlobDurably(cp.Blob)        // before signing, and pin it
//		}
//		sign(cp.Payload)
//		listed.Add(dag, sel.Heads)
//	}
//
// obliged(k) is duty.Signs(self, k, duty.FromState(stateAfter(k−2)), cfg.WitnessesN):
// the top witnesses_n + 8 candidates of that state, and the witnesses of k. recv gives
// durable receive times; rootAfter(j) the node's state root after j, if computed;
// stateAfter(j) is the genesis state for j < 0.
//
// Everything here is a function of its inputs; time enters as numbers.
package duty
