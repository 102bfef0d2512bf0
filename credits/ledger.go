package credits

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/internal/dense"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// MaxRefBytes is the WIRE §3 ceiling on a deposit or withdrawal reference.
const MaxRefBytes = 64

// Sentinel errors; a message that hits one has no effect.
var (
	ErrNotGateway   = errors.New("not a genesis gateway")
	ErrRefUsed      = errors.New("deposit reference already used by this gateway")
	ErrRefTooLong   = errors.New("reference longer than 64 bytes")
	ErrInsufficient = errors.New("not enough free credits")
	ErrOverflow     = errors.New("credit total would pass 2^64-1")
	ErrEscrowExists = errors.New("escrow already exists")
	ErrNoEscrow     = errors.New("no such escrow")
	ErrEscrowShort  = errors.New("escrow holds less than asked")
	ErrPotShort     = errors.New("salary pot holds less than asked")
	ErrInvariant    = errors.New("credit ledger invariant broken")
)

// Escrow is credits held for an open pool or request until it settles.
type Escrow struct {
	Owner  msg.Account
	Amount uint64
}

type refKey struct {
	gateway msg.Account
	n       uint8
	ref     [MaxRefBytes]byte
}

// Ledger is the µcredit ledger. Use New.
type Ledger struct {
	free     *dense.Map[msg.Account, uint64] // non-zero balances only
	frozen   map[msg.Account]uint64
	frozenAt map[msg.Account]struct{} // accounts whose credits are frozen (equivocators)
	escrow   map[msg.ID]Escrow
	gateways map[msg.Account]struct{} // shared by every clone: written only by New
	// used holds every deposit reference ever used: it only grows, so it is a
	// persistent map, and a per-epoch Clone does not copy the network's deposit history.
	used pmap.Map[refKey, struct{}]
	pot  uint64

	genesis     uint64
	deposits    uint64
	withdrawals uint64
}

// New gives an empty ledger that accepts deposits from the given genesis gateways.
func New(gateways []msg.Account) *Ledger {
	l := &Ledger{
		free:     dense.New[msg.Account, uint64](),
		frozen:   make(map[msg.Account]uint64),
		frozenAt: make(map[msg.Account]struct{}),
		escrow:   make(map[msg.ID]Escrow),
		gateways: make(map[msg.Account]struct{}, len(gateways)),
		used:     pmap.New[refKey, struct{}](refHash),
	}
	for _, g := range gateways {
		l.gateways[g] = struct{}{}
	}
	return l
}

// Clone gives an independent copy. Free balances are dense (internal/dense: the
// salary rewrites most of them each live epoch, so a clone copies them outright); the
// frozen maps are copied wholesale (maps.Clone copies tables without rehashing), and
// escrows, which come and go with pools, are re-inserted at their live size rather
// than cloned with the capacity of their busiest epoch.
func (l *Ledger) Clone() *Ledger {
	return &Ledger{
		free:        l.free.Clone(),
		frozen:      maps.Clone(l.frozen),
		frozenAt:    maps.Clone(l.frozenAt),
		escrow:      cloneMap(l.escrow),
		gateways:    l.gateways,
		used:        l.used.Clone(),
		pot:         l.pot,
		genesis:     l.genesis,
		deposits:    l.deposits,
		withdrawals: l.withdrawals,
	}
}

