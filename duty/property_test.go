package duty

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/guild-net/guild/msg"
)

// plog is a drawn log: envelopes with receive times (or none), delivered in receive
// order to a real dag.
type plog struct {
	w       *world
	envs    []*msg.Envelope
	byID    map[msg.ID]*msg.Envelope
	arrival map[msg.ID]int64 // delivered at; absent: never delivered
}

func drawLog(t *rapid.T) *plog {
	w := newWorld(t, 4)
	p := &plog{w: w, byID: map[msg.ID]*msg.Envelope{}, arrival: map[msg.ID]int64{}}
	nA := rapid.IntRange(1, 4).Draw(t, "authors")
	own := make([][]*msg.Envelope, nA)
	for range rapid.IntRange(1, 50).Draw(t, "messages") {
		a := rapid.IntRange(0, nA-1).Draw(t, "author")
		var prev *msg.Envelope
		if len(own[a]) > 0 {
			prev = own[a][len(own[a])-1]
			if rapid.IntRange(0, 9).Draw(t, "fork") == 0 {
				prev = own[a][rapid.IntRange(0, len(own[a])-1).Draw(t, "fork prev")]
			}
		}
		var parents []*msg.Envelope
		for range rapid.IntRange(0, 2).Draw(t, "parents") {
			var others []*msg.Envelope
			for _, e := range p.envs {
				if e.Body.Author != w.accts[a] && !slices.Contains(parents, e) {
					others = append(others, e)
				}
			}
			if len(others) > 0 {
				parents = append(parents, others[rapid.IntRange(0, len(others)-1).Draw(t, "parent")])
			}
		}
		ts := uint64(G + rapid.IntRange(0, 1500).Draw(t, "ts0"))
		for _, q := range append(slices.Clone(parents), prev) {
			if q != nil {
				ts = max(ts, q.Body.TsMs)
			}
		}
		ts += uint64(rapid.IntRange(0, 1500).Draw(t, "dt"))
		e := w.seal(a, prev, parents, ts)
		own[a] = append(own[a], e)
		p.envs = append(p.envs, e)
		p.byID[e.ID] = e
		if rapid.IntRange(0, 19).Draw(t, "never delivered") != 0 {
			p.arrival[e.ID] = int64(ts) + int64(rapid.IntRange(0, 4000).Draw(t, "delay"))
		}
	}
	order := slices.Clone(p.envs)
	slices.SortStableFunc(order, func(x, y *msg.Envelope) int {
		return int(p.arrival[x.ID] - p.arrival[y.ID])
	})
	for _, e := range order {
		if at, ok := p.arrival[e.ID]; ok {
			w.deliver(e, at, rapid.IntRange(0, 19).Draw(t, "not durable") != 0)
		}
	}
	return p
}

func (p *plog) ancestors(e *msg.Envelope) []*msg.Envelope {
	var out []*msg.Envelope
	if e.Body.Prev != nil {
		out = append(out, p.byID[*e.Body.Prev])
	}
	for _, id := range e.Body.Parents {
		out = append(out, p.byID[id])
	}
	return out
}

// onTime is the reference: e and every ancestor have a durable receive time before due.
func (p *plog) onTime(e *msg.Envelope, due uint64) bool {
	ms, ok := p.w.recv[e.ID]
	if !ok || ms >= int64(due) {
		return false
	}
	for _, a := range p.ancestors(e) {
		if !p.onTime(a, due) {
			return false
		}
	}
	return true
}

// onChain: x is h or on h's prev-chain.
func (p *plog) onChain(h, x *msg.Envelope) bool {
	for h != nil && h.Body.Seq >= x.Body.Seq {
		if h.ID == x.ID {
			return true
		}
		if h.Body.Prev == nil {
			return false
		}
		h = p.byID[*h.Body.Prev]
	}
	return false
}

