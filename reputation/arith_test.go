package reputation

import (
	"math"
	"math/big"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

func acct(b byte) msg.Account { return msg.Account{b} }

func TestMulDiv(t *testing.T) {
	for _, c := range []struct {
		a, b, d, want uint64
		ok            bool
	}{
		{10_000_000, 500_000, PPM, 5_000_000, true},
		{7, 1, 2, 3, true},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64, true},
		{math.MaxUint64, 999_999, PPM, 18446725626965477905, true},
		{math.MaxUint64, 2, 1, math.MaxUint64, false}, // quotient overflow saturates
		{5, 5, 0, 0, false}, // d = 0 gives 0
		{0, 0, 0, 0, false},
		{0, math.MaxUint64, 3, 0, true},
	} {
		got, ok := MulDivChecked(c.a, c.b, c.d)
		if got != c.want || ok != c.ok || MulDiv(c.a, c.b, c.d) != c.want {
			t.Errorf("MulDiv(%d,%d,%d) = %d %v, want %d %v", c.a, c.b, c.d, got, ok, c.want, c.ok)
		}
	}
	if !MulGE(15, 2, 1, 30) || MulGE(14, 2, 1, 30) || !MulGE(math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64) {
		t.Fatal("MulGE")
	}
}

func TestSplit(t *testing.T) {
	a, b, c := AccountKey(acct(1)), AccountKey(acct(2)), AccountKey(acct(3))
	for _, tc := range []struct {
		name  string
		P     uint64
		parts []Weighted
		want  []uint64
	}{
		{"exact", 15, []Weighted{{SEED, 5}, {a, 10}}, []uint64{5, 10}},
		{"thirds tie by key", 10, []Weighted{{c, 1}, {b, 1}, {a, 1}}, []uint64{3, 3, 4}},
		{"seed wins tie", 1, []Weighted{{a, 1}, {SEED, 1}}, []uint64{0, 1}},
		{"keep wins tie", 1, []Weighted{{PostKey(msg.ID{0}), 1}, {KEEP, 1}}, []uint64{0, 1}},
		{"largest remainder", 10, []Weighted{{a, 2}, {b, 3}, {c, 2}}, []uint64{3, 4, 3}},
		{"largest remainder not key", 100, []Weighted{{a, 1}, {b, 2}, {c, 4}}, []uint64{14, 29, 57}},
		{"zero P", 0, []Weighted{{a, 1}}, []uint64{0}},
		{"zero W", 9, []Weighted{{a, 0}, {b, 0}}, []uint64{0, 0}},
		{"zero weight gets nothing", 3, []Weighted{{a, 0}, {b, 1}, {c, 1}}, []uint64{0, 2, 1}},
		{"worked leach", 6_000_000, []Weighted{{KEEP, 6_000_000}, {PostKey(msg.ID{2}), 4_000_000}}, []uint64{3_600_000, 2_400_000}},
		{"empty", 5, nil, []uint64{}},
		{"big", math.MaxUint64, []Weighted{{a, math.MaxUint64 - 1}, {b, 1}}, []uint64{math.MaxUint64 - 1, 1}},
	} {
		got, err := Split(tc.P, tc.parts)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := Split(1, []Weighted{{a, math.MaxUint64}, {b, 1}}); err != ErrWeightOverflow {
		t.Fatalf("overflow: %v", err)
	}
	if got := EqualPPM([]msg.Account{acct(1), acct(2), acct(3)}); !slices.Equal(got, []uint64{333334, 333333, 333333}) {
		t.Fatalf("EqualPPM %v", got)
	}
}

// refSplit is SPEC §7.0 in math/big, written independently of Split.
func refSplit(P uint64, parts []Weighted) []uint64 {
	W := new(big.Int)
	for _, p := range parts {
		W.Add(W, new(big.Int).SetUint64(p.W))
	}
	out := make([]uint64, len(parts))
	if P == 0 || W.Sign() == 0 {
		return out
	}
	rems := make([]*big.Int, len(parts))
	given := new(big.Int)
	for i, p := range parts {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(new(big.Int).SetUint64(P), new(big.Int).SetUint64(p.W)), W, new(big.Int))
		out[i] = q.Uint64()
		rems[i] = r
		given.Add(given, q)
	}
	left := new(big.Int).Sub(new(big.Int).SetUint64(P), given).Uint64()
	order := make([]int, len(parts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		if c := rems[y].Cmp(rems[x]); c != 0 {
			return c
		}
		return parts[x].Key.Compare(parts[y].Key)
	})
	for _, i := range order[:left] {
		out[i]++
	}
	return out
}

func FuzzMulDiv(f *testing.F) {
	f.Add(uint64(10), uint64(3), uint64(7))
	f.Add(uint64(math.MaxUint64), uint64(math.MaxUint64), uint64(1))
	f.Add(uint64(1), uint64(1), uint64(0))
	f.Fuzz(func(t *testing.T, a, b, d uint64) {
		got, ok := MulDivChecked(a, b, d)
		if d == 0 {
			if got != 0 || ok {
				t.Fatalf("d=0 gave %d %v", got, ok)
			}
			return
		}
		q := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(b))
		q.Quo(q, new(big.Int).SetUint64(d))
		if q.IsUint64() != ok {
			t.Fatalf("ok %v for %s", ok, q)
		}
		if ok && q.Uint64() != got {
			t.Fatalf("MulDiv(%d,%d,%d) = %d, want %s", a, b, d, got, q)
		}
		if !ok && got != math.MaxUint64 {
			t.Fatalf("overflow gave %d", got)
		}
	})
}

func FuzzSplit(f *testing.F) {
	f.Add(uint64(10), []byte{1, 1, 1, 2, 3, 0})
	f.Add(uint64(math.MaxUint64), []byte{255, 1, 7, 7, 7, 7, 7, 7, 7})
	f.Fuzz(func(t *testing.T, P uint64, raw []byte) {
		// Each part: 1 byte of key, then an 8-byte weight taken from a widening pattern;
		// keys 0 and 1 stand for SEED and KEEP.
		var parts []Weighted
		seen := map[Key]bool{}
		for len(raw) >= 3 && len(parts) < 40 {
			var k Key
			switch raw[0] {
			case 0:
				k = SEED
			case 1:
				k = KEEP
			default:
				k = AccountKey(acct(raw[0]))
			}
			w := uint64(raw[1]) << (raw[2] % 57)
			raw = raw[3:]
			if seen[k] {
				continue
			}
			seen[k] = true
			parts = append(parts, Weighted{Key: k, W: w})
		}
		got, err := Split(P, parts)
		var W big.Int
		for _, p := range parts {
			W.Add(&W, new(big.Int).SetUint64(p.W))
		}
		if !W.IsUint64() {
			if err != ErrWeightOverflow {
				t.Fatalf("want overflow error, got %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		want := refSplit(P, parts)
		if !slices.Equal(got, want) {
			t.Fatalf("Split(%d, %v) = %v, want %v", P, parts, got, want)
		}
		var sum uint64
		for _, s := range got {
			sum += s
		}
		if W.Sign() > 0 && sum != P {
			t.Fatalf("shares sum %d ≠ %d", sum, P)
		}
	})
}

func BenchmarkSplit10k(b *testing.B) {
	parts := make([]Weighted, 10_000)
	for i := range parts {
		var a msg.Account
		a[0], a[1] = byte(i>>8), byte(i)
		parts[i] = Weighted{Key: AccountKey(a), W: uint64(i*7919%1000 + 1)}
	}
	var s Splitter
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Split(123_456_789, parts); err != nil {
			b.Fatal(err)
		}
	}
}
