package node

import (
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/store"
)

// stillClock is a clock that never moves: a restart measured at one instant.
type stillClock struct{ ms int64 }

func (c stillClock) NowMs() int64                         { return c.ms }
func (c stillClock) After(time.Duration) <-chan time.Time { return nil }

// BenchmarkNodeRestart measures what an operator waits for when a node restarts on the
// store of BenchmarkReplay (about 100,000 messages, 100 epochs): New opens nothing but
// the rebuild, recovers the node's own chain, advances to the present and publishes
// the first snapshot. Run it with -cpu 1 to compare with BenchmarkReplay.
func BenchmarkNodeRestart(b *testing.B) {
	c := simlog.Replay()
	log, err := simlog.Generate(c)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "store")
	if err := log.WriteStore(dir); err != nil {
		b.Fatal(err)
	}
	cfg := Config{
		Genesis: log.Genesis,
		Key:     identity.Key{Priv: log.Keys[len(log.Keys)-1]}, // a witness, with a chain to recover
		Clock:   stillClock{int64(log.Genesis.GenesisTsMs) + int64(c.Epochs+10)*int64(c.EpochMs)},
		Logger:  slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	total := len(log.Envelopes)
	log = nil // a restarting node has its store and nothing else
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		cfg.Store = st
		n, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := n.Close(); err != nil {
			b.Fatal(err)
		}
		st.Close()
		n = nil
		runtime.GC()
		b.StartTimer()
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
