package store_test

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/store"
)

// replayStore writes the log of ingest's BenchmarkReplay (about 100,000 messages,
// compacted) into a fresh store directory and gives its path, its record count and
// the size of its tables on disk.
func replayStore(b *testing.B) (dir string, n int, size int64) {
	b.Helper()
	log, err := simlog.Generate(simlog.Replay())
	if err != nil {
		b.Fatal(err)
	}
	dir = filepath.Join(b.TempDir(), "store")
	if err := log.WriteStore(dir); err != nil {
		b.Fatal(err)
	}
	// Tables only: the write-ahead logs pebble keeps for recycling are not data.
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".sst" {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			size += fi.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return dir, len(log.Envelopes), size
}

// BenchmarkAllReplay is the scan phase of a rebuild: open the store of
// BenchmarkReplay's log as a restarting node does, read every record with All and
// keep every envelope, as ingest.Pipeline.Load does. Reports the process CPU time
// per op (mean and least: the least is the steadier on a shared machine) and the
// size of the store's tables on disk.
func BenchmarkAllReplay(b *testing.B) {
	dir, n, size := replayStore(b)
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var total, least time.Duration
	for b.Loop() {
		cpu0 := processCPU()
		st, err := store.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		kept := make([][]byte, 0, n)
		if err := st.All(func(r store.Record) bool {
			kept = append(kept, r.Envelope)
			return true
		}); err != nil {
			b.Fatal(err)
		}
		if len(kept) != n {
			b.Fatalf("All saw %d of %d", len(kept), n)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		cpu := processCPU() - cpu0
		total += cpu
		if least == 0 || cpu < least {
			least = cpu
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(least.Microseconds())/1000, "min-cpu-ms")
	b.ReportMetric(float64(size)/(1<<20), "MiB-sst")
}

// processCPU is the process's user+system CPU time (pebble's background work
// and the collector's included): on a shared machine it is a steadier measure
// than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
