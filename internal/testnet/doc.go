// Package testnet runs many Guild nodes in one process for large, repeatable tests:
// a simulated clock (Sim) that every node reads through node.Clock, an in-memory
// network (Network) whose transports implement node.Transport (gossip flooding with
// per-link delays, fetch by id, periodic anti-entropy over the p2p.LogSource
// frontiers, blob copying), and a harness (Net) that builds a genesis, starts the
// nodes, and partitions, delays, crashes and restarts them under test control.
//
// Time moves only when the test moves it. Between two virtual instants the harness
// waits until the nodes are quiescent: every fired tick has been handled (the node
// armed its next timer), every delivery, fetch and sync it started has returned, and
// every message a node signed has reached its transport. What happens inside one
// instant still runs concurrently (see docs/rationale.md (testnet) for how
// deterministic that is).
//
// A test typically does:
//
//	n, err := testnet.New(ctx, testnet.Config{Nodes: 32, Witnesses: 4, Seed: 7, Dir: t.TempDir()})
//	defer n.Close()
//	n.Sign(ctx, 5, payload)         // durable on node 5; gossiped at the next step
//	n.Partition([]int{0, 1, 4, 5})  // those four against the rest
//	n.Advance(time.Second)          // one epoch of virtual time
//	n.Crash(2); n.Restart(ctx, 2)   // stop node 2, then rebuild it from its store
//	n.Heal()
//	n.RunEpochs(4)
//	es, _ := n.Epochs(ctx, 3)       // node 3's epochs: roots, live, settled
package testnet
