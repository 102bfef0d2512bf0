package epoch_test

import (
	"fmt"

	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
)

func Example() {
	cfg := epoch.Config{GenesisTsMs: 0, EpochMs: 1000, GraceMs: 200, ThetaNum: 2, ThetaDen: 3,
		WitnessesN: 32, WitnessesMin: 1, WitnessCapPPM: 100_000, MaxHeads: 4096, SigmaMaxMs: 100}
	w := []msg.Account{{1}, {2}, {3}}
	ws := epoch.ComputeWitnessSet([]epoch.Candidate{{Account: w[0], Rep: 5}, {Account: w[1], Rep: 5}, {Account: w[2], Rep: 5}}, nil, nil, cfg)

	e := epoch.NewEngine(cfg)
	author := msg.Account{9}
	post := &epoch.Message{ID: msg.ID{0xAA}, Author: author, Seq: 1, TsMs: 400}
	e.Add(post)
	// Two of three witnesses list the post for epoch 0, after end(0)+g = 1200.
	for i, a := range w[:2] {
		cp := &epoch.Message{ID: msg.ID{0xC0, byte(i)}, Author: a, Seq: 1, TsMs: 1200,
			Checkpoint: &epoch.CheckpointInfo{Epoch: 0, Heads: []msg.Head{{Author: author, Seq: 1, ID: post.ID}}}}
		from, _ := e.Add(cp)
		fmt.Println("dirty from epoch", from)
	}
	cut, batch := e.Cut(0, ws, nil)
	fmt.Println("in C_0:", cut.Contains(post.ID), "batch size:", len(batch.IDs), "live:", batch.Live)
	fmt.Println("settled:", e.Settled(0, ws, cut, false))
	// Output:
	// dirty from epoch 0
	// dirty from epoch 0
	// in C_0: true batch size: 1 live: false
	// settled: true
}
