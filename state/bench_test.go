package state

import (
	"fmt"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
)

// benchWorld is the world of BenchmarkApplyEpoch: nAcc accounts with 100 REP and
// 1,000 credits each; epoch 0 carries 1,000 posts, epoch 1 1,000 posts citing them,
// epoch 2 (the previous epoch) 10,000 posts citing epoch 1's (so propagation runs to
// depth 3, through positive and negative citations) and 1,000 pool openings with a
// duration of 1; the measured epoch 3 carries 50,000 votes and resolves the 1,000 pools.
//
// Locks cannot exceed T, so at most ⌊1e6/quorum_exec_ppm⌋ = 10 pools can meet quorum in
// one epoch: 9 "hot" pools get stakes from every voter and pass with propagation (and
// forfeits, seeds and salary); the other 991 get small stakes and refund.
type benchWorld struct {
	prev  *State
	votes []*msg.Envelope
}

const (
	benchPosts0  = 1_000
	benchPosts1  = 1_000
	benchPosts2  = 10_000
	benchPools   = 1_000
	benchVotes   = 50_000
	benchHot     = 9
	benchRepEach = 100_000_000
)

func buildBench(b *testing.B, nAcc int) *benchWorld {
	b.Helper()
	w := newWorld()
	names := make([]string, nAcc)
	allocs := make([]alloc, nAcc)
	for i := range names {
		names[i] = fmt.Sprintf("acct%05d", i)
		allocs[i] = alloc{name: names[i], rep: benchRepEach, credits: 1_000_000_000}
	}
	ps := params.Defaults().With(params.MaxMsgsPerAuthorEpoch, 1024)
	s := w.genesis(b, allocs, nil, []string{names[0]}, ps)
	apply := func(k uint64, batch []*msg.Envelope) {
		n, err := Apply(s, k, batch, Inputs{Seed: seedOf(k), Live: k > 0})
		if err != nil {
			b.Fatal(err)
		}
		if len(n.Report().NoEffect) != 0 {
			b.Fatalf("setup epoch %d: %d messages without effect, first: %v", k, len(n.Report().NoEffect), n.Report().NoEffect[0].Err)
		}
		s = n
	}
	post := func(i int, cites []msg.Citation) *msg.Envelope {
		author := names[i%nAcc]
		slices.SortFunc(cites, func(x, y msg.Citation) int { return compareIDs(x.Target, y.Target) })
		return w.seal(b, author, &msg.Post{Title: "t", Text: "body", Citations: cites,
			Authors: []msg.AuthorShare{{Account: w.acct(author), PPM: msg.PPM}}})
	}
	var e0, e1, e2 []*msg.Envelope
	w.epoch = 0
	for i := range benchPosts0 {
		e0 = append(e0, post(i, nil))
	}
	apply(0, e0)
	w.epoch = 1
	for i := range benchPosts1 {
		e1 = append(e1, post(i+7, []msg.Citation{{Target: e0[i].ID, Weight: 400_000}, {Target: e0[(i+1)%benchPosts0].ID, Weight: 200_000}}))
	}
	apply(1, e1)
	w.epoch = 2
	var posts2 []*msg.Envelope
	for i := range benchPosts2 {
		cites := []msg.Citation{{Target: e1[i%benchPosts1].ID, Weight: 500_000}}
		if i%3 == 0 {
			cites = append(cites, msg.Citation{Target: e1[(i+11)%benchPosts1].ID, Weight: -200_000})
		}
		p := post(i+13, cites)
		posts2 = append(posts2, p)
		e2 = append(e2, p)
	}
	var pools []msg.ID
	for i := range benchPools {
		e := w.seal(b, names[(i*7)%nAcc], &msg.PoolOpen{Post: posts2[(i*10)%benchPosts2].ID, Fee: 10_000_000, Duration: 1})
		pools = append(pools, e.ID)
		e2 = append(e2, e)
	}
	apply(2, e2)

	// Votes: each account votes votesPer times: hotPer votes with a stake that makes
	// every hot pool meet quorum (10 % of T, plus 5 %), the rest 0.01 REP on cold pools.
	w.epoch = 3
	votesPer := benchVotes / nAcc
	hotPer := min(benchHot, votesPer-1)
	T := uint64(nAcc) * benchRepEach
	perHot := uint64(nAcc*hotPer) / benchHot
	hotStake := T / 10 / perHot * 105 / 100
	if uint64(hotPer)*hotStake+uint64(votesPer)*10_000 > benchRepEach {
		b.Fatalf("stakes %d × %d do not fit %d", hotPer, hotStake, benchRepEach)
	}
	hot := pools[:benchHot]
	cold := pools[benchHot:]
	var votes []*msg.Envelope
	for i, n := range names {
		for j := range votesPer {
			v := &msg.Vote{Side: uint64((i + j) % 5 % 2), Stake: 10_000}
			if j < hotPer {
				v.Pool, v.Stake = hot[(i+j)%benchHot], hotStake
				v.Side = msg.SideFor
				if (i+j)%5 == 0 {
					v.Side = msg.SideAgainst
				}
			} else {
				v.Pool = cold[(i*votesPer+j)%len(cold)]
			}
			votes = append(votes, w.seal(b, n, v))
		}
	}
	return &benchWorld{prev: s, votes: votes}
}

func compareIDs(x, y msg.ID) int {
	for i := range x {
		if x[i] != y[i] {
			return int(x[i]) - int(y[i])
		}
	}
	return 0
}

func benchApplyEpoch(b *testing.B, nAcc int) {
	bw := buildBench(b, nAcc)
	// One untimed run checks the epoch does what the benchmark claims.
	n, err := Apply(bw.prev, 3, bw.votes, Inputs{Seed: seedOf(3), Live: true})
	if err != nil {
		b.Fatal(err)
	}
	passed := 0
	for _, o := range n.Report().Pools {
		if o.Result == pool.Passed {
			passed++
		}
	}
	if len(n.Report().Pools) != benchPools || passed != benchHot {
		b.Fatalf("resolved %d pools, %d passed; want %d and %d", len(n.Report().Pools), passed, benchPools, benchHot)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Apply(bw.prev, 3, bw.votes, Inputs{Seed: seedOf(3), Live: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(bw.votes))*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkApplyEpoch measures one epoch of 50,000 votes resolving 1,000 pools (Apply
// includes the clone of the previous state, as the ledger does it).
func BenchmarkApplyEpoch(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) { benchApplyEpoch(b, n) })
	}
}

// BenchmarkClone and BenchmarkRoot measure the per-epoch copy the ledger makes and a
// state root, on the state before the measured epoch.
func BenchmarkClone(b *testing.B) {
	bw := buildBench(b, 1_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = bw.prev.Clone()
	}
}

func BenchmarkRoot(b *testing.B) {
	bw := buildBench(b, 1_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = bw.prev.Root()
	}
}
