package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"pgregory.net/rapid"
)

// genLog draws a small network and a few epochs of sealed messages of every economic
// kind (valid and invalid alike), with random liveness and the occasional fork.
type genLog struct {
	w       *world
	genesis *State
	names   []string
	epochs  [][]*msg.Envelope
	inputs  []Inputs
}

func drawLog(t *rapid.T) *genLog {
	w := newWorld()
	n := rapid.IntRange(2, 6).Draw(t, "accounts")
	g := &genLog{w: w}
	var allocs []alloc
	for i := range n {
		name := fmt.Sprintf("a%d", i)
		g.names = append(g.names, name)
		allocs = append(allocs, alloc{name: name,
			rep:     rapid.SampledFrom([]uint64{0, 0, 1, 5_000_000, 40_000_000}).Draw(t, "rep"),
			credits: rapid.SampledFrom([]uint64{0, 20_000, 10_000_000, 50_000_000}).Draw(t, "credits")})
	}
	ps := params.Defaults().
		With(params.DecayPPM, rapid.SampledFrom([]uint64{0, 0, 50_000}).Draw(t, "decay")).
		With(params.WorkerSharePPM, rapid.SampledFrom([]uint64{0, 250_000}).Draw(t, "worker")).
		With(params.Redistribute, rapid.SampledFrom([]uint64{0, 1, 1}).Draw(t, "redistribute")).
		With(params.ActivationDelay, 1).
		With(params.MaxMsgsPerAuthorEpoch, 16)
	g.genesis = w.genesis(t, allocs, []string{"gw"}, []string{"wit"}, ps)
	var posts, pools []msg.ID
	epochs := rapid.IntRange(2, 7).Draw(t, "epochs")
	for k := range epochs {
		w.epoch = uint64(k)
		var batch []*msg.Envelope
		var newPosts []msg.ID
		for range rapid.IntRange(0, 25).Draw(t, "msgs") {
			who := rapid.SampledFrom(g.names).Draw(t, "author")
			var e *msg.Envelope
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0, 1:
				p := &msg.Post{Title: "t", Text: "x", Authors: []msg.AuthorShare{{Account: w.acct(who), PPM: msg.PPM}}}
				if co := rapid.SampledFrom(g.names).Draw(t, "coauthor"); co != who && rapid.Bool().Draw(t, "co") {
					p.Authors = []msg.AuthorShare{{Account: w.acct(who), PPM: 600_000}, {Account: w.acct(co), PPM: 400_000}}
					slices.SortFunc(p.Authors, func(x, y msg.AuthorShare) int { return bytes.Compare(x.Account[:], y.Account[:]) })
				}
				if len(posts) > 0 {
					for range rapid.IntRange(0, 3).Draw(t, "cites") {
						tgt := rapid.SampledFrom(posts).Draw(t, "target")
						wt := rapid.SampledFrom([]int64{-700_000, -200_000, 100_000, 300_000, 500_000}).Draw(t, "weight")
						p.Citations = append(p.Citations, msg.Citation{Target: tgt, Weight: wt})
					}
					slices.SortFunc(p.Citations, func(x, y msg.Citation) int { return bytes.Compare(x.Target[:], y.Target[:]) })
				}
				if rapid.IntRange(0, 4).Draw(t, "gov") == 0 {
					p.Params = map[uint64]uint64{uint64(params.BindingExecPPM): rapid.SampledFrom([]uint64{500_000, 2_000_000}).Draw(t, "binding")}
				}
				if rapid.IntRange(0, 6).Draw(t, "inc") == 0 {
					p.Citations = append([]msg.Citation{}, p.Citations...)
					p.Citations = append(p.Citations, msg.Citation{Target: msg.Incinerator, Weight: 100_000})
					slices.SortFunc(p.Citations, func(x, y msg.Citation) int { return bytes.Compare(x.Target[:], y.Target[:]) })
				}
				e = w.seal(t, who, p)
				newPosts = append(newPosts, e.ID)
			case 2, 3:
				if len(posts)+len(newPosts) == 0 {
					continue
				}
				post := rapid.SampledFrom(append(slices.Clone(posts), newPosts...)).Draw(t, "post")
				e = w.seal(t, who, &msg.PoolOpen{Post: post,
					Fee:      rapid.SampledFrom([]uint64{5_000, 10_000, 1_000_000, 7_000_000}).Draw(t, "fee"),
					Duration: rapid.SampledFrom([]uint64{1, 1, 2, 3}).Draw(t, "duration"),
					PoolKind: rapid.SampledFrom([]uint64{0, 0, 1}).Draw(t, "poolkind")})
				pools = append(pools, e.ID)
			case 4, 5, 6:
				if len(pools) == 0 {
					continue
				}
				e = w.seal(t, who, &msg.Vote{Pool: rapid.SampledFrom(pools).Draw(t, "pool"),
					Side:  rapid.SampledFrom([]uint64{0, 1}).Draw(t, "side"),
					Stake: rapid.SampledFrom([]uint64{1, 500_000, 3_000_000, 100_000_000}).Draw(t, "stake")})
			case 7:
				e = w.seal(t, "gw", &msg.Deposit{Account: w.acct(who),
					Amount: rapid.SampledFrom([]uint64{0, 1, 2_000_000}).Draw(t, "deposit"),
					Ref:    []byte{byte(rapid.IntRange(0, 3).Draw(t, "ref"))}})
			case 8:
				e = w.seal(t, who, &msg.Withdraw{Amount: rapid.SampledFrom([]uint64{1, 1_000_000, 60_000_000}).Draw(t, "withdraw"),
					Gateway: w.acct(rapid.SampledFrom([]string{"gw", "gw", who}).Draw(t, "gateway")), Ref: []byte("w")})
			case 9:
				e = w.seal(t, who, &msg.Availability{Stake: 1, Until: 5, Runtime: "wasm-wasi-v1", MaxFuel: 1, MaxPages: 1})
			}
			batch = append(batch, e)
		}
		posts = append(posts, newPosts...)
		in := Inputs{Seed: seedOf(uint64(k)), Live: k > 0 && rapid.IntRange(0, 4).Draw(t, "dead") != 0}
		if rapid.IntRange(0, 6).Draw(t, "fork") == 0 {
			who := w.acct(rapid.SampledFrom(g.names).Draw(t, "forker"))
			in.Forks = []Fork{{Author: who, Seq: rapid.Uint64Range(1, w.seq[who]+1).Draw(t, "forkseq")}}
		}
		g.epochs = append(g.epochs, batch)
		g.inputs = append(g.inputs, in)
	}
	return g
}

