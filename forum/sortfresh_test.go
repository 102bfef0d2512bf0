package forum

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
)

// TestSortFresh checks the bucket sort of sealed posts against a comparison sort, with
// random ids, ids sharing their leading bytes (one large bucket), and ids that differ
// only past the key, at sizes around the bucket count's powers of two.
func TestSortFresh(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 3, 7, 8, 9, 13, 31, 32, 33, 100, 600, 1025} {
		for shape := range 3 {
			fresh := make([]*Post, n)
			for i := range fresh {
				var id msg.ID
				switch {
				case shape == 1 && i%2 == 0:
					copy(id[:], "post-") // shared key
					binary.BigEndian.PutUint64(id[24:], rng.Uint64())
				case shape == 2:
					binary.BigEndian.PutUint64(id[:], rng.Uint64()%4) // few keys, ties past them
					binary.BigEndian.PutUint64(id[8:], rng.Uint64())
				default:
					binary.BigEndian.PutUint64(id[:], rng.Uint64())
					binary.BigEndian.PutUint64(id[8:], rng.Uint64())
				}
				fresh[i] = &Post{ID: id}
			}
			want := slices.Clone(fresh)
			slices.SortFunc(want, func(x, y *Post) int { return pmap.Compare32(x.ID, y.ID) })
			keys, posts := sortFresh(fresh)
			for i := range want {
				if posts[i] != want[i] || keys[i] != keyOf(want[i].ID) {
					t.Fatalf("n %d shape %d: position %d holds %x (key %x), want %x", n, shape, i, posts[i].ID, keys[i], want[i].ID)
				}
			}
		}
	}
}
