package duty

import (
	"bytes"
	"math"
	"slices"

	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/msg"
)

// ClockConfig parameterises the clock check of SPEC §4.
type ClockConfig struct {
	SigmaMaxMs uint64 // sigma_max_ms: the largest tolerated |median offset|
	WindowMs   uint64 // how far back samples count: 10 epochs
	MinPeers   int    // peers needed for a verdict: 3
	// Memory bounds (local choices): at most MaxPeers peers, the newest PerPeer
	// samples of each.
	MaxPeers int
	PerPeer  int
}

// Defaults of the clock check.
const (
	ClockWindowEpochs = 10
	ClockMinPeers     = 3
	ClockMaxPeers     = 256
	ClockPerPeer      = 32
)

// ClockConfigFor gives the SPEC §4 clock check for a network: sigma_max_ms from cfg,
// a window of 10 epochs, 3 peers.
func ClockConfigFor(cfg epoch.Config) ClockConfig {
	w := uint64(math.MaxUint64)
	if cfg.EpochMs <= math.MaxUint64/ClockWindowEpochs {
		w = ClockWindowEpochs * cfg.EpochMs
	}
	return ClockConfig{SigmaMaxMs: cfg.SigmaMaxMs, WindowMs: w, MinPeers: ClockMinPeers, MaxPeers: ClockMaxPeers, PerPeer: ClockPerPeer}
}

// ClockReason says why a Verdict came out as it did.
type ClockReason uint8

const (
	// ClockOK: enough peers, and the median offset is within sigma_max_ms.
	ClockOK ClockReason = iota
	// ClockTooFewPeers: fewer than MinPeers peers sent messages in the window, so the
	// clock cannot be judged; duty goes on (a lone witness must keep the log going).
	ClockTooFewPeers
	// ClockSkewed: the median offset exceeds sigma_max_ms; duty is skipped.
	ClockSkewed
)

func (r ClockReason) String() string {
	switch r {
	case ClockOK:
		return "ok"
	case ClockTooFewPeers:
		return "too few peers to judge the clock"
	case ClockSkewed:
		return "clock differs from peers by more than sigma_max_ms"
	}
	return "unknown"
}

// Verdict is the clock check's answer at one moment.
type Verdict struct {
	Skip   bool
	Reason ClockReason
	// OffsetMs is the median over peers of each peer's median (receive time − ts_ms):
	// positive when the local clock is ahead of the peers' (plus gossip delay).
	// Meaningful when Peers ≥ MinPeers.
	OffsetMs int64
	Peers    int // peers with a sample in the window
	Samples  int // samples in the window
}

// ClockCheck accumulates clock samples for the SPEC §4 clock check in bounded memory.
// A sample is one message first delivered by gossip: its author (the clock that wrote
// ts_ms), its ts_ms, and the local receive time. Messages fetched by sync, and the
// node's own, must not be fed: old messages would read as a clock far ahead.
//
// The offset of a sample is receive time − ts_ms. Each peer's offsets are reduced to
// their median first and the verdict takes the median of those, so every peer has
// one vote whatever its message rate: one chatty or skewed author cannot move the
// verdict while at least half of the peers are honest.
type ClockCheck struct {
	cfg   ClockConfig
	peers map[msg.Account]*ring
}

type sample struct{ recv, off int64 }

// ring keeps a peer's newest samples.
type ring struct {
	s      []sample
	next   int
	newest int64
}

// NewClockCheck gives an empty accumulator. Zero bounds take the defaults.
func NewClockCheck(cfg ClockConfig) *ClockCheck {
	if cfg.MinPeers <= 0 {
		cfg.MinPeers = ClockMinPeers
	}
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = ClockMaxPeers
	}
	if cfg.PerPeer <= 0 {
		cfg.PerPeer = ClockPerPeer
	}
	return &ClockCheck{cfg: cfg, peers: make(map[msg.Account]*ring)}
}

// offsetLimit keeps offsets far from int64 overflow in medians and absolute values.
const offsetLimit = 1 << 62

// Observe records one sample.
func (c *ClockCheck) Observe(peer msg.Account, tsMs uint64, recvMs int64) {
	var off int64
	if tsMs > offsetLimit {
		off = -offsetLimit
	} else {
		// Both terms are within ±2^62, so the difference cannot overflow.
		off = max(-offsetLimit, min(offsetLimit, max(-offsetLimit, min(offsetLimit, recvMs))-int64(tsMs)))
	}
	r := c.peers[peer]
	if r == nil {
		if len(c.peers) >= c.cfg.MaxPeers {
			c.evict(recvMs)
		}
		r = &ring{s: make([]sample, 0, c.cfg.PerPeer), newest: recvMs}
		c.peers[peer] = r
	}
	if len(r.s) < c.cfg.PerPeer {
		r.s = append(r.s, sample{recvMs, off})
	} else {
		r.s[r.next] = sample{recvMs, off}
		r.next = (r.next + 1) % len(r.s)
	}
	r.newest = max(r.newest, recvMs)
}

// evict makes room for a new peer: peers silent for the whole window go first, else
// the one silent longest (ties: the smaller account), so the choice is deterministic.
func (c *ClockCheck) evict(nowMs int64) {
	var victim msg.Account
	var oldest int64
	found := false
	for a, r := range c.peers {
		if !c.inWindow(r.newest, nowMs) {
			delete(c.peers, a)
			continue
		}
		if !found || r.newest < oldest || (r.newest == oldest && bytes.Compare(a[:], victim[:]) < 0) {
			victim, oldest, found = a, r.newest, true
		}
	}
	if len(c.peers) >= c.cfg.MaxPeers && found {
		delete(c.peers, victim)
	}
}

func (c *ClockCheck) inWindow(recv, now int64) bool {
	return recv <= now && uint64(now-recv) < c.cfg.WindowMs
}

// Verdict answers "skip duty?" at nowMs from the samples received in the window
// (now − WindowMs, now].
func (c *ClockCheck) Verdict(nowMs int64) Verdict {
	var v Verdict
	meds := make([]int64, 0, len(c.peers))
	offs := make([]int64, 0, c.cfg.PerPeer)
	for _, r := range c.peers {
		offs = offs[:0]
		for _, s := range r.s {
			if c.inWindow(s.recv, nowMs) {
				offs = append(offs, s.off)
			}
		}
		if len(offs) == 0 {
			continue
		}
		v.Samples += len(offs)
		meds = append(meds, median(offs))
	}
	v.Peers = len(meds)
	if v.Peers < c.cfg.MinPeers {
		v.Reason = ClockTooFewPeers
		return v
	}
	v.OffsetMs = median(meds)
	abs := v.OffsetMs
	if abs < 0 {
		abs = -abs
	}
	if uint64(abs) > c.cfg.SigmaMaxMs {
		v.Skip, v.Reason = true, ClockSkewed
	}
	return v
}

// Peers counts the peers tracked (in or out of the window), for metrics.
func (c *ClockCheck) Peers() int { return len(c.peers) }

// median sorts xs and gives its middle value; for an even count the midpoint of the
// two middle values, rounded toward the lower one. Values stay within ±2^62.
func median(xs []int64) int64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	lo, hi := xs[n/2-1], xs[n/2]
	return lo + (hi-lo)/2
}