// checkInvariants verifies, from the outside, what SPEC §7.1 and the credit rules
// promise after every Apply.
func checkInvariants(t *rapid.T, s *State, credTotal uint64) {
	minted, burned := s.RepSupply()
	var sum uint64
	locked := map[msg.Account]uint64{}
	for _, r := range s.Pools().Rows() {
		for _, v := range r.Votes {
			locked[v.Voter] += v.Stake
		}
	}
	for _, r := range s.RepLedger().Rows() {
		var c uint64
		sum, c = bits.Add64(sum, r.Balance, 0)
		if c != 0 {
			t.Fatalf("Σ REP overflows")
		}
		if r.Locked > r.Balance {
			t.Fatalf("%s: locked %d > balance %d", r.Account, r.Locked, r.Balance)
		}
		if r.Locked != locked[r.Account] {
			t.Fatalf("%s: locked %d, open votes %d", r.Account, r.Locked, locked[r.Account])
		}
		if r.Balance > minted {
			t.Fatalf("%s: balance %d above all REP ever minted %d (wrapped)", r.Account, r.Balance, minted)
		}
	}
	if burned > minted || sum != minted-burned {
		t.Fatalf("Σ REP %d ≠ minted %d − burned %d", sum, minted, burned)
	}
	var cr uint64
	cl := s.CreditLedger()
	for _, r := range cl.Accounts() {
		if r.Free > credTotal || r.Frozen > credTotal {
			t.Fatalf("%s: credits %d/%d above the total %d (wrapped)", r.Account, r.Free, r.Frozen, credTotal)
		}
		cr += r.Free + r.Frozen
	}
	for _, r := range cl.Escrows() {
		cr += r.Amount
	}
	cr += cl.Pot()
	if cr != credTotal {
		t.Fatalf("credits: free + frozen + escrow + pot = %d, genesis + deposits − withdrawals = %d", cr, credTotal)
	}
}

