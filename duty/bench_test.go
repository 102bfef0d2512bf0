package duty

import (
	"testing"

	"github.com/guild-net/guild/msg"
)

// BenchmarkHeads: 64 authors, 10 epochs of history (10 messages per author per epoch,
// each citing another author's previous message). One op is the duty of the last epoch
// for a witness that listed every earlier epoch, so the walk covers one epoch of
// traffic. heads/op and visited-msgs/op are reported; the cold variant has no
// earlier listings and walks the whole history.
func BenchmarkHeads(b *testing.B) {
	const authors, epochs, perEpoch = 64, 10, 10
	w := newWorld(b, authors)
	cfg := testConfig()
	tips := make([]*msg.Envelope, authors)
	for k := range epochs {
		for i := range perEpoch {
			for a := range authors {
				ts := uint64(G + k*2000 + i*150 + a)
				var parents []*msg.Envelope
				if o := tips[(a+1)%authors]; o != nil {
					parents = []*msg.Envelope{o}
				}
				e := w.seal(a, tips[a], parents, ts)
				tips[a] = e
				w.deliver(e, int64(ts)+20, true)
			}
		}
	}
	st := admitAll(w.accts)
	var warm Listed
	for k := range uint64(epochs - 1) {
		warm.Add(w.d, Heads(HeadsInput{Epoch: k, Config: cfg, Log: w.d, Received: w.received, Standing: st, Listed: &warm}).Heads)
	}
	for _, bc := range []struct {
		name   string
		listed *Listed
	}{{"warm", &warm}, {"cold", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			visited := 0
			recv := func(id msg.ID) (int64, bool) { visited++; return w.received(id) }
			for b.Loop() {
				n = len(Heads(HeadsInput{Epoch: epochs - 1, Config: cfg, Log: w.d, Received: recv, Standing: st, Listed: bc.listed}).Heads)
			}
			b.ReportMetric(float64(n), "heads/op")
			b.ReportMetric(float64(visited)/float64(b.N), "visited-msgs/op")
		})
	}
}
