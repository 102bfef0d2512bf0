package forum

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/internal/bucket"
	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// postSet holds the posts of one forum version. Posts are only ever added, and ids are
// random, so a persistent hash map copied a path of trie nodes for nearly every post of
// an epoch. Here each epoch's posts go into a private list with its own hash index and
// Seal turns them into one sorted run; runs are immutable and shared by every later
// version, and the newest ones are merged while the older is at most twice the newer,
// so there are O(log posts) runs and each post is copied O(log posts) times over the
// whole log.
type postSet struct {
	runs []postRun // oldest (largest) first; the outer slice is replaced, never written
	// fresh lists the posts added since the last seal, in order of addition; index is
	// an open-addressing table over it (a Go map hashed and compared the 32-byte ids
	// of every post twice, and allocated its groups anew each epoch). Both are
	// private to this version.
	fresh []*Post
	index []freshSlot
	seed  maphash.Seed // the index's hash key, chosen when the index is made
	n     int
	// hint sizes the fresh list, its index and the slab: epochs of one network carry
	// similar numbers of posts, so the last sealed epoch's count spares them their
	// growth steps and the slab its unused tail.
	hint int

	// slab hands out the memory of new posts in chunks: posts live as long as the
	// network, so one allocation per post is pure GC work. Private to this version.
	slab []postBlock
}

// freshSlot is one slot of the fresh index: pos is 1 + the post's position in fresh
// (0 marks an empty slot) and h the low half of the post's hash, compared before the
// ids.
type freshSlot struct {
	h   uint32
	pos int32
}

// postBlock is a post with room for one author, the common case, so that a post costs
// no allocation of its own beyond its share of a chunk.
type postBlock struct {
	post   Post
	author [1]Author
}

// slabMax caps the doubling chunks; slabHintMax the chunks sized from the hint.
const slabMax, slabHintMax = 256, 4096

// postRun is an immutable run of posts by ascending id, with a bucket index on the
// leading bits of the id: ids are hashes, so a bucket holds a handful of posts and a
// lookup costs one index read and a short binary search (skewed ids only make buckets
// larger, never a lookup wrong).
type postRun struct {
	// keys[i] is the leading 64 bits of posts[i].ID: searches and merges compare keys
	// read contiguously, and follow a pointer into a post only on a tie (ids are
	// hashes, so in practice never).
	keys  []uint64
	posts []*Post
	idx   []uint32 // idx[b] is the first position whose bucket is ≥ b; len 2^bits + 1
	shift uint     // bucket of id = leading 64 bits >> shift
	// filter is a blocked Bloom filter of the keys, one to two bytes per post: every
	// new post is looked up in every run (duplicate ids have no effect) and is nearly
	// never there, and the filter answers that with one read where the search takes
	// two scattered ones. A false "maybe" only costs the search.
	filter []uint64
	fshift uint // word of key k = mix(k) >> fshift
}

// filterBits gives the word of the filter and the three bits within it for key k: 8
// to 16 bits per key, 3 of them in one word, give about 5 % false "maybe" or less. A
// multiplicative mix, so that keys sharing leading bits spread too.
func filterBits(k uint64, fshift uint) (word uint64, mask uint64) {
	h := k * 0x9e3779b97f4a7c15
	return h >> fshift, 1<<(h>>8&63) | 1<<(h>>14&63) | 1<<(h>>20&63)
}

func keyOf(id msg.ID) uint64 { return binary.BigEndian.Uint64(id[:8]) }

// compareAt orders the post at i of r against id with key k = keyOf(id), as
// bytes.Compare orders the ids.
func (r *postRun) compareAt(i int, k uint64, id msg.ID) int {
	if r.keys[i] != k {
		if r.keys[i] < k {
			return -1
		}
		return 1
	}
	return pmap.Compare32(r.posts[i].ID, id)
}

// less reports whether the post at i of a comes before the post at j of b.
func less(a *postRun, i int, b *postRun, j int) bool {
	if a.keys[i] != b.keys[j] {
		return a.keys[i] < b.keys[j]
	}
	return pmap.Compare32(a.posts[i].ID, b.posts[j].ID) < 0
}

// newRun indexes posts, which are sorted by id, with their keys.
func newRun(keys []uint64, posts []*Post) postRun {
	b := 0
	if len(keys) > 4 {
		b = min(bits.Len(uint(len(keys)))-2, 16)
	}
	r := postRun{keys: keys, posts: posts, idx: make([]uint32, 1<<b+1), shift: uint(64 - b)}
	i := 0
	for j := range r.idx {
		for i < len(keys) && keys[i]>>r.shift < uint64(j) {
			i++
		}
		r.idx[j] = uint32(i)
	}
	fb := max(bits.Len(uint(len(keys)/8)), 1)
	r.filter, r.fshift = make([]uint64, 1<<fb), uint(64-fb)
	for _, k := range keys {
		w, m := filterBits(k, r.fshift)
		r.filter[w] |= m
	}
	return r
}

