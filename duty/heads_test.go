package duty

import (
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

// mdef is one message of a scenario. Times are offsets from genesis: with E = 2000 and
// g = 400, epoch 2 ends at 6000 and its duty time is 6400.
type mdef struct {
	name    string
	author  int // 0 a, 1 b, 2 c, 3 d (accounts ascending)
	prev    string
	parents []string
	ts      uint64
	recv    int64
	lost    bool // delivered, but the receive time is not durable
}

type headsCase struct {
	name     string
	k        uint64
	msgs     []mdef
	admit    []int // nil: all four authors
	rep      map[int]uint64
	credits  map[int]uint64
	maxHeads int
	listed   [][]string // heads of the signer's earlier checkpoints, oldest first
	want     []string
	omitted  int
	dropped  int
}

var headsCases = []headsCase{
	{name: "newest message before end(k)", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", ts: 5000, recv: 5010},
		{name: "a3", prev: "a2", ts: 6100, recv: 6110},
	}, want: []string{"a2"}},
	{name: "ts end(k)-1 is in, ts end(k) is out", k: 2, msgs: []mdef{
		{name: "a1", ts: 5999, recv: 6000},
		{name: "a2", prev: "a1", ts: 6000, recv: 6001},
	}, want: []string{"a1"}},
	{name: "received at end(k)+g is late, one ms earlier is not", k: 2, msgs: []mdef{
		{name: "a1", ts: 5000, recv: 6399},
		{name: "a2", prev: "a1", ts: 5500, recv: 6400},
	}, want: []string{"a1"}},
	{name: "late-received old message is excluded", k: 2, msgs: []mdef{
		{name: "a1", ts: 100, recv: 6500},
	}, want: nil},
	{name: "late prev hides its descendants", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 6500},
		{name: "a2", prev: "a1", ts: 2000, recv: 2010},
	}, want: nil},
	{name: "message whose parent arrived late is excluded", k: 2, msgs: []mdef{
		{name: "b1", author: 1, ts: 3000, recv: 7000},
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", parents: []string{"b1"}, ts: 4000, recv: 4010},
	}, want: []string{"a1"}},
	{name: "ancestor two authors away arrived late", k: 2, msgs: []mdef{
		{name: "c1", author: 2, ts: 2000, recv: 6450},
		{name: "b1", author: 1, parents: []string{"c1"}, ts: 2500, recv: 2600},
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", parents: []string{"b1"}, ts: 3000, recv: 3100},
	}, want: []string{"a1"}},
	{name: "on-time ancestors from other authors are fine", k: 2, msgs: []mdef{
		{name: "c1", author: 2, ts: 2000, recv: 2050},
		{name: "b1", author: 1, parents: []string{"c1"}, ts: 2500, recv: 2600},
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", parents: []string{"b1"}, ts: 3000, recv: 3100},
	}, want: []string{"a2", "b1", "c1"}},
	{name: "receive time not durable", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", ts: 2000, recv: 2010, lost: true},
	}, want: []string{"a1"}},
	{name: "fork: both branch heads", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2x", prev: "a1", ts: 2000, recv: 2010},
		{name: "a2y", prev: "a1", ts: 2100, recv: 2110},
		{name: "a3x", prev: "a2x", ts: 3000, recv: 3010},
	}, want: []string{"a2y", "a3x"}},
	{name: "fork with one branch late: common ancestor not listed", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2x", prev: "a1", ts: 2000, recv: 2010},
		{name: "a2y", prev: "a1", ts: 2100, recv: 6401},
	}, want: []string{"a2x"}},
	{name: "fork with both branches late: common ancestor once", k: 2, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2x", prev: "a1", ts: 2000, recv: 6401},
		{name: "a2y", prev: "a1", ts: 2100, recv: 6402},
	}, want: []string{"a1"}},
	{name: "already listed head omitted", k: 2, listed: [][]string{{"a2"}}, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", ts: 2000, recv: 2010},
		{name: "b1", author: 1, ts: 5000, recv: 5010},
	}, want: []string{"b1"}, omitted: 1},
	{name: "older listing: the newer head is listed", k: 2, listed: [][]string{{"a1"}}, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2", prev: "a1", ts: 2000, recv: 2010},
	}, want: []string{"a2"}},
	{name: "listing covers both fork branches' answers", k: 2, listed: [][]string{{"a1"}, {"a2x"}}, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2x", prev: "a1", ts: 2000, recv: 2010},
		{name: "a2y", prev: "a1", ts: 2100, recv: 6500},
	}, want: nil, omitted: 2},
	{name: "listing of another branch does not cover a new branch", k: 2, listed: [][]string{{"a2x"}}, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "a2x", prev: "a1", ts: 2000, recv: 2010},
		{name: "a2y", prev: "a1", ts: 2100, recv: 2110},
	}, want: []string{"a2y"}, omitted: 1},
	{name: "unadmitted authors never listed", k: 2, admit: []int{0, 1}, msgs: []mdef{
		{name: "c1", author: 2, ts: 1000, recv: 1010},
		{name: "a1", ts: 1500, recv: 1510},
		{name: "a2", prev: "a1", parents: []string{"c1"}, ts: 2000, recv: 2010},
		{name: "b1", author: 1, ts: 1000, recv: 1010},
		{name: "d1", author: 3, ts: 1000, recv: 1010},
	}, want: []string{"a2", "b1"}},
	{name: "max_heads: REP desc, then credits desc", k: 2, maxHeads: 2,
		rep: map[int]uint64{0: 5, 1: 9, 2: 9, 3: 1}, credits: map[int]uint64{1: 1, 2: 2, 0: 100}, msgs: []mdef{
			{name: "a1", ts: 1000, recv: 1010},
			{name: "b1", author: 1, ts: 1000, recv: 1010},
			{name: "c1", author: 2, ts: 1000, recv: 1010},
			{name: "d1", author: 3, ts: 1000, recv: 1010},
		}, want: []string{"b1", "c1"}, dropped: 2},
	{name: "max_heads: credits, then account id asc", k: 2, maxHeads: 3,
		credits: map[int]uint64{2: 7}, msgs: []mdef{
			{name: "a1", ts: 1000, recv: 1010},
			{name: "b1", author: 1, ts: 1000, recv: 1010},
			{name: "c1", author: 2, ts: 1000, recv: 1010},
			{name: "d1", author: 3, ts: 1000, recv: 1010},
		}, want: []string{"a1", "b1", "c1"}, dropped: 1},
	{name: "max_heads: one author's fork heads by (seq, id)", k: 2, maxHeads: 2,
		rep: map[int]uint64{0: 10, 1: 1}, msgs: []mdef{
			{name: "a1", ts: 1000, recv: 1010},
			{name: "a2x", prev: "a1", ts: 2000, recv: 2010},
			{name: "a2y", prev: "a1", ts: 2000, recv: 2010},
			{name: "b1", author: 1, ts: 1000, recv: 1010},
		}, want: []string{"a2x", "a2y"}, dropped: 1},
	{name: "max_heads applies after omission", k: 2, maxHeads: 1, listed: [][]string{{"a1"}}, msgs: []mdef{
		{name: "a1", ts: 1000, recv: 1010},
		{name: "b1", author: 1, ts: 1000, recv: 1010},
	}, want: []string{"b1"}, omitted: 1},
	{name: "epoch 0", k: 0, msgs: []mdef{
		{name: "a1", ts: 1500, recv: 2399},
		{name: "a2", prev: "a1", ts: 1900, recv: 2400},
	}, want: []string{"a1"}},
}

