package duty

import (
	"testing"

	"github.com/guild-net/guild/msg"
)

type clockSample struct {
	peer int
	off  int64 // receive time − ts
	at   int64 // receive time, offset from G
}

// repeat gives n samples of one peer, 10 ms apart from at.
func repeat(peer, n int, off, at int64) []clockSample {
	out := make([]clockSample, n)
	for i := range out {
		out[i] = clockSample{peer, off, at + int64(i)*10}
	}
	return out
}

func cat(parts ...[]clockSample) []clockSample {
	var out []clockSample
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestClockCheck(t *testing.T) {
	const now = 30_000 // window: samples received in (10_000, 30_000]
	cases := []struct {
		name     string
		maxPeers int
		samples  []clockSample
		skip     bool
		reason   ClockReason
		offset   int64
		peers    int
	}{
		{"no samples", 0, nil, false, ClockTooFewPeers, 0, 0},
		{"two peers far off are too few to judge", 0, cat(repeat(0, 3, 5000, 20_000), repeat(1, 3, 5000, 20_000)), false, ClockTooFewPeers, 0, 2},
		{"three peers within sigma", 0, cat(repeat(0, 1, 50, 20_000), repeat(1, 1, 120, 20_000), repeat(2, 1, 200, 20_000)), false, ClockOK, 120, 3},
		{"median exactly sigma is fine", 0, cat(repeat(0, 1, 200, 20_000), repeat(1, 1, 200, 20_000), repeat(2, 1, 900, 20_000)), false, ClockOK, 200, 3},
		{"median one over sigma skips", 0, cat(repeat(0, 1, 201, 20_000), repeat(1, 1, 201, 20_000), repeat(2, 1, 0, 20_000)), true, ClockSkewed, 201, 3},
		{"clock behind the peers skips", 0, cat(repeat(0, 1, -300, 20_000), repeat(1, 1, -250, 20_000), repeat(2, 1, -500, 20_000)), true, ClockSkewed, -300, 3},
		{"one chatty skewed peer has one vote", 0, cat(repeat(0, 1, 10, 20_000), repeat(1, 1, 20, 20_000), repeat(2, 30, 50_000, 20_000)), false, ClockOK, 20, 3},
		{"each peer's median first", 0, cat(
			[]clockSample{{0, 0, 20_000}, {0, 1000, 20_010}, {0, 1000, 20_020}},
			repeat(1, 1, 1000, 20_000), repeat(2, 1, 0, 20_000)), true, ClockSkewed, 1000, 3},
		{"four peers: midpoint of the middle two, over", 0, cat(repeat(0, 1, 100, 20_000), repeat(1, 1, 200, 20_000), repeat(2, 1, 300, 20_000), repeat(3, 1, 400, 20_000)), true, ClockSkewed, 250, 4},
		{"four peers: midpoint of the middle two, under", 0, cat(repeat(0, 1, 0, 20_000), repeat(1, 1, 100, 20_000), repeat(2, 1, 301, 20_000), repeat(3, 1, 1000, 20_000)), false, ClockOK, 200, 4},
		{"samples 10 epochs old no longer count", 0, cat(repeat(0, 1, 5000, 10_000), repeat(1, 1, 5000, 10_000), repeat(2, 1, 5000, 10_000)), false, ClockTooFewPeers, 0, 0},
		{"samples just inside 10 epochs count", 0, cat(repeat(0, 1, 5000, 10_001), repeat(1, 1, 5000, 10_001), repeat(2, 1, 5000, 10_001)), true, ClockSkewed, 5000, 3},
		{"old skew is forgotten, fresh samples decide", 0, cat(
			repeat(0, 5, 5000, 1000), repeat(1, 5, 5000, 1000), repeat(2, 5, 5000, 1000),
			repeat(0, 1, 30, 25_000), repeat(1, 1, 40, 25_000), repeat(2, 1, 50, 25_000)), false, ClockOK, 40, 3},
		{"samples after now are ignored", 0, cat(repeat(0, 1, 5000, 30_001), repeat(1, 1, 0, 20_000), repeat(2, 1, 0, 20_000), repeat(3, 1, 0, 20_000)), false, ClockOK, 0, 3},
		{"a peer keeps its newest 32 samples", 0, cat(repeat(0, 40, 5000, 11_000), repeat(0, 32, 0, 20_000), repeat(1, 1, 5000, 20_000), repeat(2, 1, 0, 20_000)), false, ClockOK, 0, 3},
		{"peer cap evicts the peer silent longest", 3, cat(repeat(0, 1, 0, 20_100), repeat(1, 1, 0, 20_200), repeat(2, 1, 1000, 20_300), repeat(3, 1, 1000, 20_400)), true, ClockSkewed, 1000, 3},
	}
	w := newWorld(t, 4)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ClockConfigFor(testConfig())
			cfg.MaxPeers = tc.maxPeers
			c := NewClockCheck(cfg)
			for _, s := range tc.samples {
				recv := G + s.at
				c.Observe(w.accts[s.peer], uint64(recv-s.off), recv)
			}
			v := c.Verdict(G + now)
			if v.Skip != tc.skip || v.Reason != tc.reason || v.Peers != tc.peers || (v.Peers >= 3 && v.OffsetMs != tc.offset) {
				t.Fatalf("verdict %+v (%v); want skip %v %v offset %d peers %d", v, v.Reason, tc.skip, tc.reason, tc.offset, tc.peers)
			}
			if c.Peers() > cfg.MaxPeers && cfg.MaxPeers > 0 {
				t.Fatalf("%d peers tracked, cap %d", c.Peers(), cfg.MaxPeers)
			}
		})
	}
}

func TestClockConfigFor(t *testing.T) {
	got := ClockConfigFor(testConfig())
	want := ClockConfig{SigmaMaxMs: 200, WindowMs: 20_000, MinPeers: 3, MaxPeers: 256, PerPeer: 32}
	if got != want {
		t.Fatalf("%+v, want %+v", got, want)
	}
}

// Offsets of absurd timestamps saturate instead of overflowing.
func TestClockExtremes(t *testing.T) {
	c := NewClockCheck(ClockConfig{SigmaMaxMs: 200, WindowMs: 20_000})
	var a, b, d msg.Account
	a[0], b[0], d[0] = 1, 2, 3
	c.Observe(a, ^uint64(0), G)
	c.Observe(b, 1<<63, G)
	c.Observe(d, 0, G)
	v := c.Verdict(G)
	if !v.Skip || v.OffsetMs != -offsetLimit {
		t.Fatalf("verdict %+v", v)
	}
}
