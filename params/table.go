package params

import (
	"fmt"
	"math"
)

// ID is a parameter's stable id (WIRE §7).
type ID uint16

// Parameter ids, WIRE §7.
const (
	EpochMs               ID = 1
	GraceMs               ID = 2
	ThetaNum              ID = 3
	ThetaDen              ID = 4
	WitnessesN            ID = 5
	WitnessesMin          ID = 6
	WitnessCapPPM         ID = 7
	MaxHeads              ID = 8
	SigmaMaxMs            ID = 9
	EnvelopeMaxBytes      ID = 10
	MinFee                ID = 11
	MinFeePerRun          ID = 12
	MintRatioPPM          ID = 13
	MintCapPPM            ID = 14
	GenesisMintMax        ID = 15
	QuorumExecPPM         ID = 16
	QuorumGovPPM          ID = 17
	QuorumWorkPPM         ID = 18
	WinExecNum            ID = 19
	WinExecDen            ID = 20
	WinGovNum             ID = 21
	WinGovDen             ID = 22
	BindingExecPPM        ID = 23
	BindingGovPPM         ID = 24
	Redistribute          ID = 25
	WorkerSharePPM        ID = 26
	RevaluationLimitPPM   ID = 27
	MaxCitations          ID = 28
	DepthMax              ID = 29
	PoolDurationMin       ID = 30
	PoolDurationMax       ID = 31
	StakePerAssignment    ID = 32
	NonResponsePenalty    ID = 33
	CommitEpochs          ID = 34
	RevealEpochs          ID = 35
	WorkPoolDuration      ID = 36
	ModuleCitationPPM     ID = 37
	UnavailableFeePPM     ID = 38
	MaxRequestEpochs      ID = 39
	MaxAvailabilityEpochs ID = 40
	ActivationDelay       ID = 41
	DecayPPM              ID = 42
	OutputCapBytes        ID = 43
	MaxRepeatCount        ID = 44
	MaxMsgsPerAuthorEpoch ID = 45
	Tier1Max              ID = 46
	Tier2Max              ID = 47
	Tier3Max              ID = 48
	Tier1Size             ID = 49
	Tier2Size             ID = 50
	Tier3Size             ID = 51
	Tier4Size             ID = 52
	MaxFuel               ID = 53
	MaxPages              ID = 54
	lastID                ID = MaxPages
	unbounded                = math.MaxUint64
)

// Count is the number of parameters; ids run from 1 to Count.
const Count = int(lastID)

// Scope says when a parameter's value is read (WIRE §7).
type Scope uint8

// Scopes. Genesis parameters are fixed for the network's life; Frozen ones are copied
// into a pool when it opens; the others are read from the Set in force at the moment named.
const (
	Genesis Scope = iota + 1
	ReadAtOpen
	ReadAtRequest
	Frozen
	ReadAtResolution
	ReadAtPost
	ReadAtWindowClose
	ReadAtStake
	ReadEachEpoch
)

var scopeNames = [...]string{
	Genesis: "genesis", ReadAtOpen: "read at open", ReadAtRequest: "read at request",
	Frozen: "frozen", ReadAtResolution: "read at resolution", ReadAtPost: "read at post",
	ReadAtWindowClose: "read at window close", ReadAtStake: "read at stake",
	ReadEachEpoch: "read each epoch",
}

func (s Scope) String() string {
	if int(s) < len(scopeNames) && scopeNames[s] != "" {
		return scopeNames[s]
	}
	return fmt.Sprintf("scope(%d)", uint8(s))
}

// Info describes one parameter. Min and Max are inclusive per-parameter bounds;
// bounds that involve another parameter are checked by Set.Validate.
type Info struct {
	ID      ID
	Name    string
	Default uint64
	Min     uint64
	Max     uint64
	// Odd requires an odd value (committee tier sizes).
	Odd   bool
	Scope Scope
	// Unit is shown to people: "ms", "ppm", "µcredits", "µREP", "live epochs", "bytes", "".
	Unit string
	// Bounds is the WIRE §7 bounds column, for help texts.
	Bounds string
}

