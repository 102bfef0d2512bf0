package epoch

import (
	"bytes"
	"math"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/msg"
)

// Candidate is an account that may become a witness, with its REP (µREP) in the state after
// epoch k−2.
type Candidate struct {
	Account msg.Account
	Rep     uint64
}

// WitnessSet is W_k: the witnesses of one epoch with their weights. Members are sorted by
// account; Weights[i] belongs to Members[i]; Total = Σ Weights. The Engine applies its own
// genesis θ; the θ carried here only serves the set's own Quorum and IsQuorum.
type WitnessSet struct {
	Members []msg.Account
	Weights []uint64
	Total   uint64
	theta   [2]uint64 // θ_num, θ_den
}

// ComputeWitnessSet applies SPEC §4 "Witnesses". cands are the accounts of the state after
// epoch k−2 (those with REP 0 are skipped); excluded reports equivocators and checkpoint
// misbehavers; genesisWitnesses is genesis's `witnesses` list, the fallback when fewer than
// witnesses_min candidates remain. Accounts in cands must be distinct.
//
// Weights are capped: weight_i = min(rep_i, c) with c the largest integer such that
// 1e6·c ≤ witness_cap_ppm·Σ_j min(rep_j, c), or all 1 when no c ≥ 1 qualifies. The ledger keeps
// total REP below 2^64; should the candidates' REP ever sum past it, each REP is first clamped
// to ⌊(2^64−1)/n⌋ so that the function stays total and every node still agrees.
func ComputeWitnessSet(cands []Candidate, genesisWitnesses []msg.Account, excluded func(msg.Account) bool, cfg Config) WitnessSet {
	pool := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if c.Rep > 0 && (excluded == nil || !excluded(c.Account)) {
			pool = append(pool, c)
		}
	}
	ws := WitnessSet{theta: [2]uint64{cfg.ThetaNum, cfg.ThetaDen}}
	if len(pool) < cfg.WitnessesMin {
		seen := make(map[msg.Account]bool, len(genesisWitnesses))
		for _, a := range genesisWitnesses {
			if seen[a] || (excluded != nil && excluded(a)) {
				continue
			}
			seen[a] = true
			ws.Members = append(ws.Members, a)
		}
		slices.SortFunc(ws.Members, func(a, b msg.Account) int { return bytes.Compare(a[:], b[:]) })
		ws.Weights = make([]uint64, len(ws.Members))
		for i := range ws.Weights {
			ws.Weights[i] = 1
		}
		ws.Total = uint64(len(ws.Members))
		return ws
	}
	slices.SortFunc(pool, func(a, b Candidate) int {
		if a.Rep != b.Rep {
			if a.Rep > b.Rep {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.Account[:], b.Account[:])
	})
	if len(pool) > cfg.WitnessesN {
		pool = pool[:cfg.WitnessesN]
	}
	var sum u128
	for _, c := range pool {
		sum = sum.add64(c.Rep)
	}
	if sum.hi != 0 {
		limit := math.MaxUint64 / uint64(len(pool))
		for i := range pool {
			pool[i].Rep = min(pool[i].Rep, limit)
		}
	}
	reps := make([]uint64, len(pool))
	for i, c := range pool {
		reps[i] = c.Rep
	}
	c := capLevel(reps, cfg.WitnessCapPPM)
	slices.SortFunc(pool, func(a, b Candidate) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	ws.Members = make([]msg.Account, len(pool))
	ws.Weights = make([]uint64, len(pool))
	for i, cand := range pool {
		ws.Members[i] = cand.Account
		w := uint64(1)
		if c > 0 {
			w = min(cand.Rep, c)
		}
		ws.Weights[i] = w
		ws.Total += w
	}
	return ws
}

// capLevel finds the largest c ≥ 1 with 1e6·c ≤ capPPM·Σ min(rep_j, c), or 0 if none.
// f(c) = capPPM·Σ min(rep_j, c) − 1e6·c is concave with f(0) = 0 (its slope,
// capPPM·#{rep_j > c} − 1e6, only falls), so the c with f(c) ≥ 0 form an interval [0, c*]
// and binary search finds c*. For c beyond Σ rep, f(c) = capPPM·R − 1e6·c < 0, which bounds
// the search.
func capLevel(reps []uint64, capPPM uint64) uint64 {
	ok := func(c uint64) bool {
		var s u128
		for _, r := range reps {
			s = s.add64(min(r, c))
		}
		return mul128(s, capPPM).cmp(mul64(c, 1_000_000)) >= 0
	}
	if !ok(1) {
		return 0
	}
	var r u128
	for _, v := range reps {
		r = r.add64(v)
	}
	lo, hi := uint64(1), uint64(math.MaxUint64)
	if r.hi == 0 {
		hi = r.lo
	}
	for lo < hi { // invariant: ok(lo); c* ≤ hi
		mid := lo + (hi-lo+1)/2
		if ok(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// Index gives the position of a in Members, or -1.
func (ws WitnessSet) Index(a msg.Account) int {
	i, found := slices.BinarySearchFunc(ws.Members, a, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	if !found {
		return -1
	}
	return i
}

// Weight gives a's weight, 0 for a non-witness.
func (ws WitnessSet) Weight(a msg.Account) uint64 {
	if i := ws.Index(a); i >= 0 {
		return ws.Weights[i]
	}
	return 0
}

// Quorum reports θ_den·weight ≥ θ_num·W_k. An empty set (W_k = 0) has no quorum: with no
// witnesses the log halts rather than agreeing on everything.
func (ws WitnessSet) Quorum(weight uint64) bool {
	if ws.theta[1] == 0 {
		panic("epoch: WitnessSet without θ; build it with ComputeWitnessSet or WithTheta")
	}
	return quorum(ws.theta[0], ws.theta[1], weight, ws.Total)
}

func quorum(num, den, weight, total uint64) bool {
	if total == 0 {
		return false
	}
	return mul64(den, weight).cmp(mul64(num, total)) >= 0
}

// IsQuorum reports whether the distinct witnesses among signers form a quorum.
func (ws WitnessSet) IsQuorum(signers []msg.Account) bool {
	seen := make(map[int]bool, len(signers))
	var w uint64
	for _, s := range signers {
		if i := ws.Index(s); i >= 0 && !seen[i] {
			seen[i] = true
			w += ws.Weights[i]
		}
	}
	return ws.Quorum(w)
}

// WithTheta returns ws with the quorum fraction set; ComputeWitnessSet sets it from Config,
// this is for sets built by hand (tests, state snapshots decoded from storage).
func (ws WitnessSet) WithTheta(num, den uint64) WitnessSet {
	ws.theta = [2]uint64{num, den}
	return ws
}

// Theta gives the quorum fraction the set compares against.
func (ws WitnessSet) Theta() (num, den uint64) { return ws.theta[0], ws.theta[1] }

// Equal reports whether two sets have the same members, weights and θ.
func (ws WitnessSet) Equal(o WitnessSet) bool {
	return ws.Total == o.Total && ws.theta == o.theta && slices.Equal(ws.Members, o.Members) && slices.Equal(ws.Weights, o.Weights)
}

// u128 is an unsigned 128-bit integer for intermediate products.
type u128 struct{ hi, lo uint64 }

func mul64(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

func (x u128) add64(v uint64) u128 {
	lo, c := bits.Add64(x.lo, v, 0)
	return u128{x.hi + c, lo}
}

// mul128 multiplies by a small factor; the callers keep the result below 2^128.
func mul128(x u128, f uint64) u128 {
	hi1, lo := bits.Mul64(x.lo, f)
	_, hi2 := bits.Mul64(x.hi, f)
	return u128{hi1 + hi2, lo}
}

func (x u128) cmp(y u128) int {
	switch {
	case x.hi != y.hi:
		if x.hi < y.hi {
			return -1
		}
		return 1
	case x.lo != y.lo:
		if x.lo < y.lo {
			return -1
		}
		return 1
	}
	return 0
}
