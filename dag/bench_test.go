package dag

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/guild-net/guild/msg"
)

// benchLog seals n messages from the given number of authors, gossip-like: each on
// its author's previous message with two parents drawn from the last 2,000 messages
// of other authors, timestamps rising.
func benchLog(b *testing.B, authors, n int) []*msg.Envelope {
	w := newWorld(b, authors)
	rng := rand.New(rand.NewPCG(7, 11))
	tips := make([]*msg.Envelope, authors)
	out := make([]*msg.Envelope, 0, n)
	for i := range n {
		a := rng.IntN(authors)
		s := spec{author: a, prev: tips[a], ts: 1_000_000 + uint64(i)}
		for range 2 {
			if len(out) == 0 {
				break
			}
			p := out[len(out)-1-rng.IntN(min(len(out), 2000))]
			if p.Body.Author != w.accts[a] && (len(s.parents) == 0 || s.parents[0] != p) {
				s.parents = append(s.parents, p)
			}
		}
		e := w.seal(s)
		tips[a] = e
		out = append(out, e)
	}
	return out
}

// BenchmarkIngestDAG ingests 100,000 messages of 1,000 authors into an empty dag
// (signatures are not the dag's work). "ordered" feeds them in creation order;
// "reordered" shuffles each window of 1,000, so about half arrive before an ancestor
// and go through the orphan buffer.
func BenchmarkIngestDAG(b *testing.B) {
	log := benchLog(b, 1000, 100_000)
	reordered := make([]*msg.Envelope, len(log))
	copy(reordered, log)
	rng := rand.New(rand.NewPCG(3, 5))
	for i := 0; i < len(reordered); i += 1000 {
		w := reordered[i:min(i+1000, len(reordered))]
		rng.Shuffle(len(w), func(x, y int) { w[x], w[y] = w[y], w[x] })
	}
	for _, bc := range []struct {
		name string
		feed []*msg.Envelope
	}{{"ordered", log}, {"reordered", reordered}} {
		b.Run(bc.name, func(b *testing.B) {
			var d *DAG
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			for b.Loop() {
				d = New(Config{})
				for _, e := range bc.feed {
					d.Ingest(e, 2_000_000, nil)
				}
			}
			b.StopTimer()
			if s := d.Stats(); s.Held != len(log) {
				b.Fatalf("held %d of %d: %+v", s.Held, len(log), s)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(b.N*len(bc.feed))/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bc.feed)), "ns/msg")
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(log)), "heap-B/msg")
			runtime.KeepAlive(d)
		})
	}
}

// BenchmarkOnChainForked asks OnChain across a fork deep in a long chain, the case
// that cannot use the seq comparison.
func BenchmarkOnChainForked(b *testing.B) {
	w := newWorld(b, 1)
	main := w.chain(0, 20_000, nil)
	fork := w.chain(0, 10, main[4])
	d := New(Config{})
	for _, e := range append(main, fork...) {
		d.Ingest(e, 2_000_000, nil)
	}
	head, x := main[len(main)-1].ID, main[7].ID
	if !d.OnChain(head, x) || d.OnChain(head, fork[3].ID) {
		b.Fatal("wrong answer")
	}
	for b.Loop() {
		d.OnChain(head, x)
	}
}
