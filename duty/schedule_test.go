package duty

import (
	"math"
	"slices"
	"testing"
)

// d is the duty time end(k)+g of testConfig: G + 2000(k+1) + 400.
func d(k int64) int64 { return G + 2000*(k+1) + 400 }

func TestLatest(t *testing.T) {
	cfg := testConfig()
	for _, tc := range []struct {
		now  int64
		k    uint64
		want bool
	}{
		{-5, 0, false},
		{0, 0, false},
		{G, 0, false},
		{G + 2399, 0, false},
		{G + 2400, 0, true},
		{G + 4399, 0, true},
		{G + 4400, 1, true},
		{d(1000) + 1999, 1000, true},
	} {
		k, ok := Latest(cfg, tc.now)
		if ok != tc.want || (ok && k != tc.k) {
			t.Fatalf("Latest(%d) = %d, %v; want %d, %v", tc.now, k, ok, tc.k, tc.want)
		}
		if ok && (int64(cfg.DutyTime(k)) > tc.now || int64(cfg.DutyTime(k+1)) <= tc.now) {
			t.Fatalf("Latest(%d) = %d is not the newest due epoch", tc.now, k)
		}
	}
}

func TestDue(t *testing.T) {
	all := func(uint64) bool { return true }
	cases := []struct {
		name     string
		last     uint64
		hasLast  bool
		started  int64
		now      int64
		obliged  func(uint64) bool
		empty    []uint64
		normal   uint64
		isNormal bool
	}{
		{"before the first duty time", 0, false, G, G + 2399, all, nil, 0, false},
		{"first duty", 0, false, G, G + 2400, all, nil, 0, true},
		{"running: the next epoch", 4, true, G, d(5), all, nil, 5, true},
		{"running: already signed", 5, true, G, d(5) + 100, all, nil, 0, false},
		{"down over epochs 5-7: empty for each", 4, true, d(7) + 50, d(7) + 100, all, []uint64{5, 6, 7}, 0, false},
		{"back up: the next one is normal", 7, true, d(7) + 50, d(8), all, nil, 8, true},
		{"started exactly at the duty time: running", 4, true, d(5), d(5), all, nil, 5, true},
		{"started one ms after the duty time: missed", 4, true, d(5) + 1, d(5) + 1, all, []uint64{5}, 0, false},
		{"up but unsigned epochs (clock skipped) go empty", 4, true, G, d(7), all, []uint64{5, 6}, 7, true},
		{"only epochs it was obliged for", 0, false, d(3) + 1, d(3) + 1, func(k uint64) bool { return k == 1 || k == 3 }, []uint64{1, 3}, 0, false},
		{"not obliged now", 4, true, G, d(6), func(k uint64) bool { return k != 6 }, []uint64{5}, 0, false},
		{"last checkpoint ahead of the clock", 9, true, G, d(5), all, nil, 0, false},
		{"last checkpoint at the maximum epoch", math.MaxUint64, true, G, d(5), all, nil, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Due(testConfig(), tc.last, tc.hasLast, tc.started, tc.now, tc.obliged)
			if !slices.Equal(s.Empty, tc.empty) || s.HasNormal != tc.isNormal || s.Normal != tc.normal {
				t.Fatalf("got empty %v normal %d/%v; want %v %d/%v", s.Empty, s.Normal, s.HasNormal, tc.empty, tc.normal, tc.isNormal)
			}
		})
	}
}
