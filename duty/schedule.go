package duty

import (
	"math"

	"github.com/guild-net/guild/epoch"
)

// Schedule is what a witness owes at one moment, in signing order: an empty checkpoint
// for each epoch in Empty (ascending), then, if HasNormal, the regular checkpoint for
// Normal (greater than every epoch in Empty).
type Schedule struct {
	Empty     []uint64
	Normal    uint64
	HasNormal bool
}

// Latest gives the newest epoch whose duty time end(k)+g is at or before nowMs, and
// false before the first one.
func Latest(cfg epoch.Config, nowMs int64) (uint64, bool) {
	if nowMs < 0 || cfg.EpochMs == 0 {
		return 0, false
	}
	now := uint64(nowMs)
	if now < cfg.DutyTime(0) {
		return 0, false
	}
	// DutyTime(k) = G + (k+1)·E + g ≤ now  ⇔  k+1 ≤ (now − g − G)/E.
	return (now-cfg.GraceMs-cfg.GenesisTsMs)/cfg.EpochMs - 1, true
}

// Due decides which checkpoints the signer owes at nowMs (SPEC §4). last is the newest
// epoch of a checkpoint on its own chain (hasLast false when it has none); startedMs is
// when the node last started running; obliged(k) says whether the signer signs for k
// at all (Signs with its state after k−2).
//
// The newest due epoch K (the largest with end(K)+g ≤ now) is signed normally iff the
// node was running at end(K)+g. Every other owed epoch after last gets an empty
// checkpoint: one the node was down for, and one it was up for but did not sign
// (its clock check failed, or it stalled past the next epoch's duty time). A
// checkpoint signed late could otherwise list a message received after end(k)+g, and
// once K is signed no checkpoint for an earlier epoch is valid on this chain.
func Due(cfg epoch.Config, last uint64, hasLast bool, startedMs, nowMs int64, obliged func(k uint64) bool) Schedule {
	var s Schedule
	k, ok := Latest(cfg, nowMs)
	if !ok {
		return s
	}
	first := uint64(0)
	if hasLast {
		if last == math.MaxUint64 || last >= k {
			return s
		}
		first = last + 1
	}
	for j := first; j < k; j++ {
		if obliged(j) {
			s.Empty = append(s.Empty, j)
		}
	}
	if !obliged(k) {
		return s
	}
	if startedMs < 0 || uint64(startedMs) <= cfg.DutyTime(k) {
		s.Normal, s.HasNormal = k, true
	} else {
		s.Empty = append(s.Empty, k)
	}
	return s
}
