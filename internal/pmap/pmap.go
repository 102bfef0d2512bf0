package pmap

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// token marks the nodes one map version may change in place. It must not be zero-sized:
// distinct zero-sized allocations may share an address.
type token struct{ _ byte }

type entry[K comparable, V any] struct {
	key K
	val V
}

// node is a trie node. Slot i (0..31) of a node at level shift holds the keys whose
// hash bits [shift, shift+5) equal i: an entry when dataMap has bit i, a child when
// nodeMap has it, nothing otherwise. Below the last level (shift ≥ 64) a node is a
// collision bucket: entries only, in insertion order, hashes all equal.
type node[K comparable, V any] struct {
	edit    *token
	dataMap uint32
	nodeMap uint32
	entries []entry[K, V]
	kids    []*node[K, V]
}

// Map is a persistent hash map from K to V. The zero value is not ready: use New.
// Clone is O(1); after it, writes to either map copy only the trie nodes on their path
// that the other one still shares, so a clone costs O(changes made to it).
//
// Maps are not safe for concurrent writes. Reads (Get, Len, Range) and Clone of a map
// that is not being written are safe from any number of goroutines. A Map holds an
// atomic field, so copy it only with Clone.
type Map[K comparable, V any] struct {
	root *node[K, V]
	n    int
	hash func(K) uint64
	// edit owns the nodes this map may change in place; nil when it owns none (after
	// Clone, or before the first write). Clone clears it atomically, so that cloning a
	// published version from several goroutines at once is not a race.
	edit atomic.Pointer[token]
}

// New gives an empty map. hash must be deterministic; a good spread over its 64 bits
// keeps the trie shallow (keys that are already uniform hashes can use 8 of their bytes).
func New[K comparable, V any](hash func(K) uint64) Map[K, V] {
	return Map[K, V]{hash: hash}
}

// Len gives the number of keys.
func (m *Map[K, V]) Len() int { return m.n }

// Clone gives a map with the same contents that shares m's nodes; writes to either
// leave the other unchanged.
func (m *Map[K, V]) Clone() Map[K, V] {
	if m.edit.Load() != nil {
		m.edit.Store(nil) // m's nodes are shared from now on
	}
	return Map[K, V]{root: m.root, n: m.n, hash: m.hash}
}

// Get gives the value of k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	n := m.root
	if n == nil {
		var zero V
		return zero, false
	}
	h := m.hash(k)
	for shift := uint(0); shift < 64; shift += 5 {
		bit := uint32(1) << ((h >> shift) & 31)
		switch {
		case n.dataMap&bit != 0:
			e := &n.entries[index(n.dataMap, bit)]
			if e.key == k {
				return e.val, true
			}
			var zero V
			return zero, false
		case n.nodeMap&bit != 0:
			n = n.kids[index(n.nodeMap, bit)]
		default:
			var zero V
			return zero, false
		}
	}
	for i := range n.entries {
		if n.entries[i].key == k {
			return n.entries[i].val, true
		}
	}
	var zero V
	return zero, false
}

// Set maps k to v.
func (m *Map[K, V]) Set(k K, v V) {
	edit := m.writer()
	if m.root == nil {
		m.root = &node[K, V]{edit: edit}
	}
	var added bool
	m.root, added = m.set(edit, m.root, k, v, m.hash(k), 0)
	if added {
		m.n++
	}
}

// Delete removes k, if present.
func (m *Map[K, V]) Delete(k K) {
	if m.root == nil {
		return
	}
	var removed bool
	m.root, removed = m.del(m.writer(), m.root, k, m.hash(k), 0)
	if removed {
		m.n--
	}
}

// Range calls f for every key and value, in an order fixed by the hashes, until f
// returns false.
func (m *Map[K, V]) Range(f func(K, V) bool) {
	if m.root != nil {
		m.root.each(f)
	}
}

func (n *node[K, V]) each(f func(K, V) bool) bool {
	for i := range n.entries {
		if !f(n.entries[i].key, n.entries[i].val) {
			return false
		}
	}
	for _, c := range n.kids {
		if !c.each(f) {
			return false
		}
	}
	return true
}

func index(bitmap, bit uint32) int { return bits.OnesCount32(bitmap & (bit - 1)) }

// writer gives this version's token, making one on its first write since a Clone.
func (m *Map[K, V]) writer() *token {
	t := m.edit.Load()
	if t == nil {
		t = &token{}
		m.edit.Store(t)
	}
	return t
}

// own gives n itself when the writer edit may change it in place, else a copy it may.
func own[K comparable, V any](edit *token, n *node[K, V]) *node[K, V] {
	if n.edit == edit {
		return n
	}
	c := &node[K, V]{edit: edit, dataMap: n.dataMap, nodeMap: n.nodeMap}
	// One spare slot: the write that copies a node often adds to it.
	if len(n.entries) > 0 {
		c.entries = make([]entry[K, V], len(n.entries), len(n.entries)+1)
		copy(c.entries, n.entries)
	}
	if len(n.kids) > 0 {
		c.kids = make([]*node[K, V], len(n.kids), len(n.kids)+1)
		copy(c.kids, n.kids)
	}
	return c
}

