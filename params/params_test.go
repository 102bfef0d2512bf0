package params

import (
	"errors"
	"testing"

	"github.com/guild-net/guild/msg"
)

func TestTableShape(t *testing.T) {
	all := All()
	if len(all) != 54 {
		t.Fatalf("want 54 parameters, got %d", len(all))
	}
	seen := map[string]bool{}
	for i, inf := range all {
		if int(inf.ID) != i+1 {
			t.Fatalf("entry %d has id %d", i, inf.ID)
		}
		if seen[inf.Name] {
			t.Fatalf("duplicate name %s", inf.Name)
		}
		seen[inf.Name] = true
		if got, ok := ByName(inf.Name); !ok || got.ID != inf.ID {
			t.Fatalf("ByName(%s) = %v %v", inf.Name, got.ID, ok)
		}
		if !inf.inBounds(inf.Default) {
			t.Fatalf("%s default %d outside its own bounds", inf.Name, inf.Default)
		}
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestSpotValues(t *testing.T) {
	d := Defaults()
	for _, c := range []struct {
		name  string
		id    ID
		value uint64
		scope Scope
	}{
		{"epoch_ms", 1, 60000, Genesis},
		{"output_cap_bytes", 43, 16777216, Genesis},
		{"min_fee", 11, 10000, ReadAtOpen},
		{"quorum_gov_ppm", 17, 333333, Frozen},
		{"worker_share_ppm", 26, 0, ReadAtResolution},
		{"max_citations", 28, 8, ReadAtPost},
		{"non_response_penalty", 33, 50000, ReadAtWindowClose},
		{"max_availability_epochs", 40, 10000, ReadAtStake},
		{"decay_ppm", 42, 0, ReadEachEpoch},
		{"max_fuel", 53, 1000000000000, ReadAtRequest},
		{"max_pages", 54, 16384, ReadAtRequest},
	} {
		inf, ok := ByName(c.name)
		if !ok || inf.ID != c.id || inf.Scope != c.scope || d.Get(c.id) != c.value {
			t.Errorf("%s: got id %d scope %v value %d", c.name, inf.ID, inf.Scope, d.Get(c.id))
		}
	}
	if _, ok := Lookup(0); ok {
		t.Fatal("id 0 known")
	}
	if _, ok := Lookup(55); ok {
		t.Fatal("id 55 known")
	}
}

func TestValidateBounds(t *testing.T) {
	for _, c := range []struct {
		name string
		set  map[ID]uint64
		bad  ID
		err  error
	}{
		{"epoch too short", map[ID]uint64{EpochMs: 999}, EpochMs, ErrOutOfBounds},
		{"grace at E/4", map[ID]uint64{EpochMs: 2000, GraceMs: 500, SigmaMaxMs: 200}, 0, nil},
		{"grace over E/4", map[ID]uint64{EpochMs: 2000, GraceMs: 501, SigmaMaxMs: 200}, GraceMs, ErrCrossBound},
		{"sigma over E/8", map[ID]uint64{EpochMs: 2000, GraceMs: 400, SigmaMaxMs: 251}, SigmaMaxMs, ErrCrossBound},
		{"theta 1/2", map[ID]uint64{ThetaNum: 1, ThetaDen: 2}, ThetaNum, ErrCrossBound},
		{"theta 51/100", map[ID]uint64{ThetaNum: 51, ThetaDen: 100}, 0, nil},
		{"theta 1/1", map[ID]uint64{ThetaNum: 1, ThetaDen: 1}, 0, nil},
		{"theta 4/3", map[ID]uint64{ThetaNum: 4, ThetaDen: 3}, ThetaNum, ErrCrossBound},
		{"theta den 0", map[ID]uint64{ThetaDen: 0}, ThetaDen, ErrOutOfBounds},
		{"witnesses_min > n", map[ID]uint64{WitnessesN: 3, WitnessesMin: 4}, WitnessesMin, ErrCrossBound},
		{"witnesses_n 257", map[ID]uint64{WitnessesN: 257}, WitnessesN, ErrOutOfBounds},
		{"win 1/2", map[ID]uint64{WinExecNum: 1, WinExecDen: 2}, 0, nil},
		{"win 1/1", map[ID]uint64{WinExecNum: 1, WinExecDen: 1}, 0, nil},
		{"win 49/100", map[ID]uint64{WinExecNum: 49, WinExecDen: 100}, WinExecNum, ErrCrossBound},
		{"win 3/2", map[ID]uint64{WinGovNum: 3, WinGovDen: 2}, WinGovNum, ErrCrossBound},
		{"win den 0", map[ID]uint64{WinGovNum: 0, WinGovDen: 0}, WinGovDen, ErrOutOfBounds},
		{"pool min > max", map[ID]uint64{PoolDurationMin: 5, PoolDurationMax: 4}, PoolDurationMin, ErrCrossBound},
		{"pool max 10001", map[ID]uint64{PoolDurationMax: 10001}, PoolDurationMax, ErrOutOfBounds},
		{"penalty > stake", map[ID]uint64{NonResponsePenalty: 1000001}, NonResponsePenalty, ErrCrossBound},
		{"penalty = stake", map[ID]uint64{NonResponsePenalty: 1000000}, 0, nil},
		{"tier1 = tier2", map[ID]uint64{Tier1Max: 1000000}, Tier1Max, ErrCrossBound},
		{"tier2 = tier3", map[ID]uint64{Tier2Max: 10000000}, Tier2Max, ErrCrossBound},
		{"tier size even", map[ID]uint64{Tier2Size: 4}, Tier2Size, ErrOutOfBounds},
		{"tier size 17", map[ID]uint64{Tier4Size: 17}, Tier4Size, ErrOutOfBounds},
		{"tier size 15", map[ID]uint64{Tier4Size: 15}, 0, nil},
		{"redistribute 2", map[ID]uint64{Redistribute: 2}, Redistribute, ErrOutOfBounds},
		{"mint ratio 1e7", map[ID]uint64{MintRatioPPM: 10000000}, 0, nil},
		{"mint ratio over", map[ID]uint64{MintRatioPPM: 10000001}, MintRatioPPM, ErrOutOfBounds},
		{"mint cap 0", map[ID]uint64{MintCapPPM: 0}, MintCapPPM, ErrOutOfBounds},
		{"quorum work low", map[ID]uint64{QuorumWorkPPM: 9999}, QuorumWorkPPM, ErrOutOfBounds},
		{"decay over", map[ID]uint64{DecayPPM: 100001}, DecayPPM, ErrOutOfBounds},
		{"output cap 64MiB", map[ID]uint64{OutputCapBytes: 64 << 20}, 0, nil},
		{"output cap over", map[ID]uint64{OutputCapBytes: 64<<20 + 1}, OutputCapBytes, ErrOutOfBounds},
		{"msgs per epoch 15", map[ID]uint64{MaxMsgsPerAuthorEpoch: 15}, MaxMsgsPerAuthorEpoch, ErrOutOfBounds},
		{"max fuel low", map[ID]uint64{MaxFuel: 999999}, MaxFuel, ErrOutOfBounds},
		{"huge theta no overflow", map[ID]uint64{ThetaNum: 1 << 63, ThetaDen: 1<<64 - 1}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Defaults().ApplyDiff(NewDiff(c.set))
			if c.err == nil {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			var pe *Error
			if !errors.Is(err, c.err) || !errors.As(err, &pe) || pe.ID != c.bad {
				t.Fatalf("got %v, want %v on %s", err, c.err, c.bad)
			}
		})
	}
}

func TestGovernanceDiff(t *testing.T) {
	for _, c := range []struct {
		name string
		d    Diff
		err  error
	}{
		{"ok", Diff{{ID: MinFee, Value: 5}, {ID: DepthMax, Value: 8}}, nil},
		{"empty", nil, ErrEmptyDiff},
		{"genesis", Diff{{ID: EpochMs, Value: 5000}}, ErrGenesisOnly},
		{"output cap is genesis", Diff{{ID: OutputCapBytes, Value: 5}}, ErrGenesisOnly},
		{"unknown", Diff{{ID: 55, Value: 1}}, ErrUnknown},
		{"unsorted", Diff{{ID: DepthMax, Value: 1}, {ID: MinFee, Value: 5}}, ErrDiffOrder},
		{"repeated", Diff{{ID: MinFee, Value: 1}, {ID: MinFee, Value: 5}}, ErrDiffOrder},
		{"out of bounds", Diff{{ID: DepthMax, Value: 9}}, ErrOutOfBounds},
		// cross bounds are checked at activation only
		{"cross broken but own bounds fine", Diff{{ID: PoolDurationMin, Value: 200}}, nil},
	} {
		err := CheckGovernance(c.d)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: got %v want %v", c.name, err, c.err)
		}
	}
	s := Defaults()
	n, err := s.ApplyGovernance(Diff{{ID: MinFee, Value: 5}})
	if err != nil || n.Get(MinFee) != 5 || s.Get(MinFee) != 10000 {
		t.Fatalf("apply: %v %d %d", err, n.Get(MinFee), s.Get(MinFee))
	}
}

func TestScheduleActivate(t *testing.T) {
	var s Schedule
	p1, p2, p3 := msg.ID{1}, msg.ID{2}, msg.ID{3}
	// Same activation epoch: ascending pool id, last wins per parameter.
	s.Add(Pending{ActivateLive: 12, Pool: p2, Diff: Diff{{ID: MinFee, Value: 7}}})
	s.Add(Pending{ActivateLive: 12, Pool: p1, Diff: Diff{{ID: MinFee, Value: 6}, {ID: DepthMax, Value: 5}}})
	// Breaks pool_duration_min ≤ max once applied: skipped whole.
	s.Add(Pending{ActivateLive: 12, Pool: p3, Diff: Diff{{ID: MaxCitations, Value: 1}, {ID: PoolDurationMin, Value: 200}}})
	s.Add(Pending{ActivateLive: 13, Pool: p1, Diff: Diff{{ID: DepthMax, Value: 1}}})
	cur := Defaults()
	cur, acts := s.Activate(cur, 11)
	if len(acts) != 0 || cur != Defaults() {
		t.Fatal("activated early")
	}
	cur, acts = s.Activate(cur, 12)
	if len(acts) != 3 || acts[0].Pool != p1 || acts[1].Pool != p2 || acts[2].Pool != p3 {
		t.Fatalf("order %+v", acts)
	}
	if acts[0].Err != nil || acts[1].Err != nil || !errors.Is(acts[2].Err, ErrCrossBound) {
		t.Fatalf("errs %v %v %v", acts[0].Err, acts[1].Err, acts[2].Err)
	}
	if cur.Get(MinFee) != 7 || cur.Get(DepthMax) != 5 || cur.Get(MaxCitations) != 8 || cur.Get(PoolDurationMin) != 1 {
		t.Fatalf("values %d %d %d %d", cur.Get(MinFee), cur.Get(DepthMax), cur.Get(MaxCitations), cur.Get(PoolDurationMin))
	}
	if s.Len() != 1 {
		t.Fatalf("left %d", s.Len())
	}
	c := s.Clone()
	cur, _ = s.Activate(cur, 20)
	if cur.Get(DepthMax) != 1 || s.Len() != 0 || c.Len() != 1 {
		t.Fatal("late activation or clone shared")
	}
}

func TestRowsAndNonDefault(t *testing.T) {
	s := Defaults().With(MinFee, 1).With(DepthMax, 0)
	rows := s.Rows()
	if len(rows) != 54 || rows[10].ID != MinFee || rows[10].Value != 1 {
		t.Fatalf("rows %+v", rows[10])
	}
	nd := s.NonDefault()
	if len(nd) != 2 || nd[0].ID != MinFee || nd[1].ID != DepthMax {
		t.Fatalf("non-default %+v", nd)
	}
	back, err := Defaults().ApplyDiff(nd)
	if err != nil || back != s {
		t.Fatalf("round trip %v", err)
	}
}
