package credits

import (
	"maps"
	"slices"
	"sync/atomic"

	"github.com/guild-net/guild/msg"
)

// balances maps accounts to non-zero µcredits. The salary pays most accounts every
// live epoch, so a per-epoch clone must copy every balance, but accounts rarely come
// or go: the values sit in a dense slice that Clone copies (8 bytes an account), and
// the map numbering the accounts is shared by clones until one of them changes
// membership. Slots of accounts that left stay zero until enough of them pile up for
// a renumbering.
type balances struct {
	pos    map[msg.Account]int32
	keys   []msg.Account // keys[i] is the account of slot i, live or not
	vals   []uint64      // zero for a dead slot
	shared atomic.Bool   // pos and keys are shared with another version
}

func newBalances() *balances { return &balances{pos: map[msg.Account]int32{}} }

func (b *balances) clone() *balances {
	if !b.shared.Load() {
		b.shared.Store(true)
	}
	c := &balances{pos: b.pos, keys: b.keys, vals: slices.Clone(b.vals)}
	c.shared.Store(true)
	return c
}

func (b *balances) get(a msg.Account) uint64 {
	if i, ok := b.pos[a]; ok {
		return b.vals[i]
	}
	return 0
}

func (b *balances) len() int { return len(b.pos) }

// set stores a's balance, dropping a zero one.
func (b *balances) set(a msg.Account, v uint64) {
	i, ok := b.pos[a]
	switch {
	case ok && v != 0:
		b.vals[i] = v
	case ok:
		b.own()
		delete(b.pos, a)
		b.vals[i] = 0
	case v != 0:
		b.insert(a, v)
	}
}

func (b *balances) own() {
	if b.shared.Load() {
		b.pos, b.keys = maps.Clone(b.pos), slices.Clone(b.keys)
		b.shared.Store(false)
	}
}

func (b *balances) insert(a msg.Account, v uint64) {
	if len(b.keys) >= 2*len(b.pos)+16 {
		// More dead slots than live ones: renumber the live accounts.
		pos := make(map[msg.Account]int32, len(b.pos)+1)
		keys := make([]msg.Account, 0, len(b.pos)+1)
		vals := make([]uint64, 0, len(b.pos)+1)
		for i, k := range b.keys {
			if j, ok := b.pos[k]; ok && j == int32(i) {
				pos[k] = int32(len(keys))
				keys = append(keys, k)
				vals = append(vals, b.vals[i])
			}
		}
		b.pos, b.keys, b.vals = pos, keys, vals
		b.shared.Store(false)
	} else {
		b.own()
	}
	b.pos[a] = int32(len(b.keys))
	b.keys = append(b.keys, a)
	b.vals = append(b.vals, v)
}

// each calls f for every account with a non-zero balance, in no fixed order.
func (b *balances) each(f func(msg.Account, uint64)) {
	for i, v := range b.vals {
		if v != 0 {
			f(b.keys[i], v)
		}
	}
}
