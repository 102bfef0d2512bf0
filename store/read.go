package store

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/guild-net/guild/msg"
)

// Fixed offsets of the fields inside index keys (see keys.go).
const (
	offAuthorID = len(pAuthor) + 64 + 1 + 16 + 1
	offForkSeq  = len(pFork) + 64 + 1
	offForkA    = offForkSeq + 16 + 1
	offForkB    = offForkA + 64 + 1
	offRecvN    = len(pRecv) + 16 + 1
)

// ovItem is a pending entry to merge into an engine scan, under the key the
// committed entry will have.
type ovItem struct {
	key string
	p   *pendRec
	f   Fork
}

func sortItems(items []ovItem) {
	slices.SortFunc(items, func(a, b ovItem) int { return strings.Compare(a.key, b.key) })
}

// merged walks the engine's keys in [lower, upper) under prefix together with
// pend (sorted, all inside the range), in key order. For an engine entry fn
// gets (key, val, nil); for a pending one (nil, nil, item). An entry present
// in both (committed after pend was taken) is reported once, from the engine.
//
// Correctness relies on the order of events: pend is taken before the engine
// scan starts, and records leave the pending set only after their commit, so
// anything committed and retired before pend was taken is already visible to
// the scan.
func (s *Store) merged(prefix, lower, upper string, pend []ovItem, fn func(key, val []byte, it *ovItem) (bool, error)) error {
	i := 0
	stopped := false
	err := s.kv.scan(prefix, lower, upper, false, func(k, v []byte) (bool, error) {
		for i < len(pend) && pend[i].key < string(k) {
			more, err := fn(nil, nil, &pend[i])
			i++
			if err != nil || !more {
				stopped = true
				return false, err
			}
		}
		if i < len(pend) && pend[i].key == string(k) {
			i++
		}
		more, err := fn(k, v, nil)
		if !more {
			stopped = true
		}
		return more, err
	})
	if err != nil || stopped {
		return err
	}
	for ; i < len(pend); i++ {
		more, err := fn(nil, nil, &pend[i])
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// viaIndex adapts fn for merged over an index whose entries name a record by its
// insertion number, which num reads from the entry's key or value.
func (s *Store) viaIndex(fn func(Record) bool, num func(k, v []byte) (uint64, error)) func(k, v []byte, it *ovItem) (bool, error) {
	return func(k, v []byte, it *ovItem) (bool, error) {
		if it != nil {
			return fn(copyRecord(it.p.rec)), nil
		}
		n, err := num(k, v)
		if err != nil {
			return false, err
		}
		r, err := s.recordAt(n)
		if err != nil {
			return false, err
		}
		return fn(r), nil
	}
}

func copyRecord(r Record) Record {
	r.Envelope = bytes.Clone(r.Envelope)
	return r
}

// Get returns the record with id.
func (s *Store) Get(id msg.ID) (Record, bool, error) {
	if !s.enter() {
		return Record{}, false, ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	p, ok := s.pendByID[id]
	s.mu.Unlock()
	if ok {
		return copyRecord(p.rec), true, nil
	}
	v, ok, err := s.kv.get(idKey(id))
	if err != nil || !ok {
		return Record{}, false, err
	}
	n, err := parseU64(v)
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", id.Short(), err)
	}
	r, err := s.recordAt(n)
	if err != nil {
		return Record{}, false, fmt.Errorf("get %s: %w", id.Short(), err)
	}
	return r, true, nil
}

// recordAt loads the committed record with insertion number n.
func (s *Store) recordAt(n uint64) (Record, error) {
	v, ok, err := s.kv.get(recordKey(n))
	if err != nil {
		return Record{}, err
	}
	if !ok {
		return Record{}, fmt.Errorf("%w: index points at missing record %d", ErrCorrupt, n)
	}
	// v is the engine's copy, made for this call: the record may keep it.
	return parseRecord(v)
}

// Has reports whether a message with id is stored.
func (s *Store) Has(id msg.ID) (bool, error) {
	if !s.enter() {
		return false, ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	_, ok := s.pendByID[id]
	s.mu.Unlock()
	if ok {
		return true, nil
	}
	return s.kv.has(idKey(id))
}

// ByAuthorSeq returns the ids stored at (author, seq), ascending. More than
// one id is a fork.
func (s *Store) ByAuthorSeq(author msg.Account, seq uint64) ([]msg.ID, error) {
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.exit()
	return s.idsAt(author, seq)
}

func (s *Store) idsAt(author msg.Account, seq uint64) ([]msg.ID, error) {
	var pend []ovItem
	s.mu.Lock()
	for _, p := range s.pendByAuthor[author] {
		if p.rec.Seq == seq {
			pend = append(pend, ovItem{key: authorKey(author, seq, p.rec.ID), p: p})
		}
	}
	s.mu.Unlock()
	sortItems(pend)
	var ids []msg.ID
	prefix := authorSeqPrefix(author, seq)
	err := s.merged(prefix, "", "", pend, func(k, _ []byte, it *ovItem) (bool, error) {
		if it != nil {
			ids = append(ids, it.p.rec.ID)
			return true, nil
		}
		var id msg.ID
		if err := hexField(k, offAuthorID, id[:]); err != nil {
			return false, err
		}
		ids = append(ids, id)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("by author seq %s/%d: %w", author.Hex()[:8], seq, err)
	}
	return ids, nil
}

// Range calls fn for every record of author with fromSeq ≤ seq ≤ toSeq, in
// (seq, id) order, until fn returns false. fn may call other read methods.
func (s *Store) Range(author msg.Account, fromSeq, toSeq uint64, fn func(Record) bool) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	if fromSeq > toSeq {
		return nil
	}
	var pend []ovItem
	s.mu.Lock()
	for _, p := range s.pendByAuthor[author] {
		if p.rec.Seq >= fromSeq && p.rec.Seq <= toSeq {
			pend = append(pend, ovItem{key: authorKey(author, p.rec.Seq, p.rec.ID), p: p})
		}
	}
	s.mu.Unlock()
	sortItems(pend)
	prefix := authorPrefix(author)
	lower := string(appendU64([]byte(prefix), fromSeq))
	upper := ""
	if toSeq != math.MaxUint64 {
		upper = string(appendU64([]byte(prefix), toSeq+1))
	}
	err := s.merged(prefix, lower, upper, pend, s.viaIndex(fn, func(_, v []byte) (uint64, error) { return parseU64(v) }))
	if err != nil {
		return fmt.Errorf("range %s [%d, %d]: %w", author.Hex()[:8], fromSeq, toSeq, err)
	}
	return nil
}

// All calls fn for every stored message in insertion order (the order of the
// Put calls that first stored them) until fn returns false. A caller that
// stores a message only after its ancestors gets parents before children.
//
// The envelopes of one call are copied side by side into shared buffers of
// slabSize bytes, so keeping one envelope keeps its whole buffer alive: 100,000
// envelopes cost some 650 allocations instead of 100,000. A caller that keeps
// only some envelopes should copy those; one that keeps none should use Scan.
func (s *Store) All(fn func(Record) bool) error {
	var sl slab
	return s.Scan(func(r Record) bool {
		r.Envelope = sl.copy(r.Envelope)
		return fn(r)
	})
}

// Scan is All without the copy: r.Envelope is only valid until fn returns, and
// fn must not modify it. It is for a rebuild, which decodes each envelope into
// values of its own (msg.StoredDecoder) and keeps none of the bytes: the store
// holds them, and a copy in memory would double what a node holds per message.
func (s *Store) Scan(fn func(Record) bool) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	pend := make([]ovItem, len(s.pendList))
	for i, p := range s.pendList {
		pend[i] = ovItem{key: recordKey(p.n), p: p}
	}
	s.mu.Unlock()
	err := s.merged(pRecord, "", "", pend, func(_, v []byte, it *ovItem) (bool, error) {
		if it != nil {
			return fn(it.p.rec), nil
		}
		r, err := parseRecord(v)
		if err != nil {
			return false, err
		}
		return fn(r), nil
	})
	if err != nil {
		return fmt.Errorf("scan all: %w", err)
	}
	return nil
}

// slabSize is the size of the buffers All copies envelopes into: a whole number
// of the runtime's 8 KiB pages, which is what an allocation this large takes. An
// envelope above slabSize/16 (4 KiB, some ten times a typical one) gets its own
// allocation, so that none wastes more than a sixteenth of a buffer's tail.
const slabSize = 64 << 10

// slab copies byte strings side by side into shared buffers.
type slab struct{ buf []byte }

func (s *slab) copy(v []byte) []byte {
	if len(v) > slabSize/16 {
		return bytes.Clone(v)
	}
	if cap(s.buf)-len(s.buf) < len(v) {
		s.buf = make([]byte, 0, slabSize)
	}
	n := len(s.buf)
	s.buf = append(s.buf, v...)
	// Capped, so that an append to one envelope cannot write over the next.
	return s.buf[n:len(s.buf):len(s.buf)]
}

// Received calls fn for every record with fromMs ≤ RecvMs ≤ toMs, in
// (RecvMs, insertion) order, until fn returns false.
func (s *Store) Received(fromMs, toMs int64, fn func(Record) bool) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	if fromMs > toMs {
		return nil
	}
	var pend []ovItem
	s.mu.Lock()
	for _, p := range s.pendList {
		if p.rec.RecvMs >= fromMs && p.rec.RecvMs <= toMs {
			pend = append(pend, ovItem{key: recvIndexKey(p.rec.RecvMs, p.n), p: p})
		}
	}
	s.mu.Unlock()
	sortItems(pend)
	lower := recvIndexKey(fromMs, 0)
	upper := ""
	if toMs != math.MaxInt64 {
		upper = recvIndexKey(toMs+1, 0)
	}
	err := s.merged(pRecv, lower, upper, pend, s.viaIndex(fn, func(k, _ []byte) (uint64, error) { return hexU64(k, offRecvN) }))
	if err != nil {
		return fmt.Errorf("received [%d, %d]: %w", fromMs, toMs, err)
	}
	return nil
}

// Forks calls fn for every piece of fork evidence in (author, seq, A, B)
// order until fn returns false. Evidence is recorded when the second message
// of a pair is stored; it is only what this store has seen.
func (s *Store) Forks(fn func(Fork) bool) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	var pend []ovItem
	s.mu.Lock()
	for _, p := range s.pendList {
		for _, f := range p.forks {
			pend = append(pend, ovItem{key: forkKey(f), f: f})
		}
	}
	s.mu.Unlock()
	sortItems(pend)
	err := s.merged(pFork, "", "", pend, func(k, _ []byte, it *ovItem) (bool, error) {
		if it != nil {
			return fn(it.f), nil
		}
		var f Fork
		if err := hexField(k, len(pFork), f.Author[:]); err != nil {
			return false, err
		}
		seq, err := hexU64(k, offForkSeq)
		if err != nil {
			return false, err
		}
		f.Seq = seq
		if err := hexField(k, offForkA, f.A[:]); err != nil {
			return false, err
		}
		if err := hexField(k, offForkB, f.B[:]); err != nil {
			return false, err
		}
		return fn(f), nil
	})
	if err != nil {
		return fmt.Errorf("forks: %w", err)
	}
	return nil
}

// Heads returns the highest stored seq of every author, sorted by author.
func (s *Store) Heads() ([]Head, error) {
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	hs := make([]Head, 0, len(s.heads))
	for a, seq := range s.heads {
		hs = append(hs, Head{Author: a, Seq: seq})
	}
	s.mu.Unlock()
	slices.SortFunc(hs, func(x, y Head) int { return bytes.Compare(x.Author[:], y.Author[:]) })
	return hs, nil
}

// AuthorHead returns author's highest stored seq and the ids stored at it
// (several if the author forked there); ok is false for an unknown author.
func (s *Store) AuthorHead(author msg.Account) (seq uint64, ids []msg.ID, ok bool, err error) {
	if !s.enter() {
		return 0, nil, false, ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	seq, ok = s.heads[author]
	s.mu.Unlock()
	if !ok {
		return 0, nil, false, nil
	}
	ids, err = s.idsAt(author, seq)
	if err != nil {
		return 0, nil, false, err
	}
	return seq, ids, true, nil
}
