package dense

import (
	"iter"
	"maps"
	"slices"
	"sync/atomic"
)

// Map maps keys to values. Writes that touch nearly every key each epoch would copy a
// persistent map whole anyway, and cloning a Go map copies the keys too; a Map's
// clone copies only the values. A removed key leaves a dead slot holding the zero value
// until enough of them pile up for a renumbering, so slot indexes stay put while a
// caller walks the slots and removes keys. The zero Map is not ready: use New.
//
// Writes to a Map are not safe for concurrent use; reads and Clone of a Map that is
// not being written are. A Map holds an atomic field, so copy it only with Clone.
type Map[K comparable, V any] struct {
	pos  map[K]int32
	keys []K // keys[i] is the key of slot i, live or dead
	// dead has bit i%64 of word i/64 set when slot i is dead, so that walking the
	// slots needs no lookup in pos. It is part of the numbering: shared with it, and
	// copied with it.
	dead []uint64
	vals []V // the zero value in a dead slot
	// shared says pos and keys may be shared with another version, which must not see
	// this one's changes of membership: copy them before the first such change.
	shared atomic.Bool
}

// New gives an empty map.
func New[K comparable, V any]() *Map[K, V] {
	return &Map[K, V]{pos: make(map[K]int32)}
}

// Clone gives an independent copy: it copies the values and shares the numbering.
func (m *Map[K, V]) Clone() *Map[K, V] {
	if !m.shared.Load() {
		m.shared.Store(true) // m's numbering is shared from now on
	}
	c := &Map[K, V]{pos: m.pos, keys: m.keys, dead: m.dead, vals: slices.Clone(m.vals)}
	c.shared.Store(true)
	return c
}

// Len gives the number of keys.
func (m *Map[K, V]) Len() int { return len(m.pos) }

// Get gives the value of k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	if i, ok := m.pos[k]; ok {
		return m.vals[i], true
	}
	var zero V
	return zero, false
}

// Slot gives the slot of k.
func (m *Map[K, V]) Slot(k K) (int, bool) {
	i, ok := m.pos[k]
	return int(i), ok
}

// Slots gives the number of slots, live and dead: the range of At.
func (m *Map[K, V]) Slots() int { return len(m.vals) }

// At gives the key of slot i and its value, which the caller may change in place. A
// dead slot holds the zero value under the key that last had it.
func (m *Map[K, V]) At(i int) (K, *V) { return m.keys[i], &m.vals[i] }

// Live reports whether slot i holds a key of the map.
func (m *Map[K, V]) Live(i int) bool {
	_ = m.keys[i] // i must be a slot: dead has room past the last one
	return m.dead[i/64]&(1<<(i%64)) == 0
}

// All yields every key and its value, in no fixed order: for callers whose result does
// not depend on the order (sums, sets). (It walks the slots, skipping dead ones.)
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i, k := range m.keys {
			if m.dead[i/64]&(1<<(i%64)) == 0 && !yield(k, m.vals[i]) {
				return
			}
		}
	}
}

// Keys yields every key, in no fixed order.
func (m *Map[K, V]) Keys() iter.Seq[K] { return maps.Keys(m.pos) }

// Put sets the value of k, adding k if it is new.
func (m *Map[K, V]) Put(k K, v V) {
	if i, ok := m.pos[k]; ok {
		m.vals[i] = v
		return
	}
	if len(m.keys) >= 2*len(m.pos)+16 {
		m.renumber()
	} else {
		m.own()
	}
	m.pos[k] = int32(len(m.keys))
	if len(m.keys)%64 == 0 {
		m.dead = append(m.dead, 0)
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

// Delete removes k. Its slot stays, dead, so that the slots of other keys do not move.
func (m *Map[K, V]) Delete(k K) {
	i, ok := m.pos[k]
	if !ok {
		return
	}
	m.own()
	delete(m.pos, k)
	m.dead[i/64] |= 1 << (i % 64)
	var zero V
	m.vals[i] = zero
}

func (m *Map[K, V]) own() {
	if m.shared.Load() {
		m.pos, m.keys, m.dead = maps.Clone(m.pos), slices.Clone(m.keys), slices.Clone(m.dead)
		m.shared.Store(false)
	}
}

// renumber drops the dead slots: there are more of them than live ones.
func (m *Map[K, V]) renumber() {
	pos := make(map[K]int32, len(m.pos)+1)
	keys := make([]K, 0, len(m.pos)+1)
	vals := make([]V, 0, len(m.pos)+1)
	for i, k := range m.keys {
		if m.Live(i) {
			pos[k] = int32(len(keys))
			keys = append(keys, k)
			vals = append(vals, m.vals[i])
		}
	}
	m.pos, m.keys, m.vals = pos, keys, vals
	m.dead = make([]uint64, (len(keys)+63)/64)
	m.shared.Store(false)
}
