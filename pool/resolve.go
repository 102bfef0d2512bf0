package pool

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// Result is how a pool resolved.
type Result uint8

const (
	// NoQuorum: nothing minted, stakes unlocked, fee refunded to the opener.
	NoQuorum Result = iota
	// Passed: M minted, the pot split over the FOR side, the post's amount propagated.
	Passed
	// Failed: M minted, every forfeit and both seeds split over the AGAINST side (or burned).
	Failed
	// GenesisPass: T_c = 0 and this was the lowest-id executive pool closing in c.
	GenesisPass
)

func (r Result) String() string {
	return [...]string{"no quorum", "passed", "failed", "passed by the genesis rule"}[r]
}

// Outcome reports one resolution, in µREP and µcredits, for the API and history.
type Outcome struct {
	Pool   msg.ID
	Post   msg.ID
	Kind   Kind
	Result Result
	// Counted is the quorum numerator, Base its denominator (T_c − Σ barred S_c).
	Counted, Base uint64
	// Minted is M; ForSeed and AgainstSeed its halves.
	Minted, ForSeed, AgainstSeed uint64
	// For and Against are F and A: the seeds plus the stakes of each side.
	For, Against uint64
	// Forfeited is what the losing stakes and seed gave up; Redistributed what of it the
	// winners received (the rest was burned).
	Forfeited, Redistributed, Burned uint64
	// Amount is what the post received and propagated.
	Amount uint64
	// Fee split: to the post's authors, into the salary pot, back to the opener.
	FeeToAuthors, FeeToPot, FeeRefunded uint64
	// ActivateLive is set for a passed governance pool: the live-epoch count at which its
	// diff takes effect.
	ActivateLive uint64
}

// ResolveEnv is what resolution reads in the deadline phase of the close epoch c.
type ResolveEnv struct {
	// Live is the live-epoch count of c; pools with CloseLive ≤ Live resolve.
	Live uint64
	// Snap is S_c, taken in phase 2 of c (after decay, before any mint or forfeit of c).
	Snap reputation.Snapshot
	// Params is the set in force (depth_max, worker_share_ppm, activation_delay).
	Params   *params.Set
	Rep      *reputation.Ledger
	Forum    *forum.Forum
	Credits  *credits.Ledger
	Schedule *params.Schedule
}

