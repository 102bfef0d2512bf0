package state

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
	"github.com/guild-net/guild/reputation"
)

// State is the state after some epoch (or, before epoch 0, the genesis state).
type State struct {
	gen *genesis.Genesis // shared, never written

	applied bool   // false for the genesis state
	epoch   uint64 // the last applied epoch when applied
	seed    msg.ID // seed of the last applied epoch; the network id before epoch 0

	params  params.Set
	pending *params.Schedule

	rep   *reputation.Ledger
	cr    *credits.Ledger
	forum *forum.Forum
	book  *pool.Book

	// escrowOwners holds the owners of open escrows, for admission (derived from the
	// credits ledger at the end of each Apply; never written afterwards, so clones share it).
	escrowOwners map[msg.Account]struct{}

	// report says what the last Apply did (outside the root; clones share it, Apply
	// replaces it).
	report *Report

	live uint64 // live epochs so far

	// witnesses[0] is the witness set of epoch+1, witnesses[1] that of epoch+2
	// (epochs 0 and 1 for the genesis state).
	witnesses [2]epoch.WitnessSet

	// forkSeq holds, per author whose fork evidence is committed, the smallest fork seq.
	forkSeq map[msg.Account]uint64
	// equivPending lists authors whose fork evidence is committed but whose deadline-phase
	// equivocation (SPEC §7.6) has not run yet, because no live epoch has come since.
	equivPending []msg.Account
	misbehavers  map[msg.Account]struct{}
}

// Genesis builds the state before epoch 0.
func Genesis(g *genesis.Genesis) (*State, error) {
	s := &State{
		gen:         g,
		seed:        g.NetworkID(),
		params:      g.Params,
		pending:     &params.Schedule{},
		rep:         reputation.New(),
		cr:          credits.New(g.Gateways),
		forum:       forum.New(),
		book:        pool.New(),
		forkSeq:     map[msg.Account]uint64{},
		misbehavers: map[msg.Account]struct{}{},
		report:      &Report{Epoch: -1},
	}
	for _, a := range g.Allocations {
		if a.RepMicro > 0 {
			if err := s.rep.Genesis(a.Account, a.RepMicro); err != nil {
				return nil, fmt.Errorf("genesis allocation %s: %w", a.Account, err)
			}
		}
		if a.CreditsMicro > 0 {
			if err := s.cr.Genesis(a.Account, a.CreditsMicro); err != nil {
				return nil, fmt.Errorf("genesis allocation %s: %w", a.Account, err)
			}
		}
	}
	s.escrowOwners = map[msg.Account]struct{}{}
	ws := s.computeWitnessSet()
	s.witnesses = [2]epoch.WitnessSet{ws, ws}
	return s, nil
}

// Clone gives an independent copy; Apply on the copy leaves s untouched.
func (s *State) Clone() *State {
	c := *s
	c.pending = s.pending.Clone()
	c.rep = s.rep.Clone()
	c.cr = s.cr.Clone()
	c.forum = s.forum.Clone()
	c.book = s.book.Clone()
	c.forkSeq = make(map[msg.Account]uint64, len(s.forkSeq))
	for a, q := range s.forkSeq {
		c.forkSeq[a] = q
	}
	c.equivPending = slices.Clone(s.equivPending)
	c.misbehavers = make(map[msg.Account]struct{}, len(s.misbehavers))
	for a := range s.misbehavers {
		c.misbehavers[a] = struct{}{}
	}
	return &c
}

// Applied reports whether any epoch has been applied, and which was the last.
func (s *State) Applied() (uint64, bool) { return s.epoch, s.applied }

// Seed is seed_k of the last applied epoch k (the network id before epoch 0).
func (s *State) Seed() msg.ID { return s.seed }

// Params gives the parameters in force.
func (s *State) Params() params.Set { return s.params }

// Genesis gives the network's genesis.
func (s *State) GenesisInfo() *genesis.Genesis { return s.gen }

// LiveEpochs is the number of live epochs applied so far.
func (s *State) LiveEpochs() uint64 { return s.live }

// Rep gives an account's µREP balance and locked part.
func (s *State) Rep(a msg.Account) reputation.Balance { return s.rep.Get(a) }

// RepSupply gives the REP counters: Σ balances = minted − burned.
func (s *State) RepSupply() (minted, burned uint64) { return s.rep.Minted(), s.rep.Burned() }

// Witnesses gives the witness set of epoch k, which must be one of the next two epochs
// (k−1 or k−2 is the last applied epoch; 0 or 1 for the genesis state).
func (s *State) Witnesses(k uint64) (epoch.WitnessSet, error) {
	next := uint64(0)
	if s.applied {
		next = s.epoch + 1
	}
	switch k {
	case next:
		return s.witnesses[0], nil
	case next + 1:
		return s.witnesses[1], nil
	}
	return epoch.WitnessSet{}, fmt.Errorf("witness set of epoch %d is not kept by the state after %d", k, int64(next)-1)
}