// refHash mixes the gateway and the reference bytes (chosen by gateways, so mixed
// rather than taken as they are).
func refHash(k refKey) uint64 {
	h := pmap.Hash32(k.gateway) ^ uint64(k.n)
	for i := 0; i < int(k.n); i += 8 {
		h = (h ^ binary.LittleEndian.Uint64(k.ref[i:i+8])) * 0x100000001b3
		h ^= h >> 29
	}
	return h
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// outstanding is genesis + deposits − withdrawals: every credit that exists.
func (l *Ledger) outstanding() uint64 { return l.genesis + l.deposits - l.withdrawals }

// IsGateway reports whether g is a genesis gateway.
func (l *Ledger) IsGateway(g msg.Account) bool {
	_, ok := l.gateways[g]
	return ok
}

// Free gives a's spendable credits; Frozen its frozen credits.
func (l *Ledger) Free(a msg.Account) uint64   { return l.freeOf(a) }
func (l *Ledger) Frozen(a msg.Account) uint64 { return l.frozen[a] }

// IsFrozen reports whether a's credits are frozen.
func (l *Ledger) IsFrozen(a msg.Account) bool {
	_, ok := l.frozenAt[a]
	return ok
}

// Pot gives the salary pot of the current epoch (including any carried over).
func (l *Ledger) Pot() uint64 { return l.pot }

// Escrow gives one escrow.
func (l *Ledger) Escrow(id msg.ID) (Escrow, bool) {
	e, ok := l.escrow[id]
	return e, ok
}

// credit adds amount to a, into its frozen balance if a is frozen. Callers have checked
// that the outstanding total covers it, so no balance can wrap.
func (l *Ledger) credit(a msg.Account, amount uint64) {
	if amount == 0 {
		return
	}
	if _, fz := l.frozenAt[a]; fz {
		l.frozen[a] += amount
		return
	}
	l.setFree(a, l.freeOf(a)+amount)
}

func (l *Ledger) freeOf(a msg.Account) uint64 {
	v, _ := l.free.Get(a)
	return v
}

// setFree stores a's free balance, dropping a zero one.
func (l *Ledger) setFree(a msg.Account, v uint64) {
	if v == 0 {
		l.free.Delete(a)
	} else {
		l.free.Put(a, v)
	}
}

// Genesis allocates credits to a.
func (l *Ledger) Genesis(a msg.Account, amount uint64) error {
	if _, c := bits.Add64(l.outstanding(), amount, 0); c != 0 {
		return fmt.Errorf("genesis %s: %w", a, ErrOverflow)
	}
	l.genesis += amount
	l.credit(a, amount)
	return nil
}

func makeRef(gateway msg.Account, ref []byte) (refKey, error) {
	k := refKey{gateway: gateway, n: uint8(len(ref))}
	if len(ref) > MaxRefBytes {
		return k, ErrRefTooLong
	}
	copy(k.ref[:], ref)
	return k, nil
}

// Deposit credits amount to `to` on behalf of a gateway; each (gateway, ref) pair has
// effect once (SPEC §6 DEPOSIT).
func (l *Ledger) Deposit(gateway msg.Account, ref []byte, to msg.Account, amount uint64) error {
	if !l.IsGateway(gateway) {
		return fmt.Errorf("deposit by %s: %w", gateway, ErrNotGateway)
	}
	k, err := makeRef(gateway, ref)
	if err != nil {
		return fmt.Errorf("deposit by %s: %w", gateway, err)
	}
	if _, dup := l.used.Get(k); dup {
		return fmt.Errorf("deposit by %s ref %x: %w", gateway, ref, ErrRefUsed)
	}
	if _, c := bits.Add64(l.outstanding(), amount, 0); c != 0 {
		return fmt.Errorf("deposit by %s ref %x: %w", gateway, ref, ErrOverflow)
	}
	l.used.Set(k, struct{}{})
	l.deposits += amount
	l.credit(to, amount)
	return nil
}

// RefUsed reports whether a gateway already used ref.
func (l *Ledger) RefUsed(gateway msg.Account, ref []byte) bool {
	k, err := makeRef(gateway, ref)
	if err != nil {
		return false
	}
	_, ok := l.used.Get(k)
	return ok
}

// Withdraw burns amount of a's free credits if they cover it all; the named gateway pays
// out off-chain.
func (l *Ledger) Withdraw(a, gateway msg.Account, amount uint64) error {
	if !l.IsGateway(gateway) {
		return fmt.Errorf("withdraw to %s: %w", gateway, ErrNotGateway)
	}
	if f := l.freeOf(a); f < amount {
		return fmt.Errorf("withdraw %d by %s (free %d): %w", amount, a, f, ErrInsufficient)
	}
	l.sub(a, amount)
	l.withdrawals += amount
	return nil
}

func (l *Ledger) sub(a msg.Account, amount uint64) {
	l.setFree(a, l.freeOf(a)-amount)
}

// Hold moves amount of owner's free credits into a new escrow id, all or nothing.
func (l *Ledger) Hold(id msg.ID, owner msg.Account, amount uint64) error {
	if _, ok := l.escrow[id]; ok {
		return fmt.Errorf("escrow %s: %w", id.Short(), ErrEscrowExists)
	}
	if f := l.freeOf(owner); f < amount {
		return fmt.Errorf("escrow %d by %s (free %d): %w", amount, owner, f, ErrInsufficient)
	}
	l.sub(owner, amount)
	l.escrow[id] = Escrow{Owner: owner, Amount: amount}
	return nil
}

func (l *Ledger) draw(id msg.ID, amount uint64) error {
	e, ok := l.escrow[id]
	if !ok {
		return fmt.Errorf("escrow %s: %w", id.Short(), ErrNoEscrow)
	}
	if e.Amount < amount {
		return fmt.Errorf("escrow %s holds %d, asked %d: %w", id.Short(), e.Amount, amount, ErrEscrowShort)
	}
	e.Amount -= amount
	l.escrow[id] = e
	return nil
}

// Pay moves amount from an escrow to an account (frozen if the account is).
func (l *Ledger) Pay(id msg.ID, to msg.Account, amount uint64) error {
	if err := l.draw(id, amount); err != nil {
		return err
	}
	l.credit(to, amount)
	return nil
}

// ToPot moves amount from an escrow into the salary pot.
func (l *Ledger) ToPot(id msg.ID, amount uint64) error {
	if err := l.draw(id, amount); err != nil {
		return err
	}
	l.pot += amount
	return nil
}

// Release closes an escrow, returning what is left to its owner (frozen if the owner
// is), and reports the amount returned. Releasing an unknown escrow returns 0.
func (l *Ledger) Release(id msg.ID) uint64 {
	e, ok := l.escrow[id]
	if !ok {
		return 0
	}
	delete(l.escrow, id)
	l.credit(e.Owner, e.Amount)
	return e.Amount
}

// PayFromPot pays amount of the salary pot to an account.
func (l *Ledger) PayFromPot(to msg.Account, amount uint64) error {
	if amount > l.pot {
		return fmt.Errorf("pay %d from pot %d: %w", amount, l.pot, ErrPotShort)
	}
	l.pot -= amount
	l.credit(to, amount)
	return nil
}

// Freeze moves a's free credits to its frozen balance, and every credit owed to it later
// lands there too (SPEC §7.6). It returns the amount frozen now.
func (l *Ledger) Freeze(a msg.Account) uint64 {
	if _, ok := l.frozenAt[a]; ok {
		return 0
	}
	l.frozenAt[a] = struct{}{}
	n := l.freeOf(a)
	l.free.Delete(a)
	if n > 0 {
		l.frozen[a] += n
	}
	return n
}

// Check verifies Σ free + Σ escrowed + Σ frozen + pot = genesis + deposits − withdrawals.
func (l *Ledger) Check() error {
	var sum, carry uint64
	add := func(v uint64) {
		var c uint64
		sum, c = bits.Add64(sum, v, 0)
		carry += c
	}
	for _, v := range l.free.All() {
		add(v)
	}
	for _, v := range l.frozen {
		add(v)
	}
	for _, e := range l.escrow {
		add(e.Amount)
	}
	add(l.pot)
	if carry != 0 || l.withdrawals > l.genesis+l.deposits || sum != l.outstanding() {
		return fmt.Errorf("free+escrow+frozen+pot = %d ≠ genesis %d + deposits %d − withdrawals %d: %w",
			sum, l.genesis, l.deposits, l.withdrawals, ErrInvariant)
	}
	return nil
}

// AccountRow is one row of the credits component: an account's free and frozen credits.
type AccountRow struct {
	_       struct{} `cbor:",toarray"`
	Account msg.Account
	Free    uint64
	Frozen  uint64
	// IsFrozen marks an equivocator's account even when both balances are zero.
	IsFrozen bool
}

// EscrowRow is one open escrow.
type EscrowRow struct {
	_      struct{} `cbor:",toarray"`
	ID     msg.ID
	Owner  msg.Account
	Amount uint64
}

// RefRow is one used (gateway, ref) pair.
type RefRow struct {
	_       struct{} `cbor:",toarray"`
	Gateway msg.Account
	Ref     []byte
}

// TotalsRow holds the counters and the salary pot.
type TotalsRow struct {
	_           struct{} `cbor:",toarray"`
	Genesis     uint64
	Deposits    uint64
	Withdrawals uint64
	Pot         uint64
}

func sortedKeys[V any](m map[msg.Account]V) []msg.Account {
	out := make([]msg.Account, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Accounts gives every account with credits or frozen status, by ascending account.
func (l *Ledger) Accounts() []AccountRow {
	seen := make(map[msg.Account]struct{}, l.free.Len()+len(l.frozenAt))
	for a := range l.free.Keys() {
		seen[a] = struct{}{}
	}
	for a := range l.frozenAt {
		seen[a] = struct{}{}
	}
	keys := sortedKeys(seen)
	out := make([]AccountRow, len(keys))
	for i, a := range keys {
		_, fz := l.frozenAt[a]
		out[i] = AccountRow{Account: a, Free: l.freeOf(a), Frozen: l.frozen[a], IsFrozen: fz}
	}
	return out
}

// EscrowOwners gives the owners of the open escrows, as a new set.
func (l *Ledger) EscrowOwners() map[msg.Account]struct{} {
	m := make(map[msg.Account]struct{}, len(l.escrow))
	for _, e := range l.escrow {
		m[e.Owner] = struct{}{}
	}
	return m
}

// Escrows gives the open escrows by ascending id.
func (l *Ledger) Escrows() []EscrowRow {
	out := make([]EscrowRow, 0, len(l.escrow))
	for id, e := range l.escrow {
		out = append(out, EscrowRow{ID: id, Owner: e.Owner, Amount: e.Amount})
	}
	slices.SortFunc(out, func(x, y EscrowRow) int { return bytes.Compare(x.ID[:], y.ID[:]) })
	return out
}

// UsedRefs gives the used (gateway, ref) pairs by ascending (gateway, ref).
func (l *Ledger) UsedRefs() []RefRow {
	out := make([]RefRow, 0, l.used.Len())
	l.used.Range(func(k refKey, _ struct{}) bool {
		out = append(out, RefRow{Gateway: k.gateway, Ref: slices.Clone(k.ref[:k.n])})
		return true
	})
	slices.SortFunc(out, func(x, y RefRow) int {
		if c := bytes.Compare(x.Gateway[:], y.Gateway[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.Ref, y.Ref)
	})
	return out
}

// Gateways gives the genesis gateways, ascending.
func (l *Ledger) Gateways() []msg.Account { return sortedKeys(l.gateways) }

// Totals gives the counters row.
func (l *Ledger) Totals() TotalsRow {
	return TotalsRow{Genesis: l.genesis, Deposits: l.deposits, Withdrawals: l.withdrawals, Pot: l.pot}
}
