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

// benchMix gives the stored log a replay decodes, in miniature: 60 POSTs of about
// 300 bytes, 34 VOTEs, 5 POOL_OPENs and one CHECKPOINT naming a heads blob, from
// 20 authors, in a fixed interleaving.
func benchMix(tb testing.TB) []*Envelope {
	keys := make([]ed25519.PrivateKey, 20)
	for i := range keys {
		var seed [32]byte
		seed[0], seed[1] = byte(i), 0x3c
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
	}
	text := strings.Repeat("abcdefghijklmnopqrstuvwxyz", 7)[:180]
	out := make([]*Envelope, 0, 100)
	for i := range 100 {
		priv := keys[i%len(keys)]
		seq := uint64(i/len(keys) + 2)
		prev := fill(byte(i))
		b := Body{Network: rejNet, Seq: seq, Prev: &prev, Parents: []ID{fill(0x71)},
			Lamport: seq + 10, TsMs: 1_700_000_000_000 + uint64(i)}
		var p Payload
		switch {
		case i == 99:
			p = &Checkpoint{Epoch: 42, HeadsBlob: ptr(fill(0x0d)), StateRoot: ptr(fill(0x0e))}
		case i%20 == 7:
			p = &PoolOpen{Post: fill(0x02), Fee: 12_345, Duration: 2, PoolKind: PoolExecutive}
		case i%3 == 1:
			p = &Vote{Pool: fill(0x03), Side: uint64(i % 2), Stake: uint64(1 + i*997)}
		default:
			p = &Post{Title: "post " + strings.Repeat("x", i%10), Text: text,
				Authors: []AuthorShare{{Account: AccountOf(priv), PPM: PPM}}}
		}
		e, err := Seal(priv, b, p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// BenchmarkDecodeMix decodes benchMix one envelope per op, as a replay of a
// node's own store does: Decode with SkipVerify, and DecodeStored, which also
// skips the hash of the body.
func BenchmarkDecodeMix(b *testing.B) {
	mix := benchMix(b)
	var size int
	for _, e := range mix {
		size += len(e.Raw)
	}
	o := Options{Network: rejNet, SkipVerify: true}
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size / len(mix)))
		i := 0
		for b.Loop() {
			if _, err := Decode(mix[i].Raw, o); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(mix) {
				i = 0
			}
		}
	})
	b.Run("Stored", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size / len(mix)))
		i := 0
		for b.Loop() {
			if _, err := DecodeStored(mix[i].Raw, mix[i].ID, o); err != nil {
				b.Fatal(err)
			}
			if i++; i == len(mix) {
				i = 0
			}
		}
	})
}
