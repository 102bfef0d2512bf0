package reputation

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/guild-net/guild/internal/dense"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// Sentinel errors for callers that branch.
var (
	ErrInsufficientFree    = errors.New("not enough free REP")
	ErrInsufficientLocked  = errors.New("not enough locked REP")
	ErrInsufficientPending = errors.New("not enough pending REP")
	ErrOverflow            = errors.New("REP amount overflows 2^64-1")
)

// Balance is one account's µREP: Bal in total, Locked of it held by votes and stakes.
type Balance struct {
	Bal    uint64
	Locked uint64
}

// Free is the unlocked part.
func (b Balance) Free() uint64 { return b.Bal - b.Locked }

// Ledger is the µREP ledger. The zero value is not ready; use New.
type Ledger struct {
	// bals holds the accounts with a non-zero balance. Decay rewrites every balance
	// each live epoch while accounts rarely come or go, so balances are dense
	// (internal/dense): a clone copies them and shares the numbering of accounts.
	bals     *dense.Map[msg.Account, Balance]
	equiv    map[msg.Account]struct{}
	minted   uint64
	burned   uint64
	forgiven uint64
	pending  uint64

	// sorted caches the accounts of bals ascending with their slots (Snapshot and
	// Rows need them every epoch), or holds nil after a change of membership. Slots
	// only move when membership changes, so the slots stay right as long as the list
	// does. A stored view is never written, so clones share it. It is atomic because
	// Accounts is a read, and readers of a published ledger may fill the cache
	// concurrently.
	sorted atomic.Pointer[sortedView]
}

// sortedView is the accounts ascending and slots[i], the slot of accts[i] in bals.
type sortedView struct {
	accts []msg.Account
	slots []int32
}

// New gives an empty ledger.
func New() *Ledger {
	return &Ledger{bals: dense.New[msg.Account, Balance](), equiv: make(map[msg.Account]struct{})}
}

// Clone gives an independent copy (a per-epoch snapshot).
func (l *Ledger) Clone() *Ledger {
	c := &Ledger{minted: l.minted, burned: l.burned, forgiven: l.forgiven, pending: l.pending,
		bals: l.bals.Clone(), equiv: maps.Clone(l.equiv)}
	c.sorted.Store(l.sorted.Load())
	return c
}

// Get gives an account's balance (zero for an unknown account).
func (l *Ledger) Get(a msg.Account) Balance {
	b, _ := l.bals.Get(a)
	return b
}

// Free gives an account's unlocked µREP.
func (l *Ledger) Free(a msg.Account) uint64 { return l.Get(a).Free() }

// Minted, Burned and Forgiven are the ledger's counters; genesis REP counts as minted.
// Forgiven counts leach amounts an author could not pay because the REP was locked or
// already gone (SPEC §7.2).
func (l *Ledger) Minted() uint64   { return l.minted }
func (l *Ledger) Burned() uint64   { return l.burned }
func (l *Ledger) Forgiven() uint64 { return l.forgiven }

// Pending is the µREP minted or taken but not yet given or burned.
func (l *Ledger) Pending() uint64 { return l.pending }

// Supply is minted − burned − pending, which equals Σ balances.
func (l *Ledger) Supply() uint64 { return l.minted - l.burned - l.pending }

// MintHeadroom is how much more can ever be minted: the minted counter is bounded by
// 2^64−1, which bounds every balance and every weight sum too.
func (l *Ledger) MintHeadroom() uint64 { return math.MaxUint64 - l.minted }

// set stores a's balance, deleting a zero one. Every caller read a's balance first and
// never raises a zero balance, so set inserts no account; it may remove one.
func (l *Ledger) set(a msg.Account, b Balance) {
	_, ok := l.bals.Slot(a)
	switch {
	case ok && b.Bal == 0:
		l.remove(a)
	case ok || b.Bal != 0:
		l.put(a, b)
	}
}

// remove drops a from the accounts. Slots keep their places (Decay removes while it
// walks them).
func (l *Ledger) remove(a msg.Account) {
	l.bals.Delete(a)
	l.sorted.Store(nil)
}

