package msg

import (
	"crypto/ed25519"
	"strings"
	"testing"
	"time"
)

// benchPost is a typical forum POST of about 300 bytes: a short text, one
// author, prev and one parent.
func benchPost(tb testing.TB, priv ed25519.PrivateKey, seq uint64) *Envelope {
	prev := fill(0x70)
	var pp *ID
	if seq > 1 {
		pp = &prev
	}
	e, err := Seal(priv, Body{Network: rejNet, Seq: seq, Prev: pp, Parents: []ID{fill(0x71)},
		Lamport: seq + 10, TsMs: 1_700_000_000_000 + seq},
		&Post{Title: "Benchmark post", Text: strings.Repeat("lorem ipsum ", 1),
			Authors: []AuthorShare{{Account: AccountOf(priv), PPM: PPM}}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func BenchmarkDecode(b *testing.B) {
	e := benchPost(b, goldenKey(), 2)
	b.ReportAllocs()
	b.SetBytes(int64(len(e.Raw)))
	for b.Loop() {
		if _, err := Decode(e.Raw, Options{Network: rejNet, SkipVerify: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// benchBatch gives n POSTs from 100 authors, as an ingest stream would.
func benchBatch(tb testing.TB, n int) []*Envelope {
	keys := make([]ed25519.PrivateKey, 100)
	for i := range keys {
		var seed [32]byte
		seed[0], seed[1] = byte(i), 0xbe
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
	}
	envs := make([]*Envelope, n)
	for i := range envs {
		envs[i] = benchPost(tb, keys[i%len(keys)], uint64(i+2))
	}
	return envs
}

func BenchmarkVerify(b *testing.B) {
	e := benchPost(b, goldenKey(), 2)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.VerifySignature(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkVerifyBatch reports msgs/s through VerifyBatch and x-single, that rate
// divided by the single-verification rate of the same envelopes measured in the
// same run (so machine load cancels out of the ratio). The one-bad case shows the
// cost of the fallback that names the culprit.
func BenchmarkVerifyBatch(b *testing.B) {
	// The single rate, over the same kind of envelopes, for at least half a second
	// (testing.Benchmark cannot nest inside a benchmark). The parent body runs once.
	ref := benchBatch(b, 256)
	n, start := 0, time.Now()
	for time.Since(start) < 500*time.Millisecond {
		for _, e := range ref {
			_ = e.VerifySignature()
		}
		n += len(ref)
	}
	singleRate := float64(n) / time.Since(start).Seconds()
	for _, c := range []struct {
		name string
		n    int
		bad  bool
	}{{"64", 64, false}, {"256", 256, false}, {"256-one-bad", 256, true}} {
		b.Run(c.name, func(b *testing.B) {
			envs := benchBatch(b, c.n)
			if c.bad {
				envs[c.n/2].Sig[0] ^= 1
			}
			b.ReportAllocs()
			for b.Loop() {
				bad := VerifyBatch(envs)
				if len(bad) != map[bool]int{false: 0, true: 1}[c.bad] {
					b.Fatalf("bad = %v", bad)
				}
			}
			rate := float64(b.N*c.n) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(rate/singleRate, "x-single")
		})
	}
}
