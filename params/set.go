package params

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
)

// Sentinel errors; every error returned by this package wraps one of them inside an
// *Error naming the parameter.
var (
	ErrUnknown     = errors.New("unknown parameter")
	ErrGenesisOnly = errors.New("parameter is fixed by genesis")
	ErrOutOfBounds = errors.New("value out of bounds")
	ErrCrossBound  = errors.New("cross-parameter bound broken")
	ErrDiffOrder   = errors.New("diff not sorted by id or id repeated")
	ErrEmptyDiff   = errors.New("empty parameter diff")
)

// Error names the parameter a check failed on.
type Error struct {
	ID    ID
	Value uint64
	// Rule is the bound in words, e.g. "≤ epoch_ms/4 = 15000".
	Rule string
	Err  error
}

func (e *Error) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s = %d: %v (%s)", e.ID, e.Value, e.Err, e.Rule)
	}
	return fmt.Sprintf("%s = %d: %v", e.ID, e.Value, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Set holds one value per parameter. It is an array, so assignment copies it.
type Set struct {
	v [Count + 1]uint64
}

// Defaults gives the WIRE §7 defaults.
func Defaults() Set {
	var s Set
	for i := 1; i <= Count; i++ {
		s.v[i] = table[i].Default
	}
	return s
}

// Get gives the value of id; 0 for an unknown id.
func (s *Set) Get(id ID) uint64 {
	if !id.Known() {
		return 0
	}
	return s.v[id]
}

// GetByName gives the value of the named parameter.
func (s *Set) GetByName(name string) (uint64, bool) {
	id, ok := byName[name]
	if !ok {
		return 0, false
	}
	return s.v[id], true
}

// With gives a copy of s with id set to v, unchecked (use Validate or ApplyDiff for checks).
func (s Set) With(id ID, v uint64) Set {
	if id.Known() {
		s.v[id] = v
	}
	return s
}

// Validate checks every per-parameter and cross-parameter bound. The first broken bound,
// in id order of the parameter it names, is returned.
func (s *Set) Validate() error {
	for i := 1; i <= Count; i++ {
		inf := &table[i]
		if !inf.inBounds(s.v[i]) {
			return &Error{ID: inf.ID, Value: s.v[i], Rule: inf.Bounds, Err: ErrOutOfBounds}
		}
	}
	return s.validateCross()
}

// cross-parameter bounds of WIRE §7 (and the decisions in docs/rationale.md (economy)).
func (s *Set) validateCross() error {
	v := &s.v
	cross := func(id ID, rule string) error {
		return &Error{ID: id, Value: v[id], Rule: rule, Err: ErrCrossBound}
	}
	if v[GraceMs] > v[EpochMs]/4 {
		return cross(GraceMs, fmt.Sprintf("≤ epoch_ms/4 = %d", v[EpochMs]/4))
	}
	// θ is a fraction of witness weight: above 1/2 so two quorums intersect, at most 1 so
	// a quorum can exist at all.
	if !fracAbove(v[ThetaNum], v[ThetaDen]) || v[ThetaNum] > v[ThetaDen] {
		return cross(ThetaNum, fmt.Sprintf("1/2 < theta_num/theta_den ≤ 1, theta_den = %d", v[ThetaDen]))
	}
	if v[WitnessesMin] > v[WitnessesN] {
		return cross(WitnessesMin, fmt.Sprintf("≤ witnesses_n = %d", v[WitnessesN]))
	}
	if v[SigmaMaxMs] > v[EpochMs]/8 {
		return cross(SigmaMaxMs, fmt.Sprintf("≤ epoch_ms/8 = %d", v[EpochMs]/8))
	}
	if !winRatioOK(v[WinExecNum], v[WinExecDen]) {
		return cross(WinExecNum, fmt.Sprintf("1/2 ≤ win_exec_num/win_exec_den ≤ 1, win_exec_den = %d", v[WinExecDen]))
	}
	if !winRatioOK(v[WinGovNum], v[WinGovDen]) {
		return cross(WinGovNum, fmt.Sprintf("1/2 ≤ win_gov_num/win_gov_den ≤ 1, win_gov_den = %d", v[WinGovDen]))
	}
	if v[PoolDurationMin] > v[PoolDurationMax] {
		return cross(PoolDurationMin, fmt.Sprintf("≤ pool_duration_max = %d", v[PoolDurationMax]))
	}
	if v[NonResponsePenalty] > v[StakePerAssignment] {
		return cross(NonResponsePenalty, fmt.Sprintf("≤ stake_per_assignment = %d", v[StakePerAssignment]))
	}
	if v[Tier1Max] >= v[Tier2Max] {
		return cross(Tier1Max, fmt.Sprintf("< tier2_max = %d", v[Tier2Max]))
	}
	if v[Tier2Max] >= v[Tier3Max] {
		return cross(Tier2Max, fmt.Sprintf("< tier3_max = %d", v[Tier3Max]))
	}
	return nil
}

// fracAbove reports num/den > 1/2, i.e. 2·num > den, without overflow.
func fracAbove(num, den uint64) bool {
	hi, lo := bits.Mul64(num, 2)
	return hi > 0 || lo > den
}

// winRatioOK reports 1/2 ≤ num/den ≤ 1 with den ≥ 1.
func winRatioOK(num, den uint64) bool {
	if den == 0 || num > den {
		return false
	}
	hi, lo := bits.Mul64(num, 2)
	return hi > 0 || lo >= den
}

// Change is one (id, value) pair of a diff, and one row of the params state component.
type Change struct {
	_     struct{} `cbor:",toarray"`
	ID    ID
	Value uint64
}

// Diff is a parameter diff: changes sorted by ascending id, each id once.
type Diff []Change

// NewDiff builds a sorted diff from a map.
func NewDiff(m map[ID]uint64) Diff {
	d := make(Diff, 0, len(m))
	for id, v := range m {
		d = append(d, Change{ID: id, Value: v})
	}
	slices.SortFunc(d, func(a, b Change) int { return int(a.ID) - int(b.ID) })
	return d
}

// Clone copies the diff.
func (d Diff) Clone() Diff { return slices.Clone(d) }

// checkShape verifies that ids ascend strictly and are all known.
func (d Diff) checkShape() error {
	for i, c := range d {
		if i > 0 && c.ID <= d[i-1].ID {
			return &Error{ID: c.ID, Value: c.Value, Err: ErrDiffOrder}
		}
		if !c.ID.Known() {
			return &Error{ID: c.ID, Value: c.Value, Err: ErrUnknown}
		}
	}
	return nil
}

// CheckGovernance reports whether d may be carried by a governance post (SPEC §9): not
// empty, sorted, only known non-genesis parameters, each value inside its own bounds.
// Cross-parameter bounds are checked at activation (Schedule.Activate), not here.
func CheckGovernance(d Diff) error {
	if len(d) == 0 {
		return ErrEmptyDiff
	}
	if err := d.checkShape(); err != nil {
		return err
	}
	for _, c := range d {
		inf := &table[c.ID]
		if inf.Scope == Genesis {
			return &Error{ID: c.ID, Value: c.Value, Err: ErrGenesisOnly}
		}
		if !inf.inBounds(c.Value) {
			return &Error{ID: c.ID, Value: c.Value, Rule: inf.Bounds, Err: ErrOutOfBounds}
		}
	}
	return nil
}

// ApplyDiff gives s with d applied, genesis parameters included (this is how genesis
// builds its Set from the defaults). The result must pass Validate; on any error s is
// returned unchanged alongside it.
func (s Set) ApplyDiff(d Diff) (Set, error) {
	if err := d.checkShape(); err != nil {
		return s, err
	}
	n := s
	for _, c := range d {
		n.v[c.ID] = c.Value
	}
	if err := n.Validate(); err != nil {
		return s, err
	}
	return n, nil
}

// ApplyGovernance applies a governance diff: CheckGovernance, then ApplyDiff.
func (s Set) ApplyGovernance(d Diff) (Set, error) {
	if err := CheckGovernance(d); err != nil {
		return s, err
	}
	return s.ApplyDiff(d)
}

// Rows gives the params state component: every parameter as (id, value), ascending id.
func (s *Set) Rows() []Change {
	out := make([]Change, Count)
	for i := 1; i <= Count; i++ {
		out[i-1] = Change{ID: ID(i), Value: s.v[i]}
	}
	return out
}

// NonDefault gives the changes from the defaults, ascending id (genesis's `params` map).
func (s *Set) NonDefault() Diff {
	var d Diff
	for i := 1; i <= Count; i++ {
		if s.v[i] != table[i].Default {
			d = append(d, Change{ID: ID(i), Value: s.v[i]})
		}
	}
	return d
}