// effectiveCredits adds the deposits and subtracts the withdrawals that took effect in
// the batch, judged from the Report and the payloads alone.
func effectiveCredits(t *rapid.T, total uint64, batch []*msg.Envelope, r *Report) uint64 {
	seen := map[msg.ID]bool{}
	for _, e := range batch {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		if _, noEffect := r.Reason(e.ID); noEffect {
			continue
		}
		switch p := e.Payload.(type) {
		case *msg.Deposit:
			total += p.Amount
		case *msg.Withdraw:
			total -= p.Amount
		}
	}
	return total
}

func TestPropertyInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawLog(t)
		s := g.genesis
		var total uint64
		for _, a := range g.w.gen.Allocations {
			total += a.CreditsMicro
		}
		checkInvariants(t, s, total)
		for k, batch := range g.epochs {
			n, err := Apply(s, uint64(k), batch, g.inputs[k])
			if err != nil {
				t.Fatal(err)
			}
			total = effectiveCredits(t, total, batch, n.Report())
			checkInvariants(t, n, total)
			s = n
		}
	})
}

// TestPropertyBatchIsASet: the same epochs applied with every batch shuffled, with
// duplicates, and re-assembled from chunks in another order give the same root after
// every epoch, and the same reports.
func TestPropertyBatchIsASet(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawLog(t)
		a, b := g.genesis, g.genesis
		for k, batch := range g.epochs {
			other := slices.Clone(batch)
			for i := range rapid.IntRange(0, len(batch)).Draw(t, "dups") {
				other = append(other, batch[i%len(batch)])
			}
			perm := rapid.Permutation(other).Draw(t, "order")
			// Re-batch: cut into chunks and concatenate them in reverse.
			cut := rapid.IntRange(0, len(perm)).Draw(t, "cut")
			rebatched := append(slices.Clone(perm[cut:]), perm[:cut]...)
			na, err := Apply(a, uint64(k), batch, g.inputs[k])
			if err != nil {
				t.Fatal(err)
			}
			nb, err := Apply(b, uint64(k), rebatched, g.inputs[k])
			if err != nil {
				t.Fatal(err)
			}
			if na.Root() != nb.Root() {
				t.Fatalf("epoch %d: roots differ: %s vs %s", k, na.Root().Short(), nb.Root().Short())
			}
			if !reflect.DeepEqual(na.Report(), nb.Report()) {
				t.Fatalf("epoch %d: reports differ", k)
			}
			a, b = na, nb
		}
	})
}

// TestPropertyCheckAgreesWithApply: for each message of an epoch's batch, State.Check
// on the state before it says exactly what Apply records when the message is that
// batch's only message (in a non-live epoch, so no activation or decay intervenes).
func TestPropertyCheckAgreesWithApply(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawLog(t)
		s := g.genesis
		for k, batch := range g.epochs {
			for _, e := range batch {
				if s.IsEquivocator(e.Body.Author) {
					continue
				}
				got := s.Check(e.Body.Author, e.Payload)
				one, err := Apply(s, uint64(k), []*msg.Envelope{e}, Inputs{Seed: seedOf(uint64(k))})
				if err != nil {
					t.Fatal(err)
				}
				want, noEffect := one.Report().Reason(e.ID)
				switch {
				case got == nil && !noEffect:
				case got == nil || !noEffect:
					t.Fatalf("epoch %d %s: Check says %v, Apply records %v", k, e.Body.Kind, got, want)
				default:
					norm := func(err error) string {
						return strings.NewReplacer(checkID.Short(), "ID", e.ID.Short(), "ID").Replace(err.Error())
					}
					var ne *NoEffectError
					if !errors.As(got, &ne) || ne.Partial != want.Partial || norm(got) != norm(want) {
						t.Fatalf("epoch %d: Check says %q, Apply records %q", k, got, want)
					}
				}
			}
			n, err := Apply(s, uint64(k), batch, g.inputs[k])
			if err != nil {
				t.Fatal(err)
			}
			s = n
		}
	})
}
