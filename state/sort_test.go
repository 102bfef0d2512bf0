package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

// TestSortByAuthor checks the bucket sort of a batch's positions against a comparison
// sort of its messages by (author, seq, id): random authors, a few authors with many
// messages each, authors sharing their leading bytes (one large bucket), and
// duplicates.
func TestSortByAuthor(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 3, 12, 13, 64, 100, 1000, 1500} {
		for shape := range 4 {
			authors := make([]msg.Account, max(n, 1))
			for i := range authors {
				binary.BigEndian.PutUint64(authors[i][:], rng.Uint64())
				binary.BigEndian.PutUint64(authors[i][24:], rng.Uint64())
				if shape == 2 {
					copy(authors[i][:8], "account-") // shared leading bytes
				}
			}
			if shape == 1 {
				authors = authors[:min(len(authors), 3)]
			}
			batch := make([]*msg.Envelope, 0, n)
			for i := range n {
				e := &msg.Envelope{}
				e.Body.Author = authors[rng.IntN(len(authors))]
				e.Body.Seq = rng.Uint64N(8)
				binary.BigEndian.PutUint64(e.ID[:], rng.Uint64())
				if shape == 3 && i > 0 && rng.IntN(3) == 0 {
					e = batch[rng.IntN(len(batch))] // the same message twice
				}
				batch = append(batch, e)
			}
			in := slices.Clone(batch)
			want := slices.Clone(batch)
			slices.SortStableFunc(want, func(a, b *msg.Envelope) int {
				if c := bytes.Compare(a.Body.Author[:], b.Body.Author[:]); c != 0 {
					return c
				}
				if c := cmp.Compare(a.Body.Seq, b.Body.Seq); c != 0 {
					return c
				}
				return bytes.Compare(a.ID[:], b.ID[:])
			})
			order := sortByAuthor(batch)
			got := make([]*msg.Envelope, len(order))
			for i, j := range order {
				got[i] = batch[j]
			}
			if !slices.Equal(batch, in) {
				t.Fatalf("n %d shape %d: the batch was modified", n, shape)
			}
			if len(got) != len(want) {
				t.Fatalf("n %d shape %d: %d messages, want %d", n, shape, len(got), len(want))
			}
			for i := range want {
				// Equal keys mean the same message here (ids are random), so compare ids.
				if got[i].ID != want[i].ID {
					t.Fatalf("n %d shape %d: position %d holds %x, want %x", n, shape, i, got[i].ID[:8], want[i].ID[:8])
				}
			}
		}
	}
}
