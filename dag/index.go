package dag

import (
	"hash/maphash"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/msg"
)

// index finds a stored message's node by id. It is built for the access pattern
// of a dag: every new message is looked up once to rule out a duplicate, and then
// its prev and parents, which are nearly always recent. A Go map of 100,000 ids
// made each of those lookups a cache and TLB miss into megabytes of table (about a
// tenth of a rebuild's time), and a single open-addressing table did no better.
//
// So the index is two tables. New ids go into a small one that stays in cache,
// where the recent ids a child names are found. When it fills, its entries move
// into the large table in the order of their slots there, which writes the large
// table front to back instead of at random. An id that is in neither (every new
// message) is told apart by a Bloom filter over the large table, one word of a
// filter an eighth of the table's size, so the large table is only read for old ids.
//
// Both tables are open addressing with linear probing, at most half full, and
// delete by shifting the rest of the probe run back, so they never hold
// tombstones. A slot is 8 bytes, 32 bits of the id's hash and the node's position
// (1-based; 0 is an empty slot); the id itself is compared on the node. The hash is
// keyed by a seed of the index's own: authors can grind message ids, and with a
// fixed hash could pile them into one probe run. The seed decides where an id
// sits, never what is found.
type index struct {
	recent, large table
	bloom         []uint64 // over every id ever moved to large; removals leave their bits
	nodes         []*Node  // by position; nil for a free one
	free          []uint32 // free positions
	seed          maphash.Seed
	seeded        bool
}

// recentMax is how many entries the recent table takes before they move: 8,192
// slots of it fill 128 KiB, and a child's prev and parents (the last epoch or two,
// on a live network) are nearly always among them.
const recentMax = 8192

type table struct {
	slots []uint64
	shift uint // a hash's home slot is hash >> shift
	n     int
}

func (x *index) hash(id *msg.ID) uint32 {
	if !x.seeded {
		x.seed, x.seeded = maphash.MakeSeed(), true
	}
	return uint32(maphash.Comparable(x.seed, *id) >> 32)
}

// get gives the node stored under id, or nil.
func (x *index) get(id *msg.ID) *Node {
	h := x.hash(id)
	if n := x.find(&x.recent, h, id); n != nil {
		return n
	}
	if x.large.n == 0 || !x.mayHold(h) {
		return nil
	}
	return x.find(&x.large, h, id)
}

func (x *index) find(t *table, h uint32, id *msg.ID) *Node {
	if t.n == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := int(h >> t.shift); ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return nil
		}
		if uint32(s>>32) == h {
			if n := x.nodes[uint32(s)-1]; n.id == *id {
				return n
			}
		}
	}
}

// put stores n, whose id the index does not hold.
func (x *index) put(n *Node) {
	var pos uint32
	if k := len(x.free); k > 0 {
		pos = x.free[k-1]
		x.free = x.free[:k-1]
		x.nodes[pos] = n
	} else {
		pos = uint32(len(x.nodes))
		x.nodes = append(x.nodes, n)
	}
	if x.recent.n >= recentMax {
		x.flush()
	}
	x.recent.grow(x.recent.n + 1)
	x.recent.place(uint64(x.hash(&n.id))<<32 | uint64(pos+1))
	x.recent.n++
}

// flush moves the recent entries into the large table, in the order of their home
// slots there.
func (x *index) flush() {
	moving := make([]uint64, 0, x.recent.n)
	for _, s := range x.recent.slots {
		if s != 0 {
			moving = append(moving, s)
		}
	}
	x.large.grow(x.large.n + len(moving))
	x.growBloom()
	// A slot's top 32 bits are its hash, so sorting slots sorts by home slot.
	slices.Sort(moving)
	for _, s := range moving {
		x.large.place(s)
		x.setBloom(uint32(s >> 32))
	}
	x.large.n += len(moving)
	clear(x.recent.slots)
	x.recent.n = 0
}

// remove forgets id, if stored.
func (x *index) remove(id *msg.ID) {
	h := x.hash(id)
	for _, t := range []*table{&x.recent, &x.large} {
		if pos, ok := x.removeFrom(t, h, id); ok {
			x.nodes[pos] = nil
			x.free = append(x.free, pos)
			return
		}
	}
}

func (x *index) removeFrom(t *table, h uint32, id *msg.ID) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	mask := len(t.slots) - 1
	i := int(h >> t.shift)
	var pos uint32
	for ; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false
		}
		if pos = uint32(s) - 1; uint32(s>>32) == h && x.nodes[pos].id == *id {
			break
		}
	}
	// Shift the rest of the run back over the hole, each entry as far as its home
	// slot allows, so that every entry stays reachable from its home.
	for j := (i + 1) & mask; t.slots[j] != 0; j = (j + 1) & mask {
		home := int(uint32(t.slots[j]>>32) >> t.shift)
		// The entry at j may move to the hole at i unless its home lies cyclically
		// in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = 0
	t.n--
	return pos, true
}

// place puts a slot's content in the first empty slot of its probe run.
func (t *table) place(s uint64) {
	mask := len(t.slots) - 1
	i := int(uint32(s>>32) >> t.shift)
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// grow makes room for n entries at most half full. Slots keep 32 bits of hash, so
// they move without reading an id.
func (t *table) grow(n int) {
	size := max(16, 1<<bits.Len(uint(2*n-1)))
	if size <= len(t.slots) {
		return
	}
	old := t.slots
	t.slots = make([]uint64, size)
	t.shift = uint(32 - bits.TrailingZeros(uint(size)))
	for _, s := range old {
		if s != 0 {
			t.place(s)
		}
	}
}

// The Bloom filter has 8 bits per large slot (16 per entry at least), each id
// setting bloomK bits of one 64-bit word.
const bloomK = 4

// growBloom sizes the filter for the large table, rebuilding it from the large
// table's hashes when the table has grown.
func (x *index) growBloom() {
	words := len(x.large.slots) / 8
	if words <= len(x.bloom) {
		return
	}
	x.bloom = make([]uint64, words)
	for _, s := range x.large.slots {
		if s != 0 {
			x.setBloom(uint32(s >> 32))
		}
	}
}

// bloomWord gives the word and the bloomK bits of a hash, all in one word so that
// a check reads one cache line: the word from one multiplicative remix of the
// hash, the bits from others.
func (x *index) bloomWord(h uint32) (w int, mask uint64) {
	w = int((uint64(h) * 0x9e3779b1 >> 32) & uint64(len(x.bloom)-1))
	for k := range uint32(bloomK) {
		mask |= 1 << ((h * (2*k + 0x85ebca6b)) >> 26)
	}
	return w, mask
}

func (x *index) setBloom(h uint32) {
	w, m := x.bloomWord(h)
	x.bloom[w] |= m
}

func (x *index) mayHold(h uint32) bool {
	w, m := x.bloomWord(h)
	return x.bloom[w]&m == m
}

// reserve makes room for n more entries.
func (x *index) reserve(n int) {
	if n > 0 {
		x.large.grow(x.large.n + x.recent.n + n)
		x.growBloom()
		x.nodes = slices.Grow(x.nodes, n)
	}
}