// table is indexed by id; entry 0 is unused. It is never written after initialisation.
var table = [Count + 1]Info{
	{},
	{EpochMs, "epoch_ms", 60000, 1000, unbounded, false, Genesis, "ms", "≥ 1000"},
	{GraceMs, "grace_ms", 5000, 0, unbounded, false, Genesis, "ms", "≤ epoch_ms/4"},
	{ThetaNum, "theta_num", 2, 1, unbounded, false, Genesis, "", "theta_num/theta_den > 1/2 (and ≤ 1)"},
	{ThetaDen, "theta_den", 3, 1, unbounded, false, Genesis, "", "theta_num/theta_den > 1/2 (and ≤ 1)"},
	{WitnessesN, "witnesses_n", 32, 1, 256, false, Genesis, "", "1–256"},
	{WitnessesMin, "witnesses_min", 4, 1, 256, false, Genesis, "", "1–witnesses_n"},
	{WitnessCapPPM, "witness_cap_ppm", 100000, 1, 1000000, false, Genesis, "ppm", "1–1e6"},
	{MaxHeads, "max_heads", 4096, 1, 65536, false, Genesis, "", "1–65536"},
	{SigmaMaxMs, "sigma_max_ms", 1000, 0, unbounded, false, Genesis, "ms", "≤ epoch_ms/8"},
	{EnvelopeMaxBytes, "envelope_max_bytes", 65536, 4096, 1048576, false, Genesis, "bytes", "4096–1048576"},
	{MinFee, "min_fee", 10000, 1, unbounded, false, ReadAtOpen, "µcredits", "≥ 1"},
	{MinFeePerRun, "min_fee_per_run", 1000, 1, unbounded, false, ReadAtRequest, "µcredits", "≥ 1"},
	{MintRatioPPM, "mint_ratio_ppm", 1000000, 0, 10000000, false, Frozen, "ppm", "0–1e7"},
	{MintCapPPM, "mint_cap_ppm", 1000000, 1, 1000000, false, Frozen, "ppm", "1–1e6"},
	{GenesisMintMax, "genesis_mint_max", 10000000, 0, unbounded, false, Frozen, "µREP", "≥ 0"},
	{QuorumExecPPM, "quorum_exec_ppm", 100000, 100000, 1000000, false, Frozen, "ppm", "100000–1e6"},
	{QuorumGovPPM, "quorum_gov_ppm", 333333, 100000, 1000000, false, Frozen, "ppm", "100000–1e6"},
	{QuorumWorkPPM, "quorum_work_ppm", 10000, 10000, 1000000, false, Frozen, "ppm", "10000–1e6"},
	{WinExecNum, "win_exec_num", 1, 0, unbounded, false, Frozen, "", "1/2 ≤ win_exec_num/win_exec_den ≤ 1"},
	{WinExecDen, "win_exec_den", 2, 1, unbounded, false, Frozen, "", "≥ 1; 1/2 ≤ num/den ≤ 1"},
	{WinGovNum, "win_gov_num", 2, 0, unbounded, false, Frozen, "", "1/2 ≤ win_gov_num/win_gov_den ≤ 1"},
	{WinGovDen, "win_gov_den", 3, 1, unbounded, false, Frozen, "", "≥ 1; 1/2 ≤ num/den ≤ 1"},
	{BindingExecPPM, "binding_exec_ppm", 1000000, 0, 1000000, false, Frozen, "ppm", "≤ 1e6"},
	{BindingGovPPM, "binding_gov_ppm", 40000, 0, 1000000, false, Frozen, "ppm", "≤ 1e6"},
	{Redistribute, "redistribute", 1, 0, 1, false, Frozen, "", "0/1"},
	{WorkerSharePPM, "worker_share_ppm", 0, 0, 1000000, false, ReadAtResolution, "ppm", "≤ 1e6"},
	{RevaluationLimitPPM, "revaluation_limit_ppm", 1000000, 0, 1000000, false, ReadAtPost, "ppm", "≤ 1e6"},
	{MaxCitations, "max_citations", 8, 0, 64, false, ReadAtPost, "", "0–64"},
	{DepthMax, "depth_max", 3, 0, 8, false, ReadAtResolution, "", "0–8"},
	{PoolDurationMin, "pool_duration_min", 1, 1, 10000, false, ReadAtOpen, "live epochs", "1 ≤ min ≤ max ≤ 10000"},
	{PoolDurationMax, "pool_duration_max", 100, 1, 10000, false, ReadAtOpen, "live epochs", "1 ≤ min ≤ max ≤ 10000"},
	{StakePerAssignment, "stake_per_assignment", 1000000, 1, unbounded, false, ReadAtRequest, "µREP", "≥ 1"},
	{NonResponsePenalty, "non_response_penalty", 50000, 0, unbounded, false, ReadAtWindowClose, "µREP", "≤ stake_per_assignment"},
	{CommitEpochs, "commit_epochs", 2, 1, 50, false, ReadAtRequest, "live epochs", "1–50"},
	{RevealEpochs, "reveal_epochs", 1, 1, 10, false, ReadAtRequest, "live epochs", "1–10"},
	{WorkPoolDuration, "work_pool_duration", 2, 1, 100, false, ReadAtRequest, "live epochs", "1–100"},
	{ModuleCitationPPM, "module_citation_ppm", 100000, 0, 1000000, false, ReadAtRequest, "ppm", "≤ 1e6"},
	{UnavailableFeePPM, "unavailable_fee_ppm", 100000, 0, 1000000, false, ReadAtRequest, "ppm", "≤ 1e6"},
	{MaxRequestEpochs, "max_request_epochs", 1000, 1, 100000, false, ReadAtRequest, "live epochs", "1–100000"},
	{MaxAvailabilityEpochs, "max_availability_epochs", 10000, 1, unbounded, false, ReadAtStake, "live epochs", "≥ 1"},
	{ActivationDelay, "activation_delay", 10, 1, unbounded, false, ReadAtResolution, "live epochs", "≥ 1"},
	{DecayPPM, "decay_ppm", 0, 0, 100000, false, ReadEachEpoch, "ppm", "≤ 100000"},
	{OutputCapBytes, "output_cap_bytes", 16777216, 0, 64 << 20, false, Genesis, "bytes", "≤ 64 MiB"},
	{MaxRepeatCount, "max_repeat_count", 1000, 1, unbounded, false, ReadAtRequest, "", "≥ 1"},
	{MaxMsgsPerAuthorEpoch, "max_msgs_per_author_epoch", 1024, 16, unbounded, false, ReadEachEpoch, "", "≥ 16"},
	{Tier1Max, "tier1_max", 100000, 0, unbounded, false, ReadAtRequest, "µcredits", "tier1_max < tier2_max < tier3_max"},
	{Tier2Max, "tier2_max", 1000000, 0, unbounded, false, ReadAtRequest, "µcredits", "tier1_max < tier2_max < tier3_max"},
	{Tier3Max, "tier3_max", 10000000, 0, unbounded, false, ReadAtRequest, "µcredits", "tier1_max < tier2_max < tier3_max"},
	{Tier1Size, "tier1_size", 3, 1, 15, true, ReadAtRequest, "", "odd, 1–15"},
	{Tier2Size, "tier2_size", 5, 1, 15, true, ReadAtRequest, "", "odd, 1–15"},
	{Tier3Size, "tier3_size", 7, 1, 15, true, ReadAtRequest, "", "odd, 1–15"},
	{Tier4Size, "tier4_size", 9, 1, 15, true, ReadAtRequest, "", "odd, 1–15"},
	{MaxFuel, "max_fuel", 1000000000000, 1000000, unbounded, false, ReadAtRequest, "", "≥ 10^6"},
	{MaxPages, "max_pages", 16384, 1, 65536, false, ReadAtRequest, "pages", "1–65536"},
}

