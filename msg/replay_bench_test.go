package msg_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

// BenchmarkReplayLog decodes the log of ingest's BenchmarkReplay (about 100,000
// stored messages and the 400 heads blobs of its checkpoints) the way a rebuild
// does, one op being the whole log:
//
//   - DecodeStored, StoredDecoder: every envelope, all kept alive until the op
//     ends, as the ledger keeps them; live-B/op is what the decoded values hold
//     on the heap beyond the envelope bytes.
//   - HeadsBlobs: every heads blob through DecodeHeadsBlobInto with one reused
//     slice, as ledger.(*Ledger).message does.
func BenchmarkReplayLog(b *testing.B) {
	log, err := simlog.Generate(simlog.Replay())
	if err != nil {
		b.Fatal(err)
	}
	o := msg.Options{Network: log.Genesis.NetworkID(), MaxBytes: int(log.Genesis.Params.Get(params.EnvelopeMaxBytes))}
	raws := make([][]byte, len(log.Envelopes))
	ids := make([]msg.ID, len(log.Envelopes))
	for i, e := range log.Envelopes {
		raws[i], ids[i] = e.Raw, e.ID
	}
	blobs := make([][]byte, 0, len(log.Blobs))
	heads := 0
	for _, bl := range log.Blobs {
		blobs = append(blobs, bl)
	}
	log = nil
	for _, c := range []struct {
		name   string
		decode func() func(raw []byte, id msg.ID) (*msg.Envelope, error)
	}{
		{"DecodeStored", func() func([]byte, msg.ID) (*msg.Envelope, error) {
			return func(raw []byte, id msg.ID) (*msg.Envelope, error) { return msg.DecodeStored(raw, id, o) }
		}},
		{"StoredDecoder", func() func([]byte, msg.ID) (*msg.Envelope, error) {
			return msg.NewStoredDecoder(o).Decode
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			kept := make([]*msg.Envelope, len(raws))
			var live uint64
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				clear(kept)
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				b.StartTimer()
				cpu0 := processCPU()
				decode := c.decode()
				for i, raw := range raws {
					e, err := decode(raw, ids[i])
					if err != nil {
						b.Fatal(err)
					}
					kept[i] = e
				}
				cpu += processCPU() - cpu0
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				live += m1.HeapAlloc - m0.HeapAlloc
				b.StartTimer()
			}
			b.ReportMetric(float64(live)/float64(b.N), "live-B/op")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "msgs/s")
		})
	}
	b.Run("HeadsBlobs", func(b *testing.B) {
		var hs []msg.Head
		b.ReportAllocs()
		for b.Loop() {
			heads = 0
			for _, bl := range blobs {
				if hs, err = msg.DecodeHeadsBlobInto(hs, bl); err != nil {
					b.Fatal(err)
				}
				heads += len(hs)
			}
		}
		b.ReportMetric(float64(b.N*heads)/b.Elapsed().Seconds(), "heads/s")
	})
}

// processCPU is the process's user+system CPU time (the collector's included):
// on a shared machine it is a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
