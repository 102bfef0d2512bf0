package params

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/guild-net/guild/msg"
)

// Pending is a passed governance diff waiting for its activation. ActivateLive is the
// live-epoch count at which it takes effect: the pool's close epoch's count plus
// activation_delay, so it activates in phase 1 of the activation_delay-th live epoch
// after the close epoch.
type Pending struct {
	_            struct{} `cbor:",toarray"`
	ActivateLive uint64
	Pool         msg.ID
	Diff         Diff
}

// Schedule keeps pending diffs sorted by (ActivateLive, Pool).
type Schedule struct {
	items []Pending
}

// Add queues a passed diff.
func (s *Schedule) Add(p Pending) {
	p.Diff = p.Diff.Clone()
	i, _ := slices.BinarySearchFunc(s.items, p, comparePending)
	s.items = slices.Insert(s.items, i, p)
}

func comparePending(a, b Pending) int {
	if c := cmp.Compare(a.ActivateLive, b.ActivateLive); c != 0 {
		return c
	}
	return bytes.Compare(a.Pool[:], b.Pool[:])
}

// Activation reports what happened to one pending diff.
type Activation struct {
	Pool msg.ID
	Diff Diff
	// Err is nil when the diff took effect; otherwise it was skipped whole, e.g. because
	// the result would break a cross-parameter bound (ErrCrossBound).
	Err error
}

// Activate applies, to cur, every pending diff with ActivateLive ≤ live, by ascending
// (ActivateLive, pool id): later diffs win per parameter, and a diff whose result breaks
// a bound is skipped whole. The applied diffs leave the schedule.
func (s *Schedule) Activate(cur Set, live uint64) (Set, []Activation) {
	n := 0
	for n < len(s.items) && s.items[n].ActivateLive <= live {
		n++
	}
	if n == 0 {
		return cur, nil
	}
	acts := make([]Activation, 0, n)
	for _, p := range s.items[:n] {
		next, err := cur.ApplyGovernance(p.Diff)
		if err == nil {
			cur = next
		}
		acts = append(acts, Activation{Pool: p.Pool, Diff: p.Diff, Err: err})
	}
	s.items = slices.Delete(s.items, 0, n)
	return cur, acts
}

// Len gives the number of pending diffs.
func (s *Schedule) Len() int { return len(s.items) }

// Rows gives the pending diffs in order (the caller must not modify them).
func (s *Schedule) Rows() []Pending { return s.items }

// Clone copies the schedule for a per-epoch snapshot.
func (s *Schedule) Clone() *Schedule {
	c := &Schedule{items: make([]Pending, len(s.items))}
	for i, p := range s.items {
		p.Diff = p.Diff.Clone()
		c.items[i] = p
	}
	return c
}
