package forum

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

// TestPostSetVersions adds posts epoch by epoch, sealing and cloning as the state does
// and keeping every version, then checks that each version holds exactly its posts:
// lookups of present and absent ids, Len, and the ascending list. Half the ids share
// their leading bytes, as padded-text test ids do, so buckets are skewed and keys tie.
func TestPostSetVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var versions []*Forum
	var want [][]msg.ID
	var all []msg.ID
	f := New()
	for epoch := range 90 {
		n := rng.IntN(40)
		if epoch%7 == 0 {
			n = 0
		}
		for range n {
			var id msg.ID
			if rng.IntN(2) == 0 {
				binary.BigEndian.PutUint64(id[:], rng.Uint64())
				binary.BigEndian.PutUint64(id[8:], rng.Uint64())
			} else {
				copy(id[:], "post-")
				binary.BigEndian.PutUint64(id[24:], rng.Uint64())
			}
			f.posts.add(&Post{ID: id, Batch: uint64(epoch)})
			all = append(all, id)
			if epoch%5 == 0 && rng.IntN(4) == 0 {
				// An unsealed forum clones with its fresh posts.
				c := f.Clone()
				checkPosts(t, c, all)
			}
		}
		f.Seal()
		versions = append(versions, f)
		want = append(want, slices.Clone(all))
		f = f.Clone()
	}
	for i, v := range versions {
		checkPosts(t, v, want[i])
	}
}

func checkPosts(t *testing.T, f *Forum, ids []msg.ID) {
	t.Helper()
	if f.Len() != len(ids) {
		t.Fatalf("Len %d, want %d", f.Len(), len(ids))
	}
	for _, id := range ids {
		if p, ok := f.Get(id); !ok || p.ID != id {
			t.Fatalf("post %x missing", id)
		}
		absent := id
		absent[31] ^= 0x80
		if _, ok := f.Get(absent); ok && !slices.Contains(ids, absent) {
			t.Fatalf("post %x present", absent)
		}
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
	posts := f.posts.sorted()
	if len(posts) != len(sorted) {
		t.Fatalf("sorted gives %d, want %d", len(posts), len(sorted))
	}
	for i, p := range posts {
		if p.ID != sorted[i] {
			t.Fatalf("sorted[%d] = %x, want %x", i, p.ID, sorted[i])
		}
	}
}