func (m *Map[K, V]) set(edit *token, n *node[K, V], k K, v V, h uint64, shift uint) (*node[K, V], bool) {
	if shift >= 64 {
		for i := range n.entries {
			if n.entries[i].key == k {
				n = own(edit, n)
				n.entries[i].val = v
				return n, false
			}
		}
		n = own(edit, n)
		n.entries = append(n.entries, entry[K, V]{k, v})
		return n, true
	}
	bit := uint32(1) << ((h >> shift) & 31)
	switch {
	case n.dataMap&bit != 0:
		i := index(n.dataMap, bit)
		if n.entries[i].key == k {
			n = own(edit, n)
			n.entries[i].val = v
			return n, false
		}
		old := n.entries[i]
		child := pair(edit, old, m.hash(old.key), entry[K, V]{k, v}, h, shift+5)
		n = own(edit, n)
		n.entries = remove(n.entries, i)
		n.dataMap &^= bit
		n.nodeMap |= bit
		n.kids = insert(n.kids, index(n.nodeMap, bit), child)
		return n, true
	case n.nodeMap&bit != 0:
		j := index(n.nodeMap, bit)
		c, added := m.set(edit, n.kids[j], k, v, h, shift+5)
		if c != n.kids[j] {
			n = own(edit, n)
			n.kids[j] = c
		}
		return n, added
	}
	n = own(edit, n)
	n.dataMap |= bit
	n.entries = insert(n.entries, index(n.dataMap, bit), entry[K, V]{k, v})
	return n, true
}

// pair gives a new subtree at level shift holding two entries with distinct keys.
func pair[K comparable, V any](edit *token, a entry[K, V], ha uint64, b entry[K, V], hb uint64, shift uint) *node[K, V] {
	n := &node[K, V]{edit: edit}
	if shift >= 64 {
		n.entries = []entry[K, V]{a, b}
		return n
	}
	ba := uint32(1) << ((ha >> shift) & 31)
	bb := uint32(1) << ((hb >> shift) & 31)
	switch {
	case ba == bb:
		n.nodeMap = ba
		n.kids = []*node[K, V]{pair(edit, a, ha, b, hb, shift+5)}
	case ba < bb:
		n.dataMap = ba | bb
		n.entries = []entry[K, V]{a, b}
	default:
		n.dataMap = ba | bb
		n.entries = []entry[K, V]{b, a}
	}
	return n
}

func (m *Map[K, V]) del(edit *token, n *node[K, V], k K, h uint64, shift uint) (*node[K, V], bool) {
	if shift >= 64 {
		for i := range n.entries {
			if n.entries[i].key == k {
				n = own(edit, n)
				n.entries = remove(n.entries, i)
				return n, true
			}
		}
		return n, false
	}
	bit := uint32(1) << ((h >> shift) & 31)
	switch {
	case n.dataMap&bit != 0:
		i := index(n.dataMap, bit)
		if n.entries[i].key != k {
			return n, false
		}
		n = own(edit, n)
		n.entries = remove(n.entries, i)
		n.dataMap &^= bit
		return n, true
	case n.nodeMap&bit != 0:
		j := index(n.nodeMap, bit)
		c, removed := m.del(edit, n.kids[j], k, h, shift+5)
		if !removed {
			return n, false
		}
		n = own(edit, n)
		switch {
		case len(c.kids) == 0 && len(c.entries) == 0:
			n.kids = remove(n.kids, j)
			n.nodeMap &^= bit
		case len(c.kids) == 0 && len(c.entries) == 1:
			// A lone entry moves up, so the trie stays as shallow as its contents allow.
			n.kids = remove(n.kids, j)
			n.nodeMap &^= bit
			n.dataMap |= bit
			n.entries = insert(n.entries, index(n.dataMap, bit), c.entries[0])
		default:
			n.kids[j] = c
		}
		return n, true
	}
	return n, false
}

func insert[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// remove deletes s[i] in place; the slice must be owned by the caller.
func remove[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}

// Hash32 hashes a 32-byte key by folding its four words. Ids and accounts are already
// uniform hashes or keys, but tests name them with padded text, so every word counts.
func Hash32[T ~[32]byte](k T) uint64 {
	return binary.LittleEndian.Uint64(k[0:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[8:16]), 16) ^
		bits.RotateLeft64(binary.LittleEndian.Uint64(k[16:24]), 32) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k[24:32]), 48)
}

// Compare32 orders 32-byte keys exactly as bytes.Compare does, comparing whole words
// first: sorting ids and accounts is a hot path of every epoch.
func Compare32[T ~[32]byte](x, y T) int {
	xb, yb := [32]byte(x), [32]byte(y)
	for i := 0; i < 32; i += 8 {
		a, b := binary.BigEndian.Uint64(xb[i:i+8]), binary.BigEndian.Uint64(yb[i:i+8])
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}
