package forum

import (
	"errors"
	"fmt"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/reputation"
)

// ErrNoPost is returned when Propagate is asked to pay a post that does not exist.
var ErrNoPost = errors.New("no such post")

// Propagate pays x µREP, already pending in led (minted or collected by a pool), to post
// p and along its citations with DMax = dmax, exactly as propagate(p, x, 0) of SPEC §7.2:
// citations negatives first, then positives, each by ascending target; a positive one
// donates mulDiv(x, w, 1e6) and recurses; the incinerator burns it; a negative one leaches
// up to that much from the target and burns the same amount of the citer's part; what is
// left is kept as value[p] and split over p's authors by ppm. On return none of x is
// pending any more. An error means a broken invariant, not bad input.
func (f *Forum) Propagate(led *reputation.Ledger, p msg.ID, x, dmax uint64) error {
	if led.Pending() < x {
		return fmt.Errorf("propagate %s: %w", p.Short(), reputation.ErrInsufficientPending)
	}
	if _, ok := f.posts.get(p); !ok {
		return fmt.Errorf("propagate %s: %w", p.Short(), ErrNoPost)
	}
	for len(f.split) < int(dmax)+2 {
		f.split = append(f.split, reputation.Splitter{})
		f.parts = append(f.parts, nil)
	}
	return f.propagate(led, p, x, 0, dmax)
}

func (f *Forum) propagate(led *reputation.Ledger, p msg.ID, x, d, dmax uint64) error {
	if x == 0 {
		return nil
	}
	post, _ := f.posts.get(p)
	var out uint64
	// Citations negatives first, then positives, each by ascending target (Citations
	// ascend by target; a zero weight, which only an evidence post can carry, moves
	// nothing).
	for pass := 0; pass < 2 && d < dmax; pass++ {
		for _, c := range post.Citations {
			if pass == 0 && c.Weight >= 0 || pass == 1 && c.Weight <= 0 {
				continue
			}
			y := reputation.MulDiv(x, c.abs(), reputation.PPM)
			if y == 0 {
				continue
			}
			switch {
			case c.Target == msg.Incinerator:
				if err := led.BurnPending(y); err != nil {
					return err
				}
				out += y
			case c.Weight > 0:
				key := FlowKey{p, c.Target}
				fl, _ := f.flow.Get(key)
				f.flow.Set(key, fl+y)
				out += y
				if err := f.propagate(led, c.Target, y, d+1, dmax); err != nil {
					return err
				}
			default:
				r, err := f.leach(led, c.Target, y, d+1, dmax)
				if err != nil {
					return err
				}
				// The citer forgoes what it removed: burned from its own part.
				if err := led.BurnPending(r); err != nil {
					return err
				}
				out += r
			}
		}
	}
	keep := x - out
	if keep == 0 {
		return nil
	}
	v, _ := f.value.Get(p)
	f.value.Set(p, v+keep)
	f.weights = post.AppendAuthorWeights(f.weights[:0])
	shares, err := f.author.Split(keep, f.weights)
	if err != nil {
		return err
	}
	for i, s := range shares {
		if err := led.Give(post.Authors[i].Account, s); err != nil {
			return err
		}
	}
	return nil
}

// leach removes up to y µREP that t gained (its kept value, and within the depth limit
// what it donated onward), burning it from t's authors' free REP, and returns what it
// removed. What an author cannot pay (locked or gone) is forgiven.
func (f *Forum) leach(led *reputation.Ledger, t msg.ID, y, d, dmax uint64) (uint64, error) {
	post, _ := f.posts.get(t)
	parts := append(f.parts[d][:0], reputation.Weighted{Key: reputation.KEEP, W: f.Value(t)})
	if d < dmax {
		// Flows exist only along positive, non-incinerator citations; Citations ascend by target.
		for _, c := range post.Citations {
			if c.Weight <= 0 || c.Target == msg.Incinerator {
				continue
			}
			if fl := f.Flow(t, c.Target); fl > 0 {
				parts = append(parts, reputation.Weighted{Key: reputation.PostKey(c.Target), W: fl})
			}
		}
	}
	f.parts[d] = parts
	var total uint64
	for _, w := range parts {
		total += w.W // bounded by the REP ever propagated to t, ≤ minted
	}
	r := min(y, total)
	if r == 0 {
		return 0, nil
	}
	sh, err := f.split[d].Split(r, parts)
	if err != nil {
		return 0, err
	}
	var removed uint64
	if k := sh[0]; k > 0 {
		f.sub(t, k)
		f.weights = post.AppendAuthorWeights(f.weights[:0])
		as, err := f.author.Split(k, f.weights)
		if err != nil {
			return 0, err
		}
		for i, s := range as {
			dd := led.BurnFree(post.Authors[i].Account, s)
			led.Forgive(s - dd)
			removed += dd
		}
	}
	for i := 1; i < len(parts); i++ {
		s := sh[i]
		if s == 0 {
			continue
		}
		u := msg.ID(parts[i].Key.Bytes())
		key := FlowKey{t, u}
		if n := f.Flow(t, u) - s; n == 0 {
			f.flow.Delete(key)
		} else {
			f.flow.Set(key, n)
		}
		got, err := f.leach(led, u, s, d+1, dmax)
		if err != nil {
			return 0, err
		}
		removed += got
	}
	return removed, nil
}

func (f *Forum) sub(p msg.ID, v uint64) {
	if n := f.Value(p) - v; n == 0 {
		f.value.Delete(p)
	} else {
		f.value.Set(p, n)
	}
}