// put stores a's balance, adding a if it is new.
func (l *Ledger) put(a msg.Account, b Balance) {
	if _, ok := l.bals.Slot(a); !ok {
		l.sorted.Store(nil)
	}
	l.bals.Put(a, b)
}

// Genesis mints amount straight to a (genesis allocations count as minted).
func (l *Ledger) Genesis(a msg.Account, amount uint64) error {
	if amount > l.MintHeadroom() {
		return fmt.Errorf("genesis %s: %w", a, ErrOverflow)
	}
	l.Mint(amount)
	return l.Give(a, amount)
}

// Mint creates up to amount µREP into pending and returns what it created: amount, or
// less if the lifetime minted counter would pass 2^64−1.
func (l *Ledger) Mint(amount uint64) uint64 {
	amount = min(amount, l.MintHeadroom())
	l.minted += amount
	l.pending += amount
	return amount
}

// Give moves amount from pending to a's balance. REP given to an equivocator is burned
// on arrival (SPEC §7.6).
func (l *Ledger) Give(a msg.Account, amount uint64) error {
	if amount > l.pending {
		return fmt.Errorf("give %d to %s: %w", amount, a, ErrInsufficientPending)
	}
	if amount == 0 {
		return nil
	}
	l.pending -= amount
	if _, eq := l.equiv[a]; eq {
		l.burned += amount
		return nil
	}
	i, ok := l.bals.Slot(a)
	if !ok {
		l.put(a, Balance{Bal: amount})
		return nil
	}
	_, b := l.bals.At(i)
	b.Bal += amount // Σ balances ≤ minted ≤ 2^64−1, so this cannot wrap
	return nil
}

// Take moves amount of a's free REP into pending (forfeits of unlocked stakes).
func (l *Ledger) Take(a msg.Account, amount uint64) error {
	b := l.Get(a)
	if amount > b.Free() {
		return fmt.Errorf("take %d from %s (free %d): %w", amount, a, b.Free(), ErrInsufficientFree)
	}
	b.Bal -= amount
	l.set(a, b)
	l.pending += amount
	return nil
}

// BurnPending burns amount of pending REP.
func (l *Ledger) BurnPending(amount uint64) error {
	if amount > l.pending {
		return fmt.Errorf("burn %d pending: %w", amount, ErrInsufficientPending)
	}
	l.pending -= amount
	l.burned += amount
	return nil
}

// BurnFree burns up to amount of a's free REP and returns what it burned.
func (l *Ledger) BurnFree(a msg.Account, amount uint64) uint64 {
	b := l.Get(a)
	dd := min(amount, b.Free())
	if dd == 0 {
		return 0
	}
	b.Bal -= dd
	l.set(a, b)
	l.burned += dd
	return dd
}

// Forgive records µREP a leach could not take (SPEC §7.2).
func (l *Ledger) Forgive(amount uint64) { l.forgiven += amount }

// Lock locks amount of a's free REP, all or nothing.
func (l *Ledger) Lock(a msg.Account, amount uint64) error {
	b := l.Get(a)
	if amount > b.Free() {
		return fmt.Errorf("lock %d of %s (free %d): %w", amount, a, b.Free(), ErrInsufficientFree)
	}
	b.Locked += amount
	l.set(a, b)
	return nil
}

// LockUpTo locks min(amount, free) and returns it (a vote's clamp, SPEC §6 VOTE).
func (l *Ledger) LockUpTo(a msg.Account, amount uint64) uint64 {
	i, ok := l.bals.Slot(a)
	if !ok {
		return 0
	}
	_, b := l.bals.At(i)
	n := min(amount, b.Free())
	b.Locked += n
	return n
}

// Unlock releases amount of a's locked REP. For an equivocator it does nothing: its
// locks were burned with the rest of its REP when it was caught.
func (l *Ledger) Unlock(a msg.Account, amount uint64) error {
	if _, eq := l.equiv[a]; eq {
		return nil
	}
	b := l.Get(a)
	if amount > b.Locked {
		return fmt.Errorf("unlock %d of %s (locked %d): %w", amount, a, b.Locked, ErrInsufficientLocked)
	}
	b.Locked -= amount
	l.set(a, b)
	return nil
}