// Admitted reports whether a may author messages in epoch k+2 when s is the state
// after k (SPEC §3): named in genesis, or holding REP or credits. Credits held means
// free, frozen or in an open escrow of a's (a pool fee waiting for its resolution is
// still a's until consumed), so opening a pool never locks its opener out.
func (s *State) Admitted(a msg.Account) bool {
	if s.gen.Named(a) || s.rep.Get(a).Bal > 0 || s.cr.Free(a) > 0 || s.cr.Frozen(a) > 0 {
		return true
	}
	_, ok := s.escrowOwners[a]
	return ok
}

// Credits gives an account's free and frozen µcredits.
func (s *State) Credits(a msg.Account) (free, frozen uint64) { return s.cr.Free(a), s.cr.Frozen(a) }

// CreditLedger, RepLedger, Forum and Pools expose the domain ledgers to readers (API,
// CLI, tests). Callers must not modify them: a State is a value once Apply returns.
func (s *State) CreditLedger() *credits.Ledger   { return s.cr }
func (s *State) RepLedger() *reputation.Ledger   { return s.rep }
func (s *State) Forum() *forum.Forum             { return s.forum }
func (s *State) Pools() *pool.Book               { return s.book }
func (s *State) PendingParams() []params.Pending { return s.pending.Rows() }

// Report says what the last applied epoch did: messages without effect and why, pool
// outcomes, the salary, activations and equivocations. It is not part of the root.
func (s *State) Report() *Report { return s.report }

// IsEquivocator reports whether a's fork evidence has been committed.
func (s *State) IsEquivocator(a msg.Account) bool {
	_, ok := s.forkSeq[a]
	return ok
}

// IsMisbehaver reports whether a signed two checkpoints for one epoch on one chain.
func (s *State) IsMisbehaver(a msg.Account) bool {
	_, ok := s.misbehavers[a]
	return ok
}

// computeWitnessSet derives a witness set from this state (SPEC §4 "Witnesses").
// epoch.ComputeWitnessSet keeps the witnesses_n best candidates by (REP descending,
// account) and falls back to genesis below witnesses_min, so handing it only the best
// max(witnesses_n, witnesses_min) eligible accounts gives the same set: which
// candidates those are is fixed by that total order, and there are fewer than
// witnesses_min of them exactly when fewer are eligible. Selecting them here spares a
// copy and a sort of every account each epoch.
func (s *State) computeWitnessSet() epoch.WitnessSet {
	cfg := s.epochConfig()
	top := topCandidates{k: max(cfg.WitnessesN, cfg.WitnessesMin, 1)}
	top.h = make([]epoch.Candidate, 0, min(top.k, s.rep.Len()))
	excluded := func(a msg.Account) bool { return s.IsEquivocator(a) || s.IsMisbehaver(a) }
	s.rep.RangeAny(func(a msg.Account, b reputation.Balance) {
		c := epoch.Candidate{Account: a, Rep: b.Bal}
		// Exclusion only matters for an account that would make the cut.
		if top.admits(c) && !excluded(a) {
			top.push(c)
		}
	})
	return epoch.ComputeWitnessSet(top.h, s.gen.Witnesses, excluded, cfg)
}

// topCandidates keeps the k best candidates seen, best meaning more REP, then the
// smaller account: a min-heap whose root is the worst kept.
type topCandidates struct {
	k int
	h []epoch.Candidate
}

// better orders candidates as epoch.ComputeWitnessSet ranks them.
func better(x, y epoch.Candidate) bool {
	if x.Rep != y.Rep {
		return x.Rep > y.Rep
	}
	return bytes.Compare(x.Account[:], y.Account[:]) < 0
}

// admits reports whether c would be kept.
func (t *topCandidates) admits(c epoch.Candidate) bool {
	return len(t.h) < t.k || better(c, t.h[0])
}

// push keeps c, dropping the worst kept if k are kept already; admits(c) must hold.
func (t *topCandidates) push(c epoch.Candidate) {
	h := t.h
	if len(h) < t.k {
		h = append(h, c)
		for i := len(h) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if !better(h[p], h[i]) {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		t.h = h
		return
	}
	h[0] = c
	for i := 0; ; { // sift down
		w, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && better(h[w], h[l]) {
			w = l
		}
		if r < len(h) && better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

func (s *State) epochConfig() epoch.Config { return EpochConfig(s.gen) }

// EpochConfig gives the epoch rule's genesis-fixed configuration.
func EpochConfig(g *genesis.Genesis) epoch.Config {
	p := g.Params
	return epoch.Config{
		GenesisTsMs:   g.GenesisTsMs,
		EpochMs:       p.Get(params.EpochMs),
		GraceMs:       p.Get(params.GraceMs),
		ThetaNum:      p.Get(params.ThetaNum),
		ThetaDen:      p.Get(params.ThetaDen),
		MaxHeads:      int(p.Get(params.MaxHeads)),
		WitnessesN:    int(p.Get(params.WitnessesN)),
		WitnessesMin:  int(p.Get(params.WitnessesMin)),
		WitnessCapPPM: p.Get(params.WitnessCapPPM),
		SigmaMaxMs:    p.Get(params.SigmaMaxMs),
	}
}

func sortAccounts(as []msg.Account) {
	slices.SortFunc(as, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
}
