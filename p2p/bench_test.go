package p2p

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
)

// deliveryTracker times publish-to-all-delivered for one message at a time.
type deliveryTracker struct {
	mu      sync.Mutex
	id      string
	left    int
	done    chan struct{}
	doneAt  time.Time
	unknown atomic.Int64
}

func (d *deliveryTracker) expect(id msg.ID, n int) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.id, d.left, d.done = string(id[:]), n, make(chan struct{})
	return d.done
}

func (d *deliveryTracker) deliver(_ peer.ID, data []byte) {
	id := gossipID(data)
	d.mu.Lock()
	defer d.mu.Unlock()
	if id != d.id || d.left == 0 {
		d.unknown.Add(1)
		return
	}
	d.left--
	if d.left == 0 {
		d.doneAt = time.Now()
		close(d.done)
	}
}

// rawSwitch makes the double's validator accept at once (plain gossipsub
// with an accept-at-once validator) or do the real work.
type benchValidator struct {
	n    *chainNode
	mode *atomic.Int32 // 0: ours (decode, verify, group commit), 1: accept at once, 2: ours + wait for fsync
}

func (v benchValidator) Validate(ctx context.Context, from peer.ID, data []byte) Outcome {
	switch v.mode.Load() {
	case 1:
		return Outcome{Verdict: Accept}
	case 2:
		return v.n.validate(ctx, data, true)
	}
	return v.n.validate(ctx, data, false)
}

func percentile(xs []time.Duration, p int) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return s[i-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkGossipLatency: 10 real hosts on loopback TCP, each connected to
// the hosts 1 and 3 places further round a ring (degree 4, so most messages
// take two hops). Each iteration publishes one envelope through our
// validator (decode + Ed25519 + ancestors + store group commit, Accept
// without waiting for the fsync: SPEC §1.4) and one through an
// accept-at-once validator on the same hosts and mesh; a third run waits for
// the group commit's fsync before Accept, for reference.
func BenchmarkGossipLatency(b *testing.B) {
	const n = 10
	var mode atomic.Int32
	tr := &deliveryTracker{}
	nodes := make([]*chainNode, n)
	for i := range nodes {
		nd := &chainNode{tb: b, key: keyFor(i)}
		nodes[i] = nd
	}
	for i, nd := range nodes {
		st := openBenchStore(b)
		nd.st = st
		h, err := New(context.Background(),
			Deps{Key: nd.key, Network: testNet, Validator: benchValidator{nd, &mode}, Ingester: nd, Log: StoreLog{Store: st}},
			WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithMDNS(false), WithLogger(testLogger()),
			WithSyncOnConnect(false), WithSyncInterval(0), WithDeliverHook(tr.deliver))
		if err != nil {
			b.Fatal(err)
		}
		nd.host = h
		_ = i
	}
	b.Cleanup(func() {
		for _, nd := range nodes {
			_ = nd.host.Close()
			_ = nd.st.Close()
		}
	})
	for i := range nodes {
		connect(b, nodes[i], nodes[(i+1)%n])
		connect(b, nodes[i], nodes[(i+3)%n])
	}
	eventually(b, 30*time.Second, "topic peers", func() bool {
		for _, nd := range nodes {
			if len(nd.host.TopicPeers()) < 4 {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second) // a few heartbeats: the mesh settles

	// One set of authors per mode: the accept-at-once run stores nothing,
	// so its chains must not be the ones the stored runs extend.
	var authors [3][]*author
	for m := range authors {
		for i := 0; i < n; i++ {
			authors[m] = append(authors[m], newAuthor(100+10*m+i))
		}
	}
	lat := map[int32][]time.Duration{}
	publish := func(i int, m int32) {
		mode.Store(m)
		src := nodes[i%n]
		e := authors[m][i%n].next(b)
		// Every host holds the author's previous messages, so nothing is an
		// orphan; the publisher stores its own first (SPEC §1.4).
		putAll(b, src.st, []*msg.Envelope{e})
		done := tr.expect(e.ID, n-1)
		start := time.Now()
		if err := src.host.Publish(context.Background(), e.Raw); err != nil {
			b.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			b.Fatalf("message %d (mode %d) not delivered everywhere", i, m)
		}
		lat[m] = append(lat[m], tr.doneAt.Sub(start))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		publish(i, 0)
		publish(i, 1)
		publish(i, 2)
	}
	b.StopTimer()
	ours, raw, fsync := lat[0], lat[1], lat[2]
	b.ReportMetric(ms(percentile(ours, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(ours, 99)), "p99-ms")
	b.ReportMetric(ms(percentile(raw, 50)), "raw-p50-ms")
	b.ReportMetric(ms(percentile(raw, 99)), "raw-p99-ms")
	b.ReportMetric(float64(percentile(ours, 99))/float64(percentile(raw, 99)), "x-raw-gossipsub")
	b.ReportMetric(ms(percentile(fsync, 99)), "fsync-p99-ms")
	b.ReportMetric(float64(percentile(fsync, 99))/float64(percentile(raw, 99)), "x-raw-fsync")
}

// BenchmarkSyncCatchUp: a fresh host (pebble store, gossip off) pulls 20,000
// stored messages of 8 authors from one peer over loopback. x-verify-bound
// divides the catch-up rate by the single-core Ed25519 verify rate
// (msg.Verify) measured in the same run.
func BenchmarkSyncCatchUp(b *testing.B) {
	const total = 20_000
	log := genLog(b, 8, total)
	src := newNode(b, 0, nodeOpts{extra: []Option{WithGossip(false), WithSyncOnConnect(false), WithSyncInterval(0)}})
	putAll(b, src.st, log)

	verifyRate := func() float64 {
		const k = 4000
		start := time.Now()
		for i := 0; i < k; i++ {
			e := log[i]
			if !msg.Verify(e.Body.Author, e.ID, e.Sig[:]) {
				b.Fatal("bad signature in the generated log")
			}
		}
		return k / time.Since(start).Seconds()
	}
	var elapsed time.Duration
	var vr float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		vr += verifyRate()
		dst := newNode(b, 1+i, nodeOpts{extra: []Option{WithGossip(false), WithSyncOnConnect(false), WithSyncInterval(0)}})
		connect(b, dst, src)
		b.StartTimer()
		start := time.Now()
		st, err := dst.host.SyncWith(context.Background(), src.host.ID())
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if dst.accepted.Load() != total || st.Accepted != total {
			b.Fatalf("caught up %d of %d (%+v)", dst.accepted.Load(), total, st)
		}
		b.StopTimer()
		_ = dst.host.Close()
		_ = dst.st.Close()
		b.StartTimer()
	}
	b.StopTimer()
	rate := float64(total*b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "msgs/s")
	b.ReportMetric(vr/float64(b.N), "verify/s")
	b.ReportMetric(rate/(vr/float64(b.N)), "x-verify-bound")
}
