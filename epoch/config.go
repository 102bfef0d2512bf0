package epoch

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Config holds the genesis-fixed parameters of the epoch rule (WIRE §5 and §7 ids 1–9).
// None of them can change during a network's life, so a Config is built once.
type Config struct {
	GenesisTsMs   uint64 // genesis_ts_ms
	EpochMs       uint64 // E, epoch_ms
	GraceMs       uint64 // g, grace_ms
	ThetaNum      uint64 // θ = ThetaNum/ThetaDen, the quorum fraction
	ThetaDen      uint64
	WitnessesN    int    // witnesses_n
	WitnessesMin  int    // witnesses_min
	WitnessCapPPM uint64 // witness_cap_ppm
	MaxHeads      int    // max_heads (duty only; received checkpoints are not truncated)
	SigmaMaxMs    uint64 // sigma_max_ms (duty only)
}

// ErrConfig is returned by Config.Validate for parameters outside their WIRE §7 bounds.
var ErrConfig = errors.New("epoch: invalid config")

// Validate checks the bounds of WIRE §7 that the epoch rule relies on.
func (c Config) Validate() error {
	switch {
	case c.EpochMs < 1000:
		return fmt.Errorf("%w: epoch_ms %d < 1000", ErrConfig, c.EpochMs)
	case c.GraceMs > c.EpochMs/4:
		return fmt.Errorf("%w: grace_ms %d > epoch_ms/4", ErrConfig, c.GraceMs)
	case c.ThetaDen == 0:
		return fmt.Errorf("%w: theta_den is 0", ErrConfig)
	case !aboveHalf(c.ThetaNum, c.ThetaDen):
		return fmt.Errorf("%w: theta %d/%d is not above 1/2", ErrConfig, c.ThetaNum, c.ThetaDen)
	case c.WitnessesN < 1 || c.WitnessesN > 256:
		return fmt.Errorf("%w: witnesses_n %d outside 1–256", ErrConfig, c.WitnessesN)
	case c.WitnessesMin < 1 || c.WitnessesMin > c.WitnessesN:
		return fmt.Errorf("%w: witnesses_min %d outside 1–witnesses_n", ErrConfig, c.WitnessesMin)
	case c.WitnessCapPPM < 1 || c.WitnessCapPPM > 1_000_000:
		return fmt.Errorf("%w: witness_cap_ppm %d outside 1–1e6", ErrConfig, c.WitnessCapPPM)
	case c.MaxHeads < 1 || c.MaxHeads > 65536:
		return fmt.Errorf("%w: max_heads %d outside 1–65536", ErrConfig, c.MaxHeads)
	case c.SigmaMaxMs > c.EpochMs/8:
		return fmt.Errorf("%w: sigma_max_ms %d > epoch_ms/8", ErrConfig, c.SigmaMaxMs)
	}
	return nil
}

// aboveHalf reports num/den > 1/2, i.e. 2·num > den, without overflow.
func aboveHalf(num, den uint64) bool {
	hi, lo := bits.Mul64(num, 2)
	return hi > 0 || lo > den
}

// Start is the first millisecond of epoch k. It saturates at MaxUint64 instead of wrapping,
// because k can come from a checkpoint signed by anybody.
func (c Config) Start(k uint64) uint64 { return c.boundary(k) }

// End is end(k) = genesis_ts + (k+1)·E, the first millisecond after epoch k (saturating).
func (c Config) End(k uint64) uint64 {
	if k == math.MaxUint64 {
		return math.MaxUint64
	}
	return c.boundary(k + 1)
}

func (c Config) boundary(n uint64) uint64 {
	hi, lo := bits.Mul64(n, c.EpochMs)
	if hi != 0 {
		return math.MaxUint64
	}
	s, carry := bits.Add64(lo, c.GenesisTsMs, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

// DutyTime is end(k)+g: the earliest valid timestamp of a checkpoint for k, and the moment a
// witness's clock must pass before it signs one (saturating).
func (c Config) DutyTime(k uint64) uint64 {
	s, carry := bits.Add64(c.End(k), c.GraceMs, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

// EpochOf gives the epoch whose interval holds tsMs. Times before genesis belong to epoch 0:
// nothing can happen before genesis, and clamping keeps the function total.
func (c Config) EpochOf(tsMs uint64) uint64 {
	if tsMs < c.GenesisTsMs || c.EpochMs == 0 {
		return 0
	}
	return (tsMs - c.GenesisTsMs) / c.EpochMs
}