// Due lists the pools that resolve at live count `live`, ascending id.
func (b *Book) Due(live uint64) []msg.ID {
	var ids []msg.ID
	b.pools.Range(func(id msg.ID, p *Pool) bool {
		if p.CloseLive <= live {
			ids = append(ids, id)
		}
		return true
	})
	slices.SortFunc(ids, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
	return ids
}

// ResolveDue resolves every due pool by ascending pool id (SPEC §4 phase 8, §7.3). With
// T_c = 0 the lowest-id executive (or work) pool passes by the genesis rule and every
// other due pool resolves as quorum-not-met. An error means a broken invariant.
func (b *Book) ResolveDue(env ResolveEnv) ([]Outcome, error) {
	ids := b.Due(env.Live)
	out := make([]Outcome, 0, len(ids))
	genesisTaken := env.Snap.Total() != 0
	for _, id := range ids {
		// Resolution only reads p, so it may still be shared with older versions.
		p, _ := b.pools.Get(id)
		b.pools.Delete(id)
		var o Outcome
		var err error
		switch {
		case env.Snap.Total() != 0:
			o, err = b.resolve(p, env)
		case !genesisTaken && p.Kind != Governance:
			genesisTaken = true
			o, err = b.genesisPass(p, env)
		default:
			o, err = b.noQuorum(p, env, 0, 0)
		}
		if err != nil {
			return out, fmt.Errorf("resolve pool %s: %w", id.Short(), err)
		}
		out = append(out, o)
	}
	return out, nil
}

func (b *Book) unlockAll(p *Pool, led *reputation.Ledger) error {
	for _, v := range p.Votes {
		if err := led.Unlock(v.Voter, v.Stake); err != nil {
			return err
		}
	}
	return nil
}

func (b *Book) noQuorum(p *Pool, env ResolveEnv, counted, base uint64) (Outcome, error) {
	if err := b.unlockAll(p, env.Rep); err != nil {
		return Outcome{}, err
	}
	return Outcome{Pool: p.ID, Post: p.Post, Kind: p.Kind, Result: NoQuorum, Counted: counted, Base: base,
		FeeRefunded: env.Credits.Release(p.ID)}, nil
}

// genesisPass: the post receives min(mulDiv(f, mint_ratio), genesis_mint_max) and the
// whole fee goes to its authors by ppm; no seeds, no salary, no worker share.
func (b *Book) genesisPass(p *Pool, env ResolveEnv) (Outcome, error) {
	if err := b.unlockAll(p, env.Rep); err != nil {
		return Outcome{}, err
	}
	post, _ := env.Forum.Get(p.Post)
	m := min(reputation.MulDiv(p.Fee, p.Frozen.MintRatioPPM, reputation.PPM), p.Frozen.GenesisMintMax)
	m = env.Rep.Mint(m)
	if err := env.Forum.Propagate(env.Rep, p.Post, m, env.Params.Get(params.DepthMax)); err != nil {
		return Outcome{}, err
	}
	o := Outcome{Pool: p.ID, Post: p.Post, Kind: p.Kind, Result: GenesisPass, Minted: m, Amount: m}
	paid, err := b.payAuthors(p, post, p.Fee, env.Credits)
	if err != nil {
		return o, err
	}
	o.FeeToAuthors = paid
	env.Credits.Release(p.ID) // nothing left; closes the escrow
	return o, nil
}

// payAuthors pays amount of the pool's escrow to the post's authors by ppm.
func (b *Book) payAuthors(p *Pool, post *forum.Post, amount uint64, cr *credits.Ledger) (uint64, error) {
	if amount == 0 {
		return 0, nil
	}
	b.weights = post.AppendAuthorWeights(b.weights[:0])
	sh, err := b.sp.Split(amount, b.weights)
	if err != nil {
		return 0, err
	}
	for i, s := range sh {
		if err := cr.Pay(p.ID, post.Authors[i].Account, s); err != nil {
			return 0, err
		}
	}
	return amount, nil
}

// resolve applies SPEC §7.3 to an executive or governance pool with T_c > 0.
func (b *Book) resolve(p *Pool, env ResolveEnv) (Outcome, error) {
	led, fz := env.Rep, p.Frozen
	// Quorum: every stake counts (barred accounts cannot vote, equivocators were dropped).
	var counted, fs, as uint64
	for _, v := range p.Votes {
		counted += v.Stake
		if v.Side == For {
			fs += v.Stake
		} else {
			as += v.Stake
		}
	}
	tc := env.Snap.Total()
	base := tc
	for _, a := range p.Barred {
		base -= env.Snap.Get(a)
	}
	if base != 0 && !reputation.MulGE(counted, reputation.PPM, fz.QuorumPPM, base) {
		return b.noQuorum(p, env, counted, base)
	}
	// Stakes unlock before forfeits are settled, so a leach later reads free balances.
	if err := b.unlockAll(p, led); err != nil {
		return Outcome{}, err
	}
	m := min(reputation.MulDiv(p.Fee, fz.MintRatioPPM, reputation.PPM), reputation.MulDiv(tc, fz.MintCapPPM, reputation.PPM))
	m = led.Mint(m)
	sF, sA := m-m/2, m/2
	o := Outcome{Pool: p.ID, Post: p.Post, Kind: p.Kind, Counted: counted, Base: base,
		Minted: m, ForSeed: sF, AgainstSeed: sA, For: sF + fs, Against: sA + as}
	pass := reputation.MulGE(o.For, fz.WinDen, fz.WinNum, o.For+o.Against)
	winner := Against
	if pass {
		winner = For
	}
	// The pot: forfeits of the losing stakes plus the losing seed (on a fail, the AGAINST
	// seed too: the whole of M).
	pot := sA
	if !pass {
		pot = m
	}
	for _, v := range p.Votes {
		if v.Side == winner {
			continue
		}
		f := reputation.MulDiv(v.Stake, fz.BindingPPM, reputation.PPM)
		if err := led.Take(v.Voter, f); err != nil {
			return o, err
		}
		o.Forfeited += f
		pot += f
	}
	if pass {
		o.Forfeited += sA
	} else {
		o.Forfeited += sF
	}
	// Split the pot over the winning stakes (the FOR seed as SEED on a pass).
	parts := b.parts[:0]
	owners := b.owner[:0]
	if pass {
		parts = append(parts, reputation.Weighted{Key: reputation.SEED, W: sF})
		owners = append(owners, msg.Account{})
	}
	for _, v := range p.Votes {
		if v.Side == winner {
			parts = append(parts, reputation.Weighted{Key: reputation.AccountKey(v.Voter), W: v.Stake})
			owners = append(owners, v.Voter)
		}
	}
	b.parts, b.owner = parts, owners
	var seedShare uint64
	if fz.Redistribute && pot > 0 {
		sh, err := b.sp.Split(pot, parts)
		if err != nil {
			return o, err
		}
		for i, s := range sh {
			if pass && i == 0 {
				seedShare = s
				continue
			}
			if err := led.Give(owners[i], s); err != nil {
				return o, err
			}
			o.Redistributed += s
		}
	}
	// Whatever nobody received (redistribute = 0, or no winning weight) is burned.
	o.Burned = pot - o.Redistributed - seedShare
	if err := led.BurnPending(o.Burned); err != nil {
		return o, err
	}
	var amount uint64 // what the post receives on a pass: the FOR seed plus SEED's share
	if pass {
		amount = sF + seedShare
	}
	o.Amount = amount
	if pass {
		o.Result = Passed
		if err := env.Forum.Propagate(led, p.Post, amount, env.Params.Get(params.DepthMax)); err != nil {
			return o, err
		}
	} else {
		o.Result = Failed
	}
	// The fee is consumed: a worker share to the authors on a pass, the rest to the pot.
	if pass {
		post, _ := env.Forum.Get(p.Post)
		ws := reputation.MulDiv(p.Fee, env.Params.Get(params.WorkerSharePPM), reputation.PPM)
		paid, err := b.payAuthors(p, post, ws, env.Credits)
		if err != nil {
			return o, err
		}
		o.FeeToAuthors = paid
	}
	o.FeeToPot = p.Fee - o.FeeToAuthors
	if err := env.Credits.ToPot(p.ID, o.FeeToPot); err != nil {
		return o, err
	}
	env.Credits.Release(p.ID)
	if pass && p.Kind == Governance && env.Schedule != nil {
		post, _ := env.Forum.Get(p.Post)
		o.ActivateLive = env.Live + env.Params.Get(params.ActivationDelay)
		env.Schedule.Add(params.Pending{ActivateLive: o.ActivateLive, Pool: p.ID, Diff: post.Params})
	}
	return o, nil
}

// Salary reports one epoch's salary split.
type Salary struct {
	Pot     uint64 // the pot before the split (this epoch's fees plus any carried over)
	Paid    uint64
	Carried uint64 // left in the pot because no non-equivocating account had S_c > 0
}

// PaySalary splits the whole salary pot once over every non-equivocating account pro
// rata to S_c (SPEC §7.3), after the epoch's resolutions. With a zero base the pot
// carries over to the next epoch.
func (b *Book) PaySalary(snap reputation.Snapshot, led *reputation.Ledger, cr *credits.Ledger) (Salary, error) {
	s := Salary{Pot: cr.Pot()}
	if s.Pot == 0 {
		return s, nil
	}
	parts := b.parts[:0]
	owners := b.owner[:0]
	for i := range snap.Len() {
		e := snap.At(i)
		if led.IsEquivocator(e.Account) {
			continue
		}
		parts = append(parts, reputation.Weighted{Key: reputation.AccountKey(e.Account), W: e.S})
		owners = append(owners, e.Account)
	}
	b.parts, b.owner = parts, owners
	sh, err := b.sp.Split(s.Pot, parts)
	if err != nil {
		return s, err
	}
	for i, v := range sh {
		if v == 0 {
			continue
		}
		if err := cr.PayFromPot(owners[i], v); err != nil {
			return s, err
		}
		s.Paid += v
	}
	s.Carried = cr.Pot()
	return s, nil
}