// byName maps names to ids; built once from table and never written afterwards.
var byName = func() map[string]ID {
	m := make(map[string]ID, Count)
	for i := 1; i <= Count; i++ {
		m[table[i].Name] = table[i].ID
	}
	return m
}()

// Known reports whether id is a parameter of WIRE §7.
func (id ID) Known() bool { return id >= 1 && id <= lastID }

// Lookup gives the parameter's description; ok is false for an unknown id.
func Lookup(id ID) (Info, bool) {
	if !id.Known() {
		return Info{}, false
	}
	return table[id], true
}

// ByName finds a parameter by its WIRE §7 name.
func ByName(name string) (Info, bool) {
	id, ok := byName[name]
	if !ok {
		return Info{}, false
	}
	return table[id], true
}

// All lists every parameter in id order (a fresh slice the caller may keep).
func All() []Info {
	out := make([]Info, Count)
	copy(out, table[1:])
	return out
}

// String gives the parameter's name, or "param(N)" for an unknown id.
func (id ID) String() string {
	if id.Known() {
		return table[id].Name
	}
	return fmt.Sprintf("param(%d)", uint16(id))
}

// IsGenesis reports whether the parameter is fixed by genesis.
func (id ID) IsGenesis() bool { return id.Known() && table[id].Scope == Genesis }

// inBounds checks the per-parameter bounds only.
func (inf *Info) inBounds(v uint64) bool {
	if v < inf.Min || v > inf.Max {
		return false
	}
	return !inf.Odd || v%2 == 1
}
