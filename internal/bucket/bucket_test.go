package bucket

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSort compares with a comparison sort over spread, skewed (one bucket) and
// few-key inputs at sizes around powers of two; ties past the key are ordered by cmp.
func TestSort(t *testing.T) {
	type item struct{ key, rest uint64 }
	byItem := func(a, b item) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.rest, b.rest)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 7, 8, 9, 13, 31, 32, 33, 100, 1025} {
		for shape := range 3 {
			xs := make([]item, n)
			for i := range xs {
				xs[i] = item{rng.Uint64(), rng.Uint64()}
				switch shape {
				case 1:
					xs[i].key = 42 // one bucket
				case 2:
					xs[i].key %= 4 // few keys, ties past them
				}
			}
			want := slices.Clone(xs)
			slices.SortFunc(want, byItem)
			got := Sort(xs, func(x item) uint64 { return x.key }, byItem)
			if !slices.Equal(got, want) {
				t.Fatalf("n %d, shape %d: wrong order", n, shape)
			}
		}
	}
}
