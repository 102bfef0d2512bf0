package pool

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// splitmix64: a deterministic generator for benchmark fixtures.
type mix uint64

func (m *mix) next() uint64 {
	*m += 0x9e3779b97f4a7c15
	z := uint64(*m)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (m *mix) n(k int) int { return int(m.next() % uint64(k)) }

func benchID(prefix byte, i int) (id [32]byte) {
	id[0] = prefix
	binary.BigEndian.PutUint64(id[1:], uint64(i))
	id[9] = byte(i * 7) // spread the rest so map hashing sees varied keys
	return id
}

type benchWorld struct {
	ps    params.Set
	rep   *reputation.Ledger
	cr    *credits.Ledger
	f     *forum.Forum
	b     *Book
	votes []benchVote
}

type benchVote struct {
	pool  msg.ID
	voter msg.Account
	side  Side
	stake uint64
}

// newBenchWorld: `accounts` accounts with 1,000 REP and 1,000 credits each; 10,000 posts
// in epochs 0–1, each citing up to 3 earlier posts (a quarter of citations negative);
// 1,000 pools opened in epoch 1; 50,000 votes prepared for epoch 2.
func newBenchWorld(tb testing.TB, accounts int, quorumPPM uint64) *benchWorld {
	w := &benchWorld{ps: params.Defaults().With(params.QuorumExecPPM, quorumPPM), rep: reputation.New(), cr: credits.New(nil), f: forum.New(), b: New()}
	r := mix(42)
	accts := make([]msg.Account, accounts)
	for i := range accts {
		accts[i] = benchID(1, i)
		if err := w.rep.Genesis(accts[i], 1000_000_000); err != nil {
			tb.Fatal(err)
		}
		if err := w.cr.Genesis(accts[i], 1000_000_000); err != nil {
			tb.Fatal(err)
		}
	}
	posts := make([]msg.ID, 0, 10_000)
	for i := range 10_000 {
		batch := uint64(0)
		if i >= 5_000 {
			batch = 1
		}
		signer := accts[r.n(accounts)]
		np := forum.NewPost{ID: benchID(2, i), Signer: signer, Authors: []forum.Author{{Account: signer, PPM: 1_000_000}}}
		if batch == 1 {
			seen := map[msg.ID]bool{}
			for range r.n(4) {
				t := posts[r.n(5_000)]
				if seen[t] {
					continue
				}
				seen[t] = true
				wt := int64(50_000 + r.n(200_000))
				if r.n(4) == 0 {
					wt = -wt
				}
				np.Citations = append(np.Citations, forum.Citation{Target: t, Weight: wt})
			}
			sortCitations(np.Citations)
		}
		if _, err := w.f.Add(np, batch, &w.ps); err != nil {
			tb.Fatal(err)
		}
		posts = append(posts, np.ID)
	}
	pools := make([]msg.ID, 1_000)
	for i := range pools {
		pools[i] = benchID(3, i)
		req := OpenRequest{ID: pools[i], Opener: accts[r.n(accounts)], Post: posts[r.n(len(posts))], Fee: 1_000_000, Duration: 1}
		if _, err := w.b.Open(req, OpenEnv{Batch: 1, Live: 1, Params: &w.ps, Forum: w.f, Credits: w.cr}); err != nil {
			tb.Fatal(err)
		}
	}
	w.votes = make([]benchVote, 50_000)
	for i := range w.votes {
		w.votes[i] = benchVote{pool: pools[i%len(pools)], voter: accts[r.n(accounts)], side: Side(r.n(3) % 2), stake: uint64(1+r.n(20)) * 1_000_000}
	}
	return w
}

func sortCitations(cs []forum.Citation) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && string(cs[j].Target[:]) < string(cs[j-1].Target[:]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// BenchmarkApplyEconomyEpoch measures the economic part of one epoch: 50,000 votes on
// 1,000 pools, then the resolution of all 1,000 pools with propagation over the citation
// graph of 10,000 posts, and the salary split. The per-iteration state copy (Clone) is
// excluded from the timing and reported separately.
//
// With the default quorum (10 % of T per pool) at most ten pools can meet quorum at once,
// so most of the 1,000 resolve as quorum-not-met; the quorum=1ppm variant (outside the
// parameter's bounds, set directly for the benchmark) makes every pool mint, forfeit and
// propagate, which is the worst case for resolution.
func BenchmarkApplyEconomyEpoch(b *testing.B) {
	for _, c := range []struct {
		accounts int
		quorum   uint64
	}{{1_000, 100_000}, {1_000, 1}, {10_000, 100_000}, {10_000, 1}} {
		b.Run(fmt.Sprintf("accounts=%d/quorum=%dppm", c.accounts, c.quorum), func(b *testing.B) {
			w := newBenchWorld(b, c.accounts, c.quorum)
			snap := w.rep.Snapshot()
			var cloneNs int64
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				start := testingNow()
				rep, cr, f, bk := w.rep.Clone(), w.cr.Clone(), w.f.Clone(), w.b.Clone()
				cloneNs += testingSince(start)
				b.StartTimer()
				for _, v := range w.votes {
					_, _ = bk.Vote(v.pool, v.voter, v.side, v.stake, 2, rep)
				}
				outs, err := bk.ResolveDue(ResolveEnv{Live: 2, Snap: snap, Params: &w.ps, Rep: rep, Forum: f, Credits: cr, Schedule: &params.Schedule{}})
				if err != nil || len(outs) != 1_000 {
					b.Fatalf("%d outcomes, %v", len(outs), err)
				}
				if c.quorum == 1 && outs[0].Result == NoQuorum {
					b.Fatal("stress variant must meet quorum")
				}
				if _, err := bk.PaySalary(snap, rep, cr); err != nil {
					b.Fatal(err)
				}
			}
			msgs := float64(len(w.votes)+1_000) * float64(b.N)
			b.ReportMetric(msgs/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(cloneNs)/float64(b.N)/1e6, "clone-ms/op")
		})
	}
}