// TestHeadsProperty runs a witness through consecutive epochs over random logs (forks,
// cross-author parents, late, missing and non-durable messages) and checks every
// checkpoint against a brute-force reading of SPEC §4.
func TestHeadsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawLog(t)
		w := p.w
		cfg := testConfig()
		st := admitAll(w.accts)
		unadmitted := rapid.IntRange(-1, 3).Draw(t, "unadmitted")
		if unadmitted >= 0 {
			st.admitted[w.accts[unadmitted]] = false
		}
		var listed Listed
		var earlier []*msg.Envelope // everything listed so far
		for k := uint64(0); k < 4; k++ {
			end, due := cfg.End(k), cfg.DutyTime(k)
			sel := Heads(HeadsInput{Epoch: k, Config: cfg, Log: w.d, Received: w.received, Standing: st, Listed: &listed})
			if !slices.IsSortedFunc(sel.Heads, func(x, y msg.Head) int {
				hs := []msg.Head{x, y}
				sortHeads(hs)
				if hs[0] == x {
					return -1
				}
				return 1
			}) {
				t.Fatalf("epoch %d: heads not sorted", k)
			}
			var mine []*msg.Envelope
			for _, h := range sel.Heads {
				e := p.byID[h.ID]
				if e == nil || e.Body.Author != h.Author || e.Body.Seq != h.Seq {
					t.Fatalf("epoch %d: head %+v is not a drawn message", k, h)
				}
				// The property of the task: nothing received at or after end(k)+g, itself
				// or an ancestor, and nothing from end(k) on.
				if !p.onTime(e, due) {
					t.Fatalf("epoch %d: lists %s, which it (or an ancestor) received at or after end(k)+g", k, e.ID.Short())
				}
				if e.Body.TsMs >= end {
					t.Fatalf("epoch %d: lists %s with ts %d ≥ end %d", k, e.ID.Short(), e.Body.TsMs, end)
				}
				if !st.admitted[h.Author] {
					t.Fatalf("epoch %d: lists an unadmitted author", k)
				}
				for _, old := range earlier {
					if p.onChain(old, e) {
						t.Fatalf("epoch %d: relists %s, covered by an earlier listing", k, e.ID.Short())
					}
				}
				mine = append(mine, e)
			}
			// Completeness: for every held branch head of an admitted author, the newest
			// qualifying message on it is listed now, or covered by a listing (now or before).
			for _, a := range w.d.Authors() {
				if !st.admitted[a] {
					continue
				}
				for _, h := range w.d.Heads(a) {
					var best *msg.Envelope
					for x := h.Env; x != nil; {
						if x.Body.TsMs < end && p.onTime(x, due) {
							best = x
							break
						}
						if x.Body.Prev == nil {
							break
						}
						x = p.byID[*x.Body.Prev]
					}
					if best == nil {
						continue
					}
					covered := false
					for _, l := range append(slices.Clone(earlier), mine...) {
						if l.Body.Author == best.Body.Author && p.onChain(l, best) {
							covered = true
						}
					}
					if !covered {
						t.Fatalf("epoch %d: %s qualifies for branch %s but is not covered", k, best.ID.Short(), h.ID().Short())
					}
				}
			}
			listed.Add(w.d, sel.Heads)
			earlier = append(earlier, mine...)
		}
	})
}

// With a small max_heads, the list is a prefix of the ranking and never longer.
func TestHeadsMaxHeadsProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := drawLog(t)
		w := p.w
		cfg := testConfig()
		st := admitAll(w.accts)
		for _, a := range w.accts {
			st.rep[a] = uint64(rapid.IntRange(0, 2).Draw(t, "rep"))
		}
		full := Heads(HeadsInput{Epoch: 3, Config: cfg, Log: w.d, Received: w.received, Standing: st})
		cfg.MaxHeads = rapid.IntRange(1, 4).Draw(t, "max")
		cut := Heads(HeadsInput{Epoch: 3, Config: cfg, Log: w.d, Received: w.received, Standing: st})
		if len(cut.Heads) != min(len(full.Heads), cfg.MaxHeads) || cut.Dropped != len(full.Heads)-len(cut.Heads) {
			t.Fatalf("%d heads of %d with max %d, dropped %d", len(cut.Heads), len(full.Heads), cfg.MaxHeads, cut.Dropped)
		}
		for _, h := range cut.Heads {
			if !slices.Contains(full.Heads, h) {
				t.Fatalf("head %+v is not in the uncut list", h)
			}
		}
		// Every dropped head ranks after every kept one.
		for _, d := range full.Heads {
			if slices.Contains(cut.Heads, d) {
				continue
			}
			for _, k := range cut.Heads {
				if st.rep[d.Author] > st.rep[k.Author] {
					t.Fatalf("dropped a head of REP %d, kept one of REP %d", st.rep[d.Author], st.rep[k.Author])
				}
			}
		}
	})
}
