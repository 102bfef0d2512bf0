package forum

import (
	"encoding/binary"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// postSet holds the posts of one forum version. Posts are only ever added, and ids are
// random, so a persistent hash map copied a path of trie nodes for nearly every post of
// an epoch. Here each epoch's posts go into a private map and Seal turns them into one
// sorted run; runs are immutable and shared by every later version, and the newest
// ones are merged while the older is at most twice the newer, so there are
// O(log posts) runs and each post is copied O(log posts) times over the whole log.
type postSet struct {
	runs  []postRun // oldest (largest) first; the outer slice is replaced, never written
	fresh map[msg.ID]*Post
	n     int
	// hint sizes the fresh map: epochs of one network carry similar numbers of posts,
	// so the last sealed epoch's count spares the map its growth steps.
	hint int

	// slab hands out the memory of new posts in chunks: posts live as long as the
	// network, so one allocation per post is pure GC work. Private to this version.
	slab []postBlock
}

// postBlock is a post with room for one author, the common case, so that a post costs
// no allocation of its own beyond its share of a chunk.
type postBlock struct {
	post   Post
	author [1]Author
}

const slabMax = 256

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
	return r
}

func (r *postRun) get(id msg.ID) (*Post, bool) {
	k := keyOf(id)
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
	if p, ok := s.fresh[id]; ok {
		return p, true
	}
	// Newest runs first: they are the smallest, and recent posts are cited most.
	for i := len(s.runs) - 1; i >= 0; i-- {
		if p, ok := s.runs[i].get(id); ok {
			return p, true
		}
	}
	return nil, false
}

// alloc gives memory for a new post, from this version's chunk.
func (s *postSet) alloc() *postBlock {
	if len(s.slab) == cap(s.slab) {
		s.slab = make([]postBlock, 0, min(max(2*cap(s.slab), 8), slabMax))
	}
	s.slab = s.slab[:len(s.slab)+1]
	return &s.slab[len(s.slab)-1]
}

// add records a post whose id is not in the set.
func (s *postSet) add(p *Post) {
	if s.fresh == nil {
		s.fresh = make(map[msg.ID]*Post, s.hint)
	}
	s.fresh[p.ID] = p
	s.n++
}

// clone shares the runs; the fresh posts, if any, are copied.
func (s *postSet) clone() postSet {
	c := postSet{runs: s.runs, n: s.n, hint: s.hint}
	if len(s.fresh) > 0 {
		c.fresh = make(map[msg.ID]*Post, len(s.fresh))
		for id, p := range s.fresh {
			c.fresh[id] = p
		}
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
	add := make([]*Post, 0, len(s.fresh))
	for _, p := range s.fresh {
		add = append(add, p)
	}
	s.fresh, s.hint = nil, len(add)
	slices.SortFunc(add, func(x, y *Post) int { return pmap.Compare32(x.ID, y.ID) })
	keys := make([]uint64, len(add))
	for i, p := range add {
		keys[i] = keyOf(p.ID)
	}
	out := make([]postRun, len(s.runs), len(s.runs)+1)
	copy(out, s.runs)
	out = append(out, newRun(keys, add))
	for n := len(out); n >= 2 && len(out[n-2].posts) <= 2*len(out[n-1].posts); n = len(out) {
		out[n-2] = newRun(merge(&out[n-2], &out[n-1]))
		out = out[:n-1]
	}
	s.runs = out
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
