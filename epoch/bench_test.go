package epoch

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/guild-net/guild/msg"
)

// benchLog is the replay benchmark's shape: authors each post once per epoch citing two
// messages of the previous epoch, and every witness checkpoints every epoch listing every
// author's newest message (the omission rule drops nothing, each head is new).
func benchLog(authors, epochs, witnesses int) ([]*Message, WitnessSet) {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []*Message
	latest := make([]*Message, authors)
	wLatest := make([]*Message, witnesses)
	mkID := func(a msg.Account, seq uint64) msg.ID {
		var b [40]byte
		copy(b[:], a[:])
		binary.BigEndian.PutUint64(b[32:], seq)
		return msg.TaggedHash("bench\x00", b[:])
	}
	var prevEpoch []*Message
	for k := 0; k < epochs; k++ {
		var this []*Message
		for i := 0; i < authors; i++ {
			a := acct(1000 + i)
			m := &Message{Author: a, Seq: 1, TsMs: testCfg.Start(uint64(k)) + uint64(i%900)}
			if p := latest[i]; p != nil {
				m.Seq, m.Prev = p.Seq+1, p.ID
			}
			for j := 0; j < 2 && len(prevEpoch) > 0; j++ {
				c := prevEpoch[rng.IntN(len(prevEpoch))]
				if c.Author != a && (len(m.Parents) == 0 || m.Parents[0] != c.ID) {
					m.Parents = append(m.Parents, c.ID)
				}
			}
			sortIDs(m.Parents)
			m.ID = mkID(a, m.Seq)
			latest[i] = m
			this = append(this, m)
			out = append(out, m)
		}
		for w := 0; w < witnesses; w++ {
			a := acct(w)
			cp := &CheckpointInfo{Epoch: uint64(k)}
			for _, m := range latest {
				cp.Heads = append(cp.Heads, msg.Head{Author: m.Author, Seq: m.Seq, ID: m.ID})
			}
			for _, m := range wLatest {
				if m != nil {
					cp.Heads = append(cp.Heads, msg.Head{Author: m.Author, Seq: m.Seq, ID: m.ID})
				}
			}
			m := &Message{Author: a, Seq: 1, TsMs: testCfg.DutyTime(uint64(k)), Checkpoint: cp}
			if p := wLatest[w]; p != nil {
				m.Seq, m.Prev = p.Seq+1, p.ID
			}
			m.ID = mkID(a, m.Seq)
			out = append(out, m)
			wLatest[w] = m
		}
		prevEpoch = this
	}
	return out, equalWS(witnesses)
}

// BenchmarkCut rebuilds every epoch of a 100,000-message log (1,000 authors, 100 epochs):
// index every message and compute C_0…C_99 with their batches. "bulk" adds the whole log
// first (a restart replaying its store); "interleaved" computes each cut as soon as the
// checkpoints for its epoch are in (a node following the network). msgs/s is the rate the
// replay sustains through the epoch rule alone.
func BenchmarkCut(b *testing.B) {
	for _, nw := range []int{4, 32} {
		for _, mode := range []string{"bulk", "interleaved"} {
			b.Run(fmt.Sprintf("witnesses=%d/%s", nw, mode), func(b *testing.B) {
				msgs, ws := benchLog(1000, 100, nw)
				b.ResetTimer()
				cpu0 := cpuTime()
				var total int
				for i := 0; i < b.N; i++ {
					e := NewEngine(testCfg)
					var prev *Cut
					n, k := 0, uint64(0)
					cut := func() {
						c, bt := e.Cut(k, ws, prev)
						n += len(bt.IDs)
						prev = c
						k++
					}
					for j, m := range msgs {
						if _, err := e.Add(m); err != nil {
							b.Fatal(err)
						}
						// The last witness's checkpoint for k closes epoch k.
						if mode == "interleaved" && m.Checkpoint != nil && (j+1 == len(msgs) || msgs[j+1].Checkpoint == nil) {
							cut()
						}
					}
					for k < 100 {
						cut()
					}
					if n < 99_000 {
						b.Fatalf("only %d messages in batches", n)
					}
					total += len(msgs)
				}
				b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
				// On a shared machine wall time mostly measures the neighbours; process CPU
				// time (GC included) per message is the stable figure.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(total), "cpu-ns/msg")
			})
		}
	}
}

// BenchmarkCutOnly times the 100 cuts without indexing.
func BenchmarkCutOnly(b *testing.B) {
	msgs, ws := benchLog(1000, 100, 4)
	e := NewEngine(testCfg)
	for _, m := range msgs {
		e.Add(m)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var prev *Cut
		for k := uint64(0); k < 100; k++ {
			prev, _ = e.Cut(k, ws, prev)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
