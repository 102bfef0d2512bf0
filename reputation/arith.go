package reputation

import (
	"bytes"
	"errors"
	"math"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/msg"
)

// PPM is one million parts per million.
const PPM = 1_000_000

// MulDivChecked computes ⌊a·b/d⌋ with a 128-bit intermediate. ok is false when d = 0
// (q = 0) or when the quotient does not fit in 64 bits (q = MaxUint64).
func MulDivChecked(a, b, d uint64) (q uint64, ok bool) {
	if d == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= d {
		return math.MaxUint64, false
	}
	q, _ = bits.Div64(hi, lo, d)
	return q, true
}

// MulDiv computes ⌊a·b/d⌋ (SPEC §7.0) with a 128-bit intermediate. Every use in the
// protocol has d > 0 and b ≤ d or a bounded product, so neither edge case is reached by
// the rules; they are still defined so that no input can panic: d = 0 gives 0 (as Split
// gives 0 shares for a zero total weight), and a quotient above 2^64−1 saturates to
// 2^64−1 (only mint_ratio_ppm > 1e6 on a fee near 2^64 could ask for it, and the mint is
// then clamped by the cap anyway).
func MulDiv(a, b, d uint64) uint64 {
	q, _ := MulDivChecked(a, b, d)
	return q
}

// MulGE reports a·b ≥ c·d exactly (comparisons by cross-multiplication, SPEC §1).
func MulGE(a, b, c, d uint64) bool {
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	return h1 > h2 || (h1 == h2 && l1 >= l2)
}

// Key identifies one party of a Split: an account or post id, or one of the two special
// keys SEED (a pool's seed stake) and KEEP (a post's own part), which sort before every id.
type Key struct {
	class uint8
	id    [32]byte
}

const (
	classSeed uint8 = iota
	classKeep
	classID
)

// SEED and KEEP are the special keys of SPEC §7.0.
var (
	SEED = Key{class: classSeed}
	KEEP = Key{class: classKeep}
)

// AccountKey is the key of an account.
func AccountKey(a msg.Account) Key { return Key{class: classID, id: a} }

// PostKey is the key of a post.
func PostKey(p msg.ID) Key { return Key{class: classID, id: p} }

// IsSpecial reports whether k is SEED or KEEP.
func (k Key) IsSpecial() bool { return k.class != classID }

// Bytes gives the 32-byte id behind an account or post key (zero for SEED and KEEP).
func (k Key) Bytes() [32]byte { return k.id }

// Compare orders keys: SEED, KEEP, then ids by bytes.
func (k Key) Compare(o Key) int {
	if k.class != o.class {
		if k.class < o.class {
			return -1
		}
		return 1
	}
	return bytes.Compare(k.id[:], o.id[:])
}

// Weighted is one (key, weight) pair of a Split.
type Weighted struct {
	Key Key
	W   uint64
}

// ErrWeightOverflow is returned when the weights of a Split sum past 2^64−1. The ledger's
// mint clamp keeps every weight sum the protocol uses (stakes, balances, flows) below it.
var ErrWeightOverflow = errors.New("split: weights sum past 2^64-1")

// Splitter performs Splits with reusable buffers. Its zero value is ready; it is not safe
// for concurrent use, and a result is valid only until the next call.
type Splitter struct {
	out []uint64
	rem []uint64
	idx []int32
}

// Split computes split(P, parts) of SPEC §7.0; share i belongs to parts[i]. With P = 0 or
// a zero total weight every share is 0 and the caller decides where P goes. Keys must be
// distinct for the tie rule to be total; they need not be sorted.
func Split(P uint64, parts []Weighted) ([]uint64, error) {
	var s Splitter
	return s.Split(P, parts)
}

// Split is the buffer-reusing form of the package-level Split.
func (s *Splitter) Split(P uint64, parts []Weighted) ([]uint64, error) {
	n := len(parts)
	s.out = slices.Grow(s.out[:0], n)[:n]
	clear(s.out)
	var W uint64
	for i := range parts {
		var c uint64
		W, c = bits.Add64(W, parts[i].W, 0)
		if c != 0 {
			return nil, ErrWeightOverflow
		}
	}
	if P == 0 || W == 0 {
		return s.out, nil
	}
	s.rem = slices.Grow(s.rem[:0], n)[:n]
	s.idx = s.idx[:0]
	var given uint64
	for i := range parts {
		hi, lo := bits.Mul64(P, parts[i].W)
		// parts[i].W ≤ W, so the quotient is ≤ P and hi < W: Div64 cannot panic.
		q, r := bits.Div64(hi, lo, W)
		s.out[i] = q
		s.rem[i] = r
		given += q
		if r > 0 {
			s.idx = append(s.idx, int32(i))
		}
	}
	left := P - given
	if left == 0 {
		return s.out, nil
	}
	// Σ rem = left·W and each rem < W, so more than `left` parts have a remainder.
	slices.SortFunc(s.idx, func(a, b int32) int {
		if s.rem[a] != s.rem[b] {
			if s.rem[a] > s.rem[b] {
				return -1
			}
			return 1
		}
		return parts[a].Key.Compare(parts[b].Key)
	})
	for _, i := range s.idx[:left] {
		s.out[i]++
	}
	return s.out, nil
}

// EqualPPM gives the ppm weights of n equal authors: split(1e6, n × weight 1) by
// ascending account id (SPEC §7.0). accounts must be distinct; the result follows their
// order.
func EqualPPM(accounts []msg.Account) []uint64 {
	parts := make([]Weighted, len(accounts))
	for i, a := range accounts {
		parts[i] = Weighted{Key: AccountKey(a), W: 1}
	}
	out, _ := Split(PPM, parts) // n ≤ 2^64−1 weights of 1 cannot overflow
	return slices.Clone(out)
}
