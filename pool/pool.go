package pool

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// Kind is a pool's kind (WIRE §3 POOL_OPEN key 4; Work is created by the state only).
type Kind uint8

const (
	Executive  Kind = 0
	Governance Kind = 1
	Work       Kind = 2
)

func (k Kind) String() string {
	switch k {
	case Executive:
		return "executive"
	case Governance:
		return "governance"
	case Work:
		return "work"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Side is a vote's side (WIRE §3 VOTE key 2).
type Side uint8

const (
	Against Side = 0
	For     Side = 1
)

func (s Side) String() string {
	if s == For {
		return "for"
	}
	return "against"
}

// Reasons an open or a vote has no effect.
var (
	ErrDuplicate    = errors.New("pool id already exists")
	ErrKind         = errors.New("pool kind must be 0 (executive) or 1 (governance)")
	ErrNoPost       = errors.New("no such post")
	ErrFeeTooLow    = errors.New("fee below min_fee")
	ErrDuration     = errors.New("duration outside pool_duration_min..pool_duration_max")
	ErrNoDiff       = errors.New("governance pool needs a post with a valid params diff")
	ErrNoPool       = errors.New("no open pool with this id")
	ErrTooEarly     = errors.New("vote in the pool's opening batch")
	ErrBarred       = errors.New("the post's signer may not vote on it")
	ErrAlreadyVoted = errors.New("voter already has an effective vote in this pool")
	ErrSide         = errors.New("side must be 0 (against) or 1 (for)")
	ErrZeroStake    = errors.New("stake clamped to zero: no free REP")
)

// Frozen holds the parameters copied into a pool when it opens (SPEC §7.3).
type Frozen struct {
	_              struct{} `cbor:",toarray"`
	QuorumPPM      uint64
	WinNum         uint64
	WinDen         uint64
	BindingPPM     uint64
	Redistribute   bool
	MintRatioPPM   uint64
	MintCapPPM     uint64
	GenesisMintMax uint64
}

func freeze(k Kind, ps *params.Set) Frozen {
	f := Frozen{
		Redistribute:   ps.Get(params.Redistribute) == 1,
		MintRatioPPM:   ps.Get(params.MintRatioPPM),
		MintCapPPM:     ps.Get(params.MintCapPPM),
		GenesisMintMax: ps.Get(params.GenesisMintMax),
	}
	switch k {
	case Governance:
		f.QuorumPPM, f.WinNum, f.WinDen = ps.Get(params.QuorumGovPPM), ps.Get(params.WinGovNum), ps.Get(params.WinGovDen)
		f.BindingPPM = ps.Get(params.BindingGovPPM)
	case Work:
		f.QuorumPPM, f.WinNum, f.WinDen = ps.Get(params.QuorumWorkPPM), ps.Get(params.WinExecNum), ps.Get(params.WinExecDen)
		f.BindingPPM = ps.Get(params.BindingExecPPM)
	default:
		f.QuorumPPM, f.WinNum, f.WinDen = ps.Get(params.QuorumExecPPM), ps.Get(params.WinExecNum), ps.Get(params.WinExecDen)
		f.BindingPPM = ps.Get(params.BindingExecPPM)
	}
	return f
}

// Vote is one effective vote: its stake is locked until the pool resolves.
type Vote struct {
	_     struct{} `cbor:",toarray"`
	Voter msg.Account
	Side  Side
	Stake uint64
}

// Pool is an open pool.
type Pool struct {
	ID        msg.ID
	Post      msg.ID
	Opener    msg.Account
	Kind      Kind
	Fee       uint64
	OpenBatch uint64
	// CloseLive is the live-epoch count of the close epoch c = L(OpenBatch, duration): the
	// pool resolves in the deadline phase of the live epoch that brings the count to it.
	CloseLive uint64
	Frozen    Frozen
	// Barred are the accounts that may not vote (the post's signer), ascending.
	Barred []msg.Account
	// Votes in the order they took effect.
	Votes []Vote

	voted map[msg.Account]int32 // index into Votes; nil until the first vote
	// barred holds Barred when only the post's signer is barred (every ordinary post),
	// saving an allocation per pool.
	barred [1]msg.Account
	// edit is the token of the one book version that may change this pool in place
	// (it opened or copied it since its last Clone); other versions copy it first.
	edit *editToken
}

// editToken identifies a book version that may write. Not zero-sized: distinct
// zero-sized allocations may share an address.
type editToken struct{ _ byte }

func (p *Pool) clone() *Pool {
	c := *p
	c.edit = nil
	c.Votes = slices.Clone(p.Votes)
	c.voted = maps.Clone(p.voted)
	return &c
}

func (p *Pool) isBarred(a msg.Account) bool {
	for _, b := range p.Barred {
		if b == a {
			return true
		}
	}
	return false
}

// Book holds the open pools. Use New.
type Book struct {
	// pools is persistent and pools are copied on their first write after a Clone, so
	// a per-epoch clone costs what the epoch changes, not every open pool and vote.
	pools pmap.Map[msg.ID, *Pool]
	// edit is nil until this version first writes a pool after a Clone; Clone clears it
	// atomically, so published versions may be cloned from several goroutines at once.
	edit atomic.Pointer[editToken]

	// Scratch for resolution and salary, and the chunk of vote errors; never shared
	// between clones.
	errs    []VoteError
	sp      reputation.Splitter
	parts   []reputation.Weighted
	owner   []msg.Account
	weights []reputation.Weighted

	// nerrs counts this version's vote errors; errHint is the count of the version it
	// was cloned from, which sizes the chunks: epochs of one network have similar
	// numbers of failed votes, and a report keeps a chunk's unused tail alive too.
	nerrs, errHint int
}

func idHash(id msg.ID) uint64 { return pmap.Hash32(id) }

// New gives an empty book.
func New() *Book { return &Book{pools: pmap.New[msg.ID, *Pool](idHash)} }

// Clone gives an independent copy in O(1); writes to either copy the pools they touch.
func (b *Book) Clone() *Book {
	if b.edit.Load() != nil {
		b.edit.Store(nil) // b's pools are shared from now on
	}
	return &Book{pools: b.pools.Clone(), errHint: b.nerrs}
}

// writer gives this version's token, making one on its first write since a Clone.
func (b *Book) writer() *editToken {
	t := b.edit.Load()
	if t == nil {
		t = &editToken{}
		b.edit.Store(t)
	}
	return t
}

// mutable gives the pool to write in place of p: p itself if this version may change
// it, else a copy that replaces it in this version.
func (b *Book) mutable(p *Pool) *Pool {
	edit := b.writer()
	if p.edit == edit {
		return p
	}
	c := p.clone()
	c.edit = edit
	b.pools.Set(c.ID, c)
	return c
}

// Get gives an open pool (read only).
func (b *Book) Get(id msg.ID) (*Pool, bool) { return b.pools.Get(id) }

// Len gives the number of open pools.
func (b *Book) Len() int { return b.pools.Len() }

// OpenRequest is a decoded POOL_OPEN.
type OpenRequest struct {
	ID       msg.ID // the envelope id
	Opener   msg.Account
	Post     msg.ID
	Fee      uint64
	Duration uint64
	Kind     Kind
}

// OpenEnv is what Open reads besides the request.
type OpenEnv struct {
	// Batch is k, the epoch whose batch carries the POOL_OPEN.
	Batch uint64
	// Live is the number of live epochs among 1..k.
	Live    uint64
	Params  *params.Set
	Forum   *forum.Forum
	Credits *credits.Ledger
}

// Open opens a pool (SPEC §6 POOL_OPEN): an existing post from batch ≤ k, fee ≥ min_fee
// and covered by free credits, a duration within bounds, and for a governance pool a post
// carrying a valid params diff. The fee goes into escrow under the pool id. All or
// nothing: on error nothing changed.
func (b *Book) Open(r OpenRequest, env OpenEnv) (*Pool, error) {
	fail := func(err error) (*Pool, error) { return nil, fmt.Errorf("open pool %s: %w", r.ID.Short(), err) }
	if r.Kind != Executive && r.Kind != Governance {
		return fail(ErrKind)
	}
	if _, dup := b.pools.Get(r.ID); dup {
		return fail(ErrDuplicate)
	}
	post, ok := env.Forum.Get(r.Post)
	if !ok || post.Batch > env.Batch {
		return fail(ErrNoPost)
	}
	ps := env.Params
	if r.Fee < ps.Get(params.MinFee) {
		return fail(fmt.Errorf("%w: %d < %d", ErrFeeTooLow, r.Fee, ps.Get(params.MinFee)))
	}
	if r.Duration < ps.Get(params.PoolDurationMin) || r.Duration > ps.Get(params.PoolDurationMax) {
		return fail(fmt.Errorf("%w: %d", ErrDuration, r.Duration))
	}
	if r.Kind == Governance && post.Params == nil {
		return fail(ErrNoDiff)
	}
	if err := env.Credits.Hold(r.ID, r.Opener, r.Fee); err != nil {
		return fail(err)
	}
	p := &Pool{
		ID: r.ID, Post: r.Post, Opener: r.Opener, Kind: r.Kind, Fee: r.Fee,
		OpenBatch: env.Batch, CloseLive: env.Live + r.Duration,
		Frozen: freeze(r.Kind, ps),
	}
	if post.Evidence {
		p.Barred = post.BarredAccounts()
	} else {
		p.barred[0] = post.Signer
		p.Barred = p.barred[:]
	}
	p.edit = b.writer()
	b.pools.Set(p.ID, p)
	return p, nil
}

// Vote applies a VOTE from `batch` (SPEC §6 VOTE): on an open pool, after its opening
// batch, not by a barred account, the voter's first effective vote only; it locks
// min(stake, free REP) and returns that amount. A vote clamped to zero has no effect and
// does not use up the voter's vote.
func (b *Book) Vote(pool msg.ID, voter msg.Account, side Side, stake, batch uint64, led *reputation.Ledger) (uint64, error) {
	p, ok := b.pools.Get(pool)
	if !ok {
		return 0, b.voteErr(pool, nil, ErrNoPool)
	}
	switch {
	case side != For && side != Against:
		return 0, b.voteErr(pool, nil, ErrSide)
	case batch <= p.OpenBatch:
		return 0, b.voteErr(pool, nil, ErrTooEarly)
	case p.isBarred(voter):
		return 0, b.voteErr(pool, &voter, ErrBarred)
	}
	if _, dup := p.voted[voter]; dup {
		return 0, b.voteErr(pool, &voter, ErrAlreadyVoted)
	}
	n := led.LockUpTo(voter, stake)
	if n == 0 {
		return 0, b.voteErr(pool, &voter, ErrZeroStake)
	}
	p = b.mutable(p)
	if p.voted == nil {
		p.voted = make(map[msg.Account]int32)
	}
	p.voted[voter] = int32(len(p.Votes))
	p.Votes = append(p.Votes, Vote{Voter: voter, Side: side, Stake: n})
	return n, nil
}

// VoteError is a vote without effect. Votes on pools that have closed are a large
// share of a real log's votes, so the message is built only when asked for: one
// allocation instead of a formatted string and its wrapper.
type VoteError struct {
	Pool     msg.ID
	Voter    msg.Account
	HasVoter bool // the reason concerns the voter, who is then named in the message
	Err      error
}

func (e *VoteError) Error() string {
	if e.HasVoter {
		return fmt.Sprintf("vote on %s by %s: %v", e.Pool.Short(), e.Voter, e.Err)
	}
	return fmt.Sprintf("vote on %s: %v", e.Pool.Short(), e.Err)
}

func (e *VoteError) Unwrap() error { return e.Err }

// voteErr gives a *VoteError from this version's chunk: a report keeps its errors as
// long as the state, so one allocation each would be pure GC work.
func (b *Book) voteErr(pool msg.ID, voter *msg.Account, err error) error {
	if len(b.errs) == cap(b.errs) {
		// What the hint says is left, then chunks that grow with the errors beyond it.
		n := min(max(b.nerrs-b.errHint, 8), 256)
		if left := b.errHint - b.nerrs; left > 0 {
			n = min(left, 4096)
		}
		b.errs = make([]VoteError, 0, n)
	}
	b.nerrs++
	e := VoteError{Pool: pool, Err: err}
	if voter != nil {
		e.Voter, e.HasVoter = *voter, true
	}
	b.errs = append(b.errs, e)
	return &b.errs[len(b.errs)-1]
}

// DropVoter removes an equivocator's votes from every open pool's tally and quorum
// (SPEC §7.6). Its locks are not released: the ledger burned them with the rest of its REP.
func (b *Book) DropVoter(a msg.Account) {
	var hit []*Pool
	b.pools.Range(func(_ msg.ID, p *Pool) bool {
		if _, ok := p.voted[a]; ok {
			hit = append(hit, p)
		}
		return true
	})
	for _, p := range hit { // each pool is independent: order is moot
		p = b.mutable(p)
		i := p.voted[a]
		p.Votes = slices.Delete(p.Votes, int(i), int(i)+1)
		delete(p.voted, a)
		for j := int(i); j < len(p.Votes); j++ {
			p.voted[p.Votes[j].Voter] = int32(j)
		}
	}
}

// PoolRow is one row of the pools state component.
type PoolRow struct {
	_         struct{} `cbor:",toarray"`
	ID        msg.ID
	Post      msg.ID
	Opener    msg.Account
	Kind      Kind
	Fee       uint64
	OpenBatch uint64
	CloseLive uint64
	Frozen    Frozen
	Barred    []msg.Account
	Votes     []Vote // ascending voter
}

// Rows gives the pools component: open pools by ascending id, votes by ascending voter.
func (b *Book) Rows() []PoolRow {
	out := make([]PoolRow, 0, b.pools.Len())
	b.pools.Range(func(_ msg.ID, p *Pool) bool {
		votes := slices.Clone(p.Votes)
		slices.SortFunc(votes, func(x, y Vote) int { return bytes.Compare(x.Voter[:], y.Voter[:]) })
		out = append(out, PoolRow{ID: p.ID, Post: p.Post, Opener: p.Opener, Kind: p.Kind, Fee: p.Fee,
			OpenBatch: p.OpenBatch, CloseLive: p.CloseLive, Frozen: p.Frozen, Barred: p.Barred, Votes: votes})
		return true
	})
	slices.SortFunc(out, func(x, y PoolRow) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	return out
}
