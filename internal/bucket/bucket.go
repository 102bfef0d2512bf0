package bucket

import (
	"math/bits"
	"slices"
)

// Sort gives xs sorted by cmp in a new slice. key(x) must be a prefix of the order:
// key(a) < key(b) implies cmp(a, b) < 0.
func Sort[T any](xs []T, key func(T) uint64, cmp func(a, b T) int) []T {
	n := len(xs)
	out := make([]T, n)
	if n == 0 {
		return out
	}
	shift := uint(64 - bits.Len(uint(n)))
	// start[b+1] counts bucket b, then start[b] is where bucket b begins.
	start := make([]int32, 1<<(64-shift)+1)
	for _, x := range xs {
		start[key(x)>>shift+1]++
	}
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	next := slices.Clone(start[:len(start)-1])
	for _, x := range xs {
		b := key(x) >> shift
		out[next[b]] = x
		next[b]++
	}
	for b := 0; b+1 < len(start); b++ {
		if lo, hi := int(start[b]), int(start[b+1]); hi-lo > 1 {
			sortRun(out[lo:hi], cmp)
		}
	}
	return out
}

// sortRun sorts one bucket: by insertion when short (buckets nearly always are).
func sortRun[T any](xs []T, cmp func(a, b T) int) {
	if len(xs) > 12 {
		slices.SortFunc(xs, cmp)
		return
	}
	for i := 1; i < len(xs); i++ {
		x := xs[i]
		j := i
		for ; j > 0 && cmp(x, xs[j-1]) < 0; j-- {
			xs[j] = xs[j-1]
		}
		xs[j] = x
	}
}
