package pool

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/guild-net/guild/credits"
	"github.com/guild-net/guild/forum"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// fataler is what the harness needs from testing.TB and *rapid.T alike.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// econ drives the pure economy the way the state's Apply phases will (SPEC §4): the
// test writes the batch's messages in phase order, and `epoch` runs the deadline phase
// of the current epoch, then phases 1–2 of the next.
type econ struct {
	ps     params.Set
	sched  *params.Schedule
	rep    *reputation.Ledger
	cr     *credits.Ledger
	f      *forum.Forum
	b      *Book
	k      uint64 // current epoch
	live   uint64 // live epochs among 1..k
	isLive bool   // whether k is live
	snap   reputation.Snapshot
	equiv  []msg.Account // caught in this epoch, applied first in its deadline phase
	names  []string      // accounts in order of appearance, for printing
}

func name32(s string) [32]byte {
	var b [32]byte
	copy(b[:], s)
	return b
}

func account(s string) msg.Account { return msg.Account(name32(s)) }

func postID(s string) msg.ID {
	if s == "INC" {
		return msg.Incinerator
	}
	return msg.ID(name32(s))
}

// amount parses "10" or "5.8" as whole units to µ-units, or "7u" as µ-units.
func amount(t fataler, s string) uint64 {
	if strings.HasSuffix(s, "u") {
		v, err := strconv.ParseUint(strings.TrimSuffix(s, "u"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || len(frac) > 6 {
		t.Fatalf("bad amount %q", s)
	}
	f := uint64(0)
	if frac != "" {
		f, err = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
	}
	return w*1_000_000 + f
}

// units prints µ-units exactly as a decimal of whole units.
func units(v uint64) string {
	s := strconv.FormatUint(v/1_000_000, 10)
	if f := v % 1_000_000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return s
}

func (e *econ) nameOf(a msg.Account) string {
	return strings.TrimRight(string(a[:]), "\x00")
}

func (e *econ) see(n string) {
	if !slices.Contains(e.names, n) {
		e.names = append(e.names, n)
		slices.Sort(e.names)
	}
}

func errLine(err error) string {
	if err != nil {
		return "no effect: " + err.Error()
	}
	return "ok"
}

func (e *econ) run(t testing.TB, d *datadriven.TestData) string {
	arg := func(key string) string {
		a, ok := d.Arg(key)
		if !ok {
			t.Fatalf("%s: missing %s", d.Pos, key)
		}
		return a.SingleVal(t)
	}
	switch d.Cmd {
	case "set": // genesis parameter overrides, before `genesis`
		var diff params.Diff
		for _, a := range d.CmdArgs {
			inf, ok := params.ByName(a.Key)
			if !ok {
				t.Fatalf("unknown parameter %s", a.Key)
			}
			v, err := strconv.ParseUint(a.SingleVal(t), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			diff = append(diff, params.Change{ID: inf.ID, Value: v})
		}
		slices.SortFunc(diff, func(x, y params.Change) int { return int(x.ID) - int(y.ID) })
		ps, err := e.ps.ApplyDiff(diff)
		if err == nil {
			e.ps = ps
		}
		return errLine(err)
	case "genesis":
		var gws []msg.Account
		if a, ok := d.Arg("gateways"); ok {
			for _, g := range a.Vals {
				gws = append(gws, account(g))
				e.see(g)
			}
		}
		e.cr = credits.New(gws)
		for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			a := account(fields[0])
			e.see(fields[0])
			for _, kv := range fields[1:] {
				k, v, _ := strings.Cut(kv, "=")
				var err error
				switch k {
				case "rep":
					err = e.rep.Genesis(a, amount(t, v))
				case "credits":
					err = e.cr.Genesis(a, amount(t, v))
				default:
					t.Fatalf("genesis: unknown %s", k)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		e.snap = e.rep.Snapshot() // epoch 0's phase 2; epoch 0 is not live
		return fmt.Sprintf("epoch 0: T=%s", units(e.snap.Total()))
	case "post":
		np := forum.NewPost{ID: postID(arg("id")), Signer: account(arg("signer"))}
		e.see(arg("signer"))
		if a, ok := d.Arg("authors"); ok {
			for _, v := range a.Vals {
				n, ppm, _ := strings.Cut(v, ":")
				p, err := strconv.ParseUint(ppm, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				e.see(n)
				np.Authors = append(np.Authors, forum.Author{Account: account(n), PPM: p})
			}
		} else {
			np.Authors = []forum.Author{{Account: np.Signer, PPM: 1_000_000}}
		}
		if a, ok := d.Arg("cite"); ok {
			for _, v := range a.Vals {
				n, w, _ := strings.Cut(v, ":")
				wt, err := strconv.ParseInt(w, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				np.Citations = append(np.Citations, forum.Citation{Target: postID(n), Weight: wt})
			}
			slices.SortFunc(np.Citations, func(x, y forum.Citation) int { return bytes.Compare(x.Target[:], y.Target[:]) })
		}
		if a, ok := d.Arg("params"); ok {
			m := map[params.ID]uint64{}
			for _, v := range a.Vals {
				n, val, _ := strings.Cut(v, "=")
				inf, ok := params.ByName(n)
				id := inf.ID
				if !ok {
					id = 999 // an unknown id, to show the refusal
				}
				x, err := strconv.ParseUint(val, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				m[id] = x
			}
			np.Params = params.NewDiff(m)
		}
		res, err := e.f.Add(np, e.k, &e.ps)
		if err == nil && res.ParamsErr != nil {
			return "ok, but no params diff: " + res.ParamsErr.Error()
		}
		return errLine(err)
	case "open":
		r := OpenRequest{ID: postID(arg("id")), Opener: account(arg("opener")), Post: postID(arg("post")),
			Fee: amount(t, arg("fee"))}
		var err error
		r.Duration, err = strconv.ParseUint(arg("epochs"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if d.HasArg("gov") {
			r.Kind = Governance
		}
		_, err = e.b.Open(r, OpenEnv{Batch: e.k, Live: e.live, Params: &e.ps, Forum: e.f, Credits: e.cr})
		return errLine(err)
	case "vote":
		side := Against
		if d.HasArg("for") {
			side = For
		}
		n, err := e.b.Vote(postID(arg("pool")), account(arg("voter")), side, amount(t, arg("stake")), e.k, e.rep)
		if err != nil {
			return errLine(err)
		}
		return "locked " + units(n)
	case "deposit":
		return errLine(e.cr.Deposit(account(arg("gateway")), []byte(arg("ref")), account(arg("to")), amount(t, arg("amount"))))
	case "withdraw":
		return errLine(e.cr.Withdraw(account(arg("from")), account(arg("gateway")), amount(t, arg("amount"))))
	case "equivocate":
		e.equiv = append(e.equiv, account(d.CmdArgs[0].Key))
		return "ok"
	case "propagate":
		x := e.rep.Mint(amount(t, arg("amount")))
		return errLine(e.f.Propagate(e.rep, postID(arg("post")), x, e.ps.Get(params.DepthMax)))
	case "epoch":
		live := !d.HasArg("dead")
		return e.epoch(t, live)
	case "balances":
		return e.balances(t)
	case "params":
		var sb strings.Builder
		for _, c := range e.ps.NonDefault() {
			fmt.Fprintf(&sb, "%s=%d\n", c.ID, c.Value)
		}
		return sb.String()
	}
	t.Fatalf("%s: unknown command %s", d.Pos, d.Cmd)
	return ""
}

// epoch runs the deadline phase of epoch k (if k is live), then phases 1–2 of k+1.
func (e *econ) epoch(t fataler, nextLive bool) string {
	var sb strings.Builder
	if e.isLive {
		for _, a := range e.equiv {
			fmt.Fprintf(&sb, "equivocation %s: burned %s, froze %s credits\n",
				e.nameOf(a), units(e.rep.Equivocate(a)), units(e.cr.Freeze(a)))
			e.b.DropVoter(a)
		}
		e.equiv = nil
		outs, err := e.b.ResolveDue(ResolveEnv{Live: e.live, Snap: e.snap, Params: &e.ps, Rep: e.rep,
			Forum: e.f, Credits: e.cr, Schedule: e.sched})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outs {
			sb.WriteString(e.outcome(o))
		}
		sal, err := e.b.PaySalary(e.snap, e.rep, e.cr)
		if err != nil {
			t.Fatal(err)
		}
		if sal.Pot > 0 {
			fmt.Fprintf(&sb, "salary: pot %s paid %s carried %s\n", units(sal.Pot), units(sal.Paid), units(sal.Carried))
		}
	}
	e.check(t)
	e.k++
	e.isLive = nextLive
	if nextLive {
		e.live++
		var acts []params.Activation
		e.ps, acts = e.sched.Activate(e.ps, e.live)
		for _, a := range acts {
			if a.Err != nil {
				fmt.Fprintf(&sb, "diff of %s skipped: %v\n", e.nameOf(msg.Account(a.Pool)), a.Err)
			} else {
				fmt.Fprintf(&sb, "diff of %s activated\n", e.nameOf(msg.Account(a.Pool)))
			}
		}
		if burned := e.rep.Decay(e.ps.Get(params.DecayPPM)); burned > 0 {
			fmt.Fprintf(&sb, "decay burned %s\n", units(burned))
		}
	}
	e.snap = e.rep.Snapshot()
	live := "live"
	if !nextLive {
		live = "not live"
	}
	fmt.Fprintf(&sb, "epoch %d (%s, live count %d): T=%s", e.k, live, e.live, units(e.snap.Total()))
	return sb.String()
}

func (e *econ) outcome(o Outcome) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "pool %s (%s on %s): %s", e.nameOf(msg.Account(o.Pool)), o.Kind, e.nameOf(msg.Account(o.Post)), o.Result)
	switch o.Result {
	case NoQuorum:
		fmt.Fprintf(&sb, "; counted %s of base %s; refund %s\n", units(o.Counted), units(o.Base), units(o.FeeRefunded))
		return sb.String()
	case GenesisPass:
		fmt.Fprintf(&sb, "; M %s; post gets %s; fee to authors %s\n", units(o.Minted), units(o.Amount), units(o.FeeToAuthors))
		return sb.String()
	}
	fmt.Fprintf(&sb, "; counted %s of base %s; M %s (seeds %s/%s); F %s A %s\n", units(o.Counted), units(o.Base),
		units(o.Minted), units(o.ForSeed), units(o.AgainstSeed), units(o.For), units(o.Against))
	fmt.Fprintf(&sb, "  forfeited %s, to winners %s, burned %s; post gets %s; fee: authors %s, pot %s\n",
		units(o.Forfeited), units(o.Redistributed), units(o.Burned), units(o.Amount), units(o.FeeToAuthors), units(o.FeeToPot))
	if o.ActivateLive > 0 {
		fmt.Fprintf(&sb, "  diff activates at live count %d\n", o.ActivateLive)
	}
	return sb.String()
}

func (e *econ) check(t fataler) {
	if err := e.rep.Check(); err != nil {
		t.Fatal(err)
	}
	if e.rep.Pending() != 0 {
		t.Fatalf("pending REP %d", e.rep.Pending())
	}
	if err := e.cr.Check(); err != nil {
		t.Fatal(err)
	}
	// locked = Σ open votes (no availability stakes in these scenarios)
	locked := map[msg.Account]uint64{}
	for _, r := range e.b.Rows() {
		for _, v := range r.Votes {
			locked[v.Voter] += v.Stake
		}
	}
	for _, r := range e.rep.Rows() {
		if r.Locked != locked[r.Account] {
			t.Fatalf("%s locked %d, open votes %d", e.nameOf(r.Account), r.Locked, locked[r.Account])
		}
	}
}

func (e *econ) balances(t fataler) string {
	e.check(t)
	var sb strings.Builder
	for _, n := range e.names {
		a := account(n)
		b := e.rep.Get(a)
		fmt.Fprintf(&sb, "%s: rep %s", n, units(b.Bal))
		if b.Locked > 0 {
			fmt.Fprintf(&sb, " (locked %s)", units(b.Locked))
		}
		fmt.Fprintf(&sb, ", credits %s", units(e.cr.Free(a)))
		if e.cr.IsFrozen(a) {
			fmt.Fprintf(&sb, " (frozen %s)", units(e.cr.Frozen(a)))
		}
		sb.WriteString("\n")
	}
	var esc uint64
	for _, r := range e.cr.Escrows() {
		esc += r.Amount
	}
	fmt.Fprintf(&sb, "supply %s = minted %s − burned %s; forgiven %s; escrow %s; pot %s",
		units(e.rep.Supply()), units(e.rep.Minted()), units(e.rep.Burned()), units(e.rep.Forgiven()), units(esc), units(e.cr.Pot()))
	return sb.String()
}

func newEcon() *econ {
	return &econ{ps: params.Defaults(), sched: &params.Schedule{}, rep: reputation.New(), f: forum.New(), b: New(),
		cr: credits.New(nil)}
}

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		e := newEcon()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return e.run(t, d)
		})
	})
}