func (r *postRun) get(id msg.ID) (*Post, bool) {
	k := keyOf(id)
	if w, m := filterBits(k, r.fshift); r.filter[w]&m != m {
		return nil, false
	}
	j := k >> r.shift
	lo, hi := int(r.idx[j]), int(r.idx[j+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := r.compareAt(m, k, id); {
		case c == 0:
			return r.posts[m], true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return nil, false
}

func (s *postSet) get(id msg.ID) (*Post, bool) {
	if len(s.fresh) > 0 {
		if i := s.freshSlot(id, s.hash(id)); s.index[i].pos != 0 {
			return s.fresh[s.index[i].pos-1], true
		}
	}
	// Newest runs first: they are the smallest, and recent posts are cited most.
	for i := len(s.runs) - 1; i >= 0; i-- {
		if p, ok := s.runs[i].get(id); ok {
			return p, true
		}
	}
	return nil, false
}

// freshSlot gives the slot of the fresh index holding id, or the empty slot where it
// would go; the index must have an empty slot. h is s.hash(id).
func (s *postSet) freshSlot(id msg.ID, h uint64) int {
	mask := len(s.index) - 1
	for i := int(h & uint64(mask)); ; i = (i + 1) & mask {
		e := s.index[i]
		if e.pos == 0 || e.h == uint32(h) && s.fresh[e.pos-1].ID == id {
			return i
		}
	}
}

// alloc gives memory for a new post, from this version's chunk. A new chunk holds what
// the hint says is left of this epoch's posts, so that little of the last one is left
// unused: posts never die, and neither does the unused tail of their chunk.
func (s *postSet) alloc() *postBlock {
	if len(s.slab) == cap(s.slab) {
		// Past the hint, chunks grow with the posts beyond it, so an epoch a few
		// posts over its hint does not leave a large chunk mostly unused.
		n := min(max(len(s.fresh)-s.hint, 8), slabMax)
		if left := s.hint - len(s.fresh); left > 0 {
			n = min(left, slabHintMax)
		}
		s.slab = make([]postBlock, 0, n)
	}
	s.slab = s.slab[:len(s.slab)+1]
	return &s.slab[len(s.slab)-1]
}

// add records a post whose id is not in the set.
func (s *postSet) add(p *Post) {
	if 3*(len(s.fresh)+1) > 2*len(s.index) {
		s.grow()
	}
	h := s.hash(p.ID)
	if s.fresh == nil {
		s.fresh = make([]*Post, 0, max(s.hint, 8))
	}
	s.fresh = append(s.fresh, p)
	s.index[s.freshSlot(p.ID, h)] = freshSlot{h: uint32(h), pos: int32(len(s.fresh))}
	s.n++
}

// hash is the fresh index's hash of id, keyed by a seed of the index's own: authors
// choose their post ids, and with a fixed hash could grind them into one probe run.
// The seed changes no result, only where posts sit in the index.
func (s *postSet) hash(id msg.ID) uint64 { return maphash.Comparable(s.seed, id) }

// grow doubles the fresh index (or sizes it from the hint), keeping it at most two
// thirds full.
func (s *postSet) grow() {
	n := max(2*len(s.index), 16)
	for 2*n < 3*s.hint {
		n *= 2
	}
	if len(s.index) == 0 {
		s.seed = maphash.MakeSeed()
	}
	s.index = make([]freshSlot, n)
	for i, p := range s.fresh {
		h := s.hash(p.ID)
		s.index[s.freshSlot(p.ID, h)] = freshSlot{h: uint32(h), pos: int32(i + 1)}
	}
}

// clone shares the runs; the fresh posts, if any, are copied.
func (s *postSet) clone() postSet {
	c := postSet{runs: s.runs, n: s.n, hint: s.hint}
	if len(s.fresh) > 0 {
		c.fresh, c.index, c.seed = slices.Clone(s.fresh), slices.Clone(s.index), s.seed
	}
	return c
}

// seal turns the fresh posts into a run and merges the newest runs while the older is
// at most twice the newer, in a new outer slice, so versions sharing the old one are
// unaffected.
func (s *postSet) seal() {
	if len(s.fresh) == 0 {
		return
	}
	top := postRun{}
	top.keys, top.posts = sortFresh(s.fresh)
	s.fresh, s.index, s.hint = nil, nil, len(top.posts)
	// Only the run that ends up on top is searched, so only it gets an index and a
	// filter; the runs merged into it on the way need neither.
	n := len(s.runs)
	for ; n >= 1 && len(s.runs[n-1].posts) <= 2*len(top.posts); n-- {
		top.keys, top.posts = merge(&s.runs[n-1], &top)
	}
	out := make([]postRun, n, n+1)
	copy(out, s.runs)
	s.runs = append(out, newRun(top.keys, top.posts))
}

// sortFresh gives the posts by ascending id with their keys, in new slices. Ids are
// hashes, so their leading bits spread evenly: a bucket sort (internal/bucket).
func sortFresh(fresh []*Post) ([]uint64, []*Post) {
	posts := bucket.Sort(fresh, func(p *Post) uint64 { return keyOf(p.ID) },
		func(x, y *Post) int { return pmap.Compare32(x.ID, y.ID) })
	keys := make([]uint64, len(posts))
	for i, p := range posts {
		keys[i] = keyOf(p.ID)
	}
	return keys, posts
}

// merge gives the ascending union of the disjoint runs a and b in new slices.
func merge(a, b *postRun) ([]uint64, []*Post) {
	n := len(a.keys) + len(b.keys)
	keys, posts := make([]uint64, n), make([]*Post, n)
	i, j := 0, 0
	for k := range keys {
		if j == len(b.keys) || i < len(a.keys) && less(a, i, b, j) {
			keys[k], posts[k] = a.keys[i], a.posts[i]
			i++
		} else {
			keys[k], posts[k] = b.keys[j], b.posts[j]
			j++
		}
	}
	return keys, posts
}

// sorted gives every post by ascending id; the slice may be shared, so callers only
// read it.
func (s *postSet) sorted() []*Post {
	if len(s.fresh) > 0 {
		c := s.clone()
		c.seal()
		s = &c
	}
	if len(s.runs) == 0 {
		return nil
	}
	r := s.runs[len(s.runs)-1]
	for i := len(s.runs) - 2; i >= 0; i-- {
		keys, posts := merge(&s.runs[i], &r)
		r = postRun{keys: keys, posts: posts}
	}
	return r.posts
}