func TestHeads(t *testing.T) {
	for _, tc := range headsCases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 4)
			env := map[string]*msg.Envelope{}
			for _, m := range tc.msgs {
				var parents []*msg.Envelope
				for _, p := range m.parents {
					parents = append(parents, env[p])
				}
				env[m.name] = w.seal(m.author, env[m.prev], parents, G+m.ts)
			}
			order := slices.Clone(tc.msgs)
			slices.SortStableFunc(order, func(x, y mdef) int { return int(x.recv - y.recv) })
			for _, m := range order {
				w.deliver(env[m.name], G+m.recv, !m.lost)
			}
			st := admitAll(w.accts)
			if tc.admit != nil {
				st.admitted = map[msg.Account]bool{}
				for _, i := range tc.admit {
					st.admitted[w.accts[i]] = true
				}
			}
			for i, v := range tc.rep {
				st.rep[w.accts[i]] = v
			}
			for i, v := range tc.credits {
				st.credits[w.accts[i]] = v
			}
			var listed Listed
			for _, cp := range tc.listed {
				var hs []msg.Head
				for _, n := range cp {
					hs = append(hs, head(env[n]))
				}
				sortHeads(hs)
				listed.Add(w.d, hs)
			}
			cfg := testConfig()
			if tc.maxHeads > 0 {
				cfg.MaxHeads = tc.maxHeads
			}
			sel := Heads(HeadsInput{Epoch: tc.k, Config: cfg, Log: w.d, Received: w.received, Standing: st, Listed: &listed})
			var want []msg.Head
			for _, n := range tc.want {
				want = append(want, head(env[n]))
			}
			sortHeads(want)
			names := map[msg.ID]string{}
			for n, e := range env {
				names[e.ID] = n
			}
			var got []string
			for _, h := range sel.Heads {
				got = append(got, names[h.ID])
			}
			if !slices.Equal(sel.Heads, want) {
				t.Fatalf("heads %v, want %v", got, tc.want)
			}
			if sel.Omitted != tc.omitted || sel.Dropped != tc.dropped {
				t.Fatalf("omitted %d dropped %d, want %d and %d", sel.Omitted, sel.Dropped, tc.omitted, tc.dropped)
			}
		})
	}
}

// A long chain whose first message arrived late: nothing of it may be listed, and a
// witness that listed its own earlier heads walks only the new part.
func TestHeadsLongChainLateRoot(t *testing.T) {
	w := newWorld(t, 2)
	cfg := testConfig()
	root := w.seal(0, nil, nil, G+10)
	prev := root
	var chain []*msg.Envelope
	for i := range 3000 {
		prev = w.seal(0, prev, nil, G+20+uint64(i))
		chain = append(chain, prev)
		w.deliver(prev, G+3500, true)
	}
	w.deliver(root, G+6401, true) // after duty time of epoch 2
	st := admitAll(w.accts)
	sel := Heads(HeadsInput{Epoch: 2, Config: cfg, Log: w.d, Received: w.received, Standing: st})
	if len(sel.Heads) != 0 {
		t.Fatalf("listed %d heads of a chain whose root arrived late", len(sel.Heads))
	}
	// Epoch 3 (duty time 8400): everything is on time now.
	sel = Heads(HeadsInput{Epoch: 3, Config: cfg, Log: w.d, Received: w.received, Standing: st})
	if want := []msg.Head{head(chain[len(chain)-1])}; !slices.Equal(sel.Heads, want) {
		t.Fatalf("epoch 3 heads %v, want the chain tip", sel.Heads)
	}
}
