package pool

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
	"pgregory.net/rapid"
)

// TestEconomyProperties drives random posts, citations, pools, votes, equivocations,
// deposits and live or dead epochs, and checks after every epoch: REP supply = minted −
// burned, credits conserved exactly, locked = Σ open votes ≤ balance, nothing pending.
func TestEconomyProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		e := newEcon()
		gw := account("GW")
		e.cr = credits.New([]msg.Account{gw})
		if rapid.Bool().Draw(rt, "decay") {
			e.ps = e.ps.With(params.DecayPPM, rapid.Uint64Range(0, 100_000).Draw(rt, "decay_ppm"))
		}
		if rapid.Bool().Draw(rt, "noredist") {
			e.ps = e.ps.With(params.Redistribute, 0)
		}
		e.ps = e.ps.With(params.WorkerSharePPM, rapid.Uint64Range(0, 1_000_000).Draw(rt, "worker"))
		e.ps = e.ps.With(params.DepthMax, rapid.Uint64Range(0, 8).Draw(rt, "depth"))
		var accts []msg.Account
		for i := range 5 {
			a := account(fmt.Sprintf("acct%d", i))
			accts = append(accts, a)
			if err := e.rep.Genesis(a, rapid.Uint64Range(0, 50_000_000).Draw(rt, "rep")); err != nil {
				rt.Fatal(err)
			}
			if err := e.cr.Genesis(a, rapid.Uint64Range(0, 50_000_000).Draw(rt, "cr")); err != nil {
				rt.Fatal(err)
			}
		}
		e.snap = e.rep.Snapshot()
		pick := func() msg.Account { return accts[rapid.IntRange(0, len(accts)-1).Draw(rt, "who")] }
		var posts, pools []msg.ID
		seq := 0
		nextID := func() msg.ID {
			seq++
			return postID(fmt.Sprintf("id%04d", seq))
		}
		for range rapid.IntRange(1, 120).Draw(rt, "steps") {
			switch rapid.IntRange(0, 9).Draw(rt, "op") {
			case 0, 1: // post with up to 3 citations
				signer := pick()
				np := forum.NewPost{ID: nextID(), Signer: signer}
				co := pick()
				if co != signer && rapid.Bool().Draw(rt, "coauthor") {
					p := rapid.Uint64Range(1, 999_999).Draw(rt, "ppm")
					np.Authors = []forum.Author{{Account: signer, PPM: p}, {Account: co, PPM: 1_000_000 - p}}
					slices.SortFunc(np.Authors, func(x, y forum.Author) int { return bytes.Compare(x.Account[:], y.Account[:]) })
				} else {
					np.Authors = []forum.Author{{Account: signer, PPM: 1_000_000}}
				}
				targets := map[msg.ID]bool{}
				budget := int64(1_000_000)
				for range rapid.IntRange(0, 3).Draw(rt, "ncite") {
					var tgt msg.ID
					if len(posts) == 0 || rapid.IntRange(0, 5).Draw(rt, "inc") == 0 {
						tgt = msg.Incinerator
					} else {
						tgt = posts[rapid.IntRange(0, len(posts)-1).Draw(rt, "tgt")]
					}
					if targets[tgt] || budget < 1 {
						continue
					}
					targets[tgt] = true
					w := rapid.Int64Range(1, budget).Draw(rt, "w")
					budget -= w
					if tgt != msg.Incinerator && rapid.Bool().Draw(rt, "neg") {
						w = -w
					}
					np.Citations = append(np.Citations, forum.Citation{Target: tgt, Weight: w})
				}
				slices.SortFunc(np.Citations, func(x, y forum.Citation) int { return bytes.Compare(x.Target[:], y.Target[:]) })
				if _, err := e.f.Add(np, e.k, &e.ps); err == nil {
					posts = append(posts, np.ID)
				}
			case 2, 3: // open
				if len(posts) == 0 {
					continue
				}
				r := OpenRequest{ID: nextID(), Opener: pick(), Post: posts[rapid.IntRange(0, len(posts)-1).Draw(rt, "post")],
					Fee: rapid.Uint64Range(0, 20_000_000).Draw(rt, "fee"), Duration: rapid.Uint64Range(0, 4).Draw(rt, "dur")}
				if _, err := e.b.Open(r, OpenEnv{Batch: e.k, Live: e.live, Params: &e.ps, Forum: e.f, Credits: e.cr}); err == nil {
					pools = append(pools, r.ID)
				}
			case 4, 5, 6: // vote
				if len(pools) == 0 {
					continue
				}
				side := Side(rapid.IntRange(0, 1).Draw(rt, "side"))
				_, _ = e.b.Vote(pools[rapid.IntRange(0, len(pools)-1).Draw(rt, "pool")], pick(), side,
					rapid.Uint64Range(0, 30_000_000).Draw(rt, "stake"), e.k, e.rep)
			case 7:
				if rapid.IntRange(0, 4).Draw(rt, "eq") == 0 {
					e.equiv = append(e.equiv, pick())
				}
			case 8:
				_ = e.cr.Deposit(gw, []byte{byte(rapid.IntRange(0, 9).Draw(rt, "ref"))}, pick(), rapid.Uint64Range(0, 10_000_000).Draw(rt, "dep"))
				_ = e.cr.Withdraw(pick(), gw, rapid.Uint64Range(0, 10_000_000).Draw(rt, "wd"))
			case 9:
				e.epoch(rt, rapid.IntRange(0, 4).Draw(rt, "dead") != 0)
			}
		}
		for range 6 { // let every pool resolve
			e.epoch(rt, true)
		}
		e.check(rt)
		if e.b.Len() != 0 && e.live < 6 {
			rt.Fatalf("pools left open: %d", e.b.Len())
		}
		if len(e.cr.Escrows()) != e.b.Len() {
			rt.Fatalf("escrows %d for %d open pools", len(e.cr.Escrows()), e.b.Len())
		}
		if e.rep.Supply() != e.rep.Minted()-e.rep.Burned() {
			rt.Fatal("supply ≠ minted − burned")
		}
		for _, r := range e.rep.Rows() {
			if r.Locked > r.Balance {
				rt.Fatalf("locked > balance: %+v", r)
			}
		}
	})
}

// The snapshot must be passed in explicitly: resolving with a different S_c changes only
// what depends on it (here the salary), never the ledger's own invariants.
func TestSalaryUsesPassedSnapshot(t *testing.T) {
	a, b := account("A"), account("B")
	led := reputation.New()
	_ = led.Genesis(a, 10)
	cr := credits.New(nil)
	_ = cr.Genesis(b, 7)
	_ = cr.Hold(msg.ID{1}, b, 7)
	_ = cr.ToPot(msg.ID{1}, 7)
	bk := New()
	snap := reputation.NewSnapshot([]reputation.SnapEntry{{Account: a, S: 1}, {Account: b, S: 2}})
	s, err := bk.PaySalary(snap, led, cr)
	if err != nil || s.Paid != 7 || cr.Free(a) != 2 || cr.Free(b) != 5 {
		t.Fatalf("salary %+v %v: A %d B %d", s, err, cr.Free(a), cr.Free(b))
	}
}