// Equivocate burns all of a's REP, locks included, marks a as an equivocator and returns
// the amount burned (SPEC §7.6). Callers remove a's votes from open pools themselves.
func (l *Ledger) Equivocate(a msg.Account) uint64 {
	b, ok := l.bals.Get(a)
	if ok {
		l.remove(a)
	}
	l.burned += b.Bal
	l.equiv[a] = struct{}{}
	return b.Bal
}

// IsEquivocator reports whether a was caught equivocating.
func (l *Ledger) IsEquivocator(a msg.Account) bool {
	_, eq := l.equiv[a]
	return eq
}

// Decay burns mulDiv(balance − locked, ppm, 1e6) from every account (SPEC §7.1) and
// returns the total burned. Each account's burn is independent, so slot order is moot.
func (l *Ledger) Decay(ppm uint64) uint64 {
	if ppm == 0 {
		return 0
	}
	var total uint64
	for i := range l.bals.Slots() {
		a, b := l.bals.At(i) // a dead slot is zero and burns nothing
		d := MulDiv(b.Free(), ppm, PPM)
		if d == 0 {
			continue
		}
		b.Bal -= d
		total += d
		if b.Bal == 0 {
			l.remove(a)
		}
	}
	l.burned += total
	return total
}

// Accounts gives every account with a non-zero balance, ascending.
func (l *Ledger) Accounts() []msg.Account { return slices.Clone(l.accounts()) }

// accounts is Accounts without the copy: the caller must not modify the slice.
func (l *Ledger) accounts() []msg.Account { return l.view().accts }

// view gives the cached sorted view, making it if the cache is empty.
func (l *Ledger) view() *sortedView {
	if v := l.sorted.Load(); v != nil {
		return v
	}
	accts := slices.AppendSeq(make([]msg.Account, 0, l.bals.Len()), l.bals.Keys())
	slices.SortFunc(accts, pmap.Compare32)
	v := &sortedView{accts: accts, slots: make([]int32, len(accts))}
	for i, a := range accts {
		slot, _ := l.bals.Slot(a)
		v.slots[i] = int32(slot)
	}
	l.sorted.Store(v)
	return v
}

// balanceAt gives the balance of the i-th account of view v.
func (l *Ledger) balanceAt(v *sortedView, i int) Balance {
	_, b := l.bals.At(int(v.slots[i]))
	return *b
}

// Len gives the number of accounts with a non-zero balance.
func (l *Ledger) Len() int { return l.bals.Len() }

// Range calls f for every account with a non-zero balance, ascending, until f returns
// false: Rows without building them.
func (l *Ledger) Range(f func(msg.Account, Balance) bool) {
	v := l.view()
	for i, a := range v.accts {
		if !f(a, l.balanceAt(v, i)) {
			return
		}
	}
}

// RangeAny calls f for every account with a non-zero balance in slot order, which
// depends on the ledger's history (not on map order) but is no useful order: for
// callers whose result does not depend on it, such as a selection by a total order.
// Unlike Range it needs no sorted account list and no lookup per account.
func (l *Ledger) RangeAny(f func(msg.Account, Balance)) {
	for i := range l.bals.Slots() {
		// A dead slot holds the zero balance, and a live one never does.
		if a, b := l.bals.At(i); b.Bal != 0 {
			f(a, *b)
		}
	}
}

