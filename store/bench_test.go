package store

import (
	"context"
	"encoding/binary"
	"syscall"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
)

// benchRecord is message i of a stream from 100 authors, each writing its
// chain in order, with ~300-byte envelopes.
func benchRecord(i int, env []byte) Record {
	binary.BigEndian.PutUint64(env, uint64(i))
	return Record{
		ID:       msg.BlobID(env),
		Author:   acct(byte(i % 100)),
		Seq:      uint64(i/100 + 1),
		Envelope: env,
		RecvMs:   1_700_000_000_000 + int64(i),
	}
}

func benchEnv() []byte {
	env := make([]byte, 300)
	for i := range env {
		env[i] = byte(i * 13)
	}
	return env
}

// BenchmarkPutGroupCommit: one goroutine feeds Put and waits for its tickets
// in batches of 256, keeping at most two batches outstanding, as an ingest
// loop would. Reports msgs/s and the average records per fsync.
func BenchmarkPutGroupCommit(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	env := benchEnv()
	const batch = 256
	var prev, cur []Ticket
	st0 := s.Stats()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		cur = append(cur, s.Put(benchRecord(i, env)))
		if len(cur) == batch {
			for _, tk := range prev {
				if err := tk.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			prev, cur = cur, prev[:0]
		}
	}
	for _, l := range [][]Ticket{prev, cur} {
		for _, tk := range l {
			if err := tk.Wait(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	el := time.Since(start)
	// Includes the background work Put causes (commits, flushes,
	// compactions up to this point).
	cpu := cpuTime() - cpu0
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	if g := st.Groups - st0.Groups; g > 0 {
		b.ReportMetric(float64(st.Records-st0.Records)/float64(g), "recs/fsync")
	}
}

// BenchmarkPutSync: every record fsynced on its own, as for a node's own
// messages; the rate is the disk's fsync rate.
func BenchmarkPutSync(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	env := benchEnv()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := s.PutSync(ctx, benchRecord(i, env)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// fill stores n benchmark records and closes and reopens the store, so reads
// come from sstables and the WAL replay, as after a restart.
func fill(b *testing.B, n int) (*Store, []msg.ID) {
	dir := b.TempDir()
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	env := benchEnv()
	ids := make([]msg.ID, n)
	for i := 0; i < n; i++ {
		r := benchRecord(i, env)
		ids[i] = r.ID
		s.Put(r)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		b.Fatal(err)
	}
	return s, ids
}

// BenchmarkAll: the start-up scan of a 100,000-message log.
func BenchmarkAll(b *testing.B) {
	const n = 100_000
	s, _ := fill(b, n)
	defer s.Close()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c := 0
		if err := s.All(func(Record) bool { c++; return true }); err != nil || c != n {
			b.Fatalf("All saw %d (%v)", c, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkGet: random point reads by id in a 100,000-message log (about
// 60 MiB on disk), after one warming pass.
func BenchmarkGet(b *testing.B) {
	s, ids := fill(b, 100_000)
	defer s.Close()
	for _, id := range ids {
		if _, _, err := s.Get(id); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[(i*7919)%len(ids)]
		if _, ok, err := s.Get(id); err != nil || !ok {
			b.Fatalf("Get: %v %v", ok, err)
		}
	}
}

// BenchmarkHasMissing: lookups of absent ids (the duplicate check every new
// message pays) in a 100,000-message log.
func BenchmarkHasMissing(b *testing.B) {
	s, _ := fill(b, 100_000)
	defer s.Close()
	env := benchEnv()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := benchRecord(1_000_000+i, env).ID
		if ok, err := s.Has(id); err != nil || ok {
			b.Fatalf("Has: %v %v", ok, err)
		}
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine it is a
// steadier measure of cost than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
