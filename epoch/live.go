package epoch

// Lives records which epochs are live, for windows that count live epochs (SPEC §4 "Windows
// count live epochs"). It keeps N(k), the number of live epochs among 0…k; the state keeps
// the same count in its root, this is the epoch rule's side of it. The zero value is empty.
type Lives struct {
	count []uint64 // count[k] = N(k)
}

// Record sets whether epoch k is live. Epochs are recorded in order; recording k again (after
// a recomputation) forgets every later epoch, whose liveness may have changed with it.
func (l *Lives) Record(k uint64, live bool) {
	if k > uint64(len(l.count)) {
		panic("epoch: Lives.Record skips an epoch")
	}
	l.count = l.count[:k]
	var n uint64
	if k > 0 {
		n = l.count[k-1]
	}
	if live && k > 0 { // epoch 0 is never live
		n++
	}
	l.count = append(l.count, n)
}

// Known is the number of epochs recorded (0…Known−1).
func (l *Lives) Known() uint64 { return uint64(len(l.count)) }

// Count is N(k), the live epochs among 0…k; ok is false if k is not recorded.
func (l *Lives) Count(k uint64) (n uint64, ok bool) {
	if k >= uint64(len(l.count)) {
		return 0, false
	}
	return l.count[k], true
}

// Live reports whether epoch k was recorded live.
func (l *Lives) Live(k uint64) bool {
	if k == 0 || k >= uint64(len(l.count)) {
		return false
	}
	return l.count[k] > l.count[k-1]
}

// L gives L(j, d), the d-th live epoch after j, if it is already recorded.
func (l *Lives) L(j, d uint64) (uint64, bool) {
	nj, ok := l.Count(j)
	if !ok || d == 0 {
		return 0, false
	}
	// The first epoch e > j with N(e) = N(j) + d; N rises by at most one per epoch, so that
	// epoch is live.
	lo, hi := j+1, uint64(len(l.count))
	for lo < hi {
		mid := lo + (hi-lo)/2
		if l.count[mid]-nj >= d {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == uint64(len(l.count)) {
		return 0, false
	}
	return lo, true
}

// InWindow reports whether batch b counts for the window of d live epochs starting after j:
// j < b ≤ L(j, d). It needs epochs up to b−1 recorded (ok is false otherwise): b is inside
// iff fewer than d live epochs lie in j+1…b−1, since then L(j, d) ≥ b.
func (l *Lives) InWindow(j, d, b uint64) (in, ok bool) {
	if b <= j || d == 0 {
		return false, true
	}
	nj, ok1 := l.Count(j)
	nb, ok2 := l.Count(b - 1)
	if !ok1 || !ok2 {
		return false, false
	}
	return nb-nj < d, true
}