// Equivocators gives the equivocators, ascending.
func (l *Ledger) Equivocators() []msg.Account {
	out := make([]msg.Account, 0, len(l.equiv))
	for a := range l.equiv {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// AccountRow is one row of the accounts state component.
type AccountRow struct {
	_       struct{} `cbor:",toarray"`
	Account msg.Account
	Balance uint64
	Locked  uint64
}

// TotalsRow holds the ledger's counters for the totals state component.
type TotalsRow struct {
	_        struct{} `cbor:",toarray"`
	Minted   uint64
	Burned   uint64
	Forgiven uint64
}

// Rows gives the accounts component: every non-zero balance by ascending account.
func (l *Ledger) Rows() []AccountRow {
	v := l.view()
	out := make([]AccountRow, len(v.accts))
	for i, a := range v.accts {
		b := l.balanceAt(v, i)
		out[i] = AccountRow{Account: a, Balance: b.Bal, Locked: b.Locked}
	}
	return out
}

// Totals gives the counters row.
func (l *Ledger) Totals() TotalsRow {
	return TotalsRow{Minted: l.minted, Burned: l.burned, Forgiven: l.forgiven}
}

// ErrInvariant reports a broken ledger invariant (a bug, never a user error).
var ErrInvariant = errors.New("reputation ledger invariant broken")

// Check verifies Σ balances = minted − burned − pending and locked ≤ balance for every
// account. It is O(accounts); tests and debug builds call it at Apply boundaries.
func (l *Ledger) Check() error {
	var sum, carry uint64
	live := 0
	for i := range l.bals.Slots() {
		a, p := l.bals.At(i)
		b := *p
		if !l.bals.Live(i) {
			if b != (Balance{}) {
				return fmt.Errorf("dead slot of %s holds %d: %w", a, b.Bal, ErrInvariant)
			}
			continue
		}
		live++
		if b.Bal == 0 {
			return fmt.Errorf("%s listed with a zero balance: %w", a, ErrInvariant)
		}
		if b.Locked > b.Bal {
			return fmt.Errorf("%s locked %d > balance %d: %w", a, b.Locked, b.Bal, ErrInvariant)
		}
		if _, eq := l.equiv[a]; eq {
			return fmt.Errorf("equivocator %s holds %d: %w", a, b.Bal, ErrInvariant)
		}
		var c uint64
		sum, c = bits.Add64(sum, b.Bal, 0)
		carry += c
	}
	if live != l.bals.Len() {
		return fmt.Errorf("%d accounts listed, %d slots live: %w", l.bals.Len(), live, ErrInvariant)
	}
	if carry != 0 || l.burned > l.minted || sum != l.minted-l.burned-l.pending {
		return fmt.Errorf("Σ balances %d ≠ minted %d − burned %d − pending %d: %w",
			sum, l.minted, l.burned, l.pending, ErrInvariant)
	}
	return nil
}

// Snapshot is S_k of SPEC §4 phase 2: every account's total balance (free + locked) at
// that moment, and T_k = Σ S_k. Equivocators caught later in the epoch stay in it.
type Snapshot struct {
	// accts ascending (shared with the ledger's cached list, never written) and s[i],
	// the S_k of accts[i]: a snapshot is taken every live epoch, and the accounts
	// rarely change between two.
	accts []msg.Account
	s     []uint64
	total uint64
}

// SnapEntry is one account's S_k.
type SnapEntry struct {
	Account msg.Account
	S       uint64
}

// Snapshot takes S_k and T_k now.
func (l *Ledger) Snapshot() Snapshot {
	v := l.view()
	s := Snapshot{accts: v.accts, s: make([]uint64, len(v.accts))}
	for i := range v.accts {
		b := l.balanceAt(v, i).Bal
		s.s[i] = b
		s.total += b
	}
	return s
}

// NewSnapshot builds a snapshot from explicit entries (tests, or a state decoded from
// rows); zero entries are dropped and accounts must be distinct.
func NewSnapshot(entries []SnapEntry) Snapshot {
	var kept []SnapEntry
	for _, e := range entries {
		if e.S > 0 {
			kept = append(kept, e)
		}
	}
	slices.SortFunc(kept, func(x, y SnapEntry) int { return bytes.Compare(x.Account[:], y.Account[:]) })
	var s Snapshot
	for _, e := range kept {
		s.accts = append(s.accts, e.Account)
		s.s = append(s.s, e.S)
		s.total += e.S
	}
	return s
}

// Total is T_k.
func (s Snapshot) Total() uint64 { return s.total }

// Get gives S_k of one account.
func (s Snapshot) Get(a msg.Account) uint64 {
	i, ok := slices.BinarySearchFunc(s.accts, a, pmap.Compare32)
	if !ok {
		return 0
	}
	return s.s[i]
}

// Len gives the number of entries; At gives the i-th by ascending account.
func (s Snapshot) Len() int { return len(s.accts) }

func (s Snapshot) At(i int) SnapEntry { return SnapEntry{Account: s.accts[i], S: s.s[i]} }
