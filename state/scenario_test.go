package state

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/fxamacker/cbor/v2"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/pool"
)

// scenario drives state.Apply from a script (testdata/scenarios). Message lines (post,
// pool open, vote, deposit, withdraw, availability) seal a real envelope and add it to
// the batch being built; `epoch [dead] [fork=NAME:SEQ]` applies that batch as the next
// epoch and prints what Apply reported and every balance; `check …` asks State.Check
// about a message without queuing it; `root` prints the state root (golden).
type scenario struct {
	w     *world
	ps    params.Set
	s     *State
	batch []*msg.Envelope
	names map[msg.ID]string // posts and pools by script name
	ids   map[string]msg.ID
	seen  []string // accounts to print, sorted
	next  uint64   // the epoch the batch will be applied as
	repl  *strings.Replacer
}

func newScenario() *scenario {
	return &scenario{w: newWorld(), ps: params.Defaults(), names: map[msg.ID]string{checkID: "(unsigned)"}, ids: map[string]msg.ID{}}
}

// amount parses "10" or "5.8" as whole units to µ-units, or "7u" as µ-units.
func amount(t testing.TB, s string) uint64 {
	t.Helper()
	if v, ok := strings.CutSuffix(s, "u"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil || len(frac) > 6 {
		t.Fatalf("bad amount %q", s)
	}
	var f uint64
	if frac != "" {
		if f, err = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
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

func (sc *scenario) see(n string) {
	if !slices.Contains(sc.seen, n) {
		sc.seen = append(sc.seen, n)
		slices.Sort(sc.seen)
		sc.repl = nil
	}
}

// pretty replaces account and id strings in reasons by their script names.
func (sc *scenario) pretty(s string) string {
	if sc.repl == nil {
		var pairs []string
		for a, n := range sc.w.accts {
			pairs = append(pairs, a.String(), n)
		}
		for id, n := range sc.names {
			pairs = append(pairs, id.String(), n, id.Short(), n)
		}
		sc.repl = strings.NewReplacer(pairs...)
	}
	return sc.repl.Replace(s)
}

func (sc *scenario) postID(t testing.TB, name string) msg.ID {
	if name == "INC" {
		return msg.Incinerator
	}
	id, ok := sc.ids[name]
	if !ok {
		// An id no message has: for citing or opening on a post that does not exist.
		id = msg.TaggedHash("guild/test/missing\x00", []byte(name))
		sc.names[id] = name
		sc.ids[name] = id
		sc.repl = nil
	}
	return id
}

func arg(t testing.TB, d *datadriven.TestData, key string) string {
	t.Helper()
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return a.SingleVal(t)
		}
	}
	t.Fatalf("%s: missing %s", d.Pos, key)
	return ""
}

func optArg(d *datadriven.TestData, key string) (datadriven.CmdArg, bool) {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return a, true
		}
	}
	return datadriven.CmdArg{}, false
}

func hasArg(d *datadriven.TestData, key string) bool {
	_, ok := optArg(d, key)
	return ok
}

func (sc *scenario) run(t *testing.T, d *datadriven.TestData) string {
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
		ps, err := sc.ps.ApplyDiff(diff)
		if err != nil {
			return err.Error()
		}
		sc.ps = ps
		return "ok"
	case "genesis":
		return sc.genesis(t, d)
	case "epoch":
		return sc.epoch(t, d)
	case "balances":
		return sc.balances()
	case "root":
		checkCanonical(t, sc.s)
		return sc.s.Root().String()
	case "params":
		var sb strings.Builder
		ps := sc.s.Params()
		for _, c := range ps.NonDefault() {
			fmt.Fprintf(&sb, "%s=%d\n", c.ID, c.Value)
		}
		for _, p := range sc.s.PendingParams() {
			fmt.Fprintf(&sb, "pending from %s at live count %d:", sc.pretty(p.Pool.Short()), p.ActivateLive)
			for _, c := range p.Diff {
				fmt.Fprintf(&sb, " %s=%d", c.ID, c.Value)
			}
			sb.WriteString("\n")
		}
		return sb.String()
	case "check":
		// check <message command> …: what State.Check says, nothing queued.
		sub := &datadriven.TestData{Pos: d.Pos, Cmd: d.CmdArgs[0].Key, CmdArgs: d.CmdArgs[1:]}
		author, p := sc.payload(t, sub)
		if err := sc.s.Check(sc.w.acct(author), p); err != nil {
			return sc.pretty(err.Error())
		}
		return "ok"
	}
	author, p := sc.payload(t, d)
	e := sc.w.seal(t, author, p)
	sc.batch = append(sc.batch, e)
	if a, ok := optArg(d, "id"); ok {
		n := a.SingleVal(t)
		sc.names[e.ID], sc.ids[n] = n, e.ID
		sc.repl = nil
	}
	if d.Cmd == "dup" { // the same envelope twice in the batch
		sc.batch = append(sc.batch, e)
	}
	return ""
}

// payload builds a message from a script line; it returns the signer's name.
func (sc *scenario) payload(t *testing.T, d *datadriven.TestData) (string, msg.Payload) {
	cmd := d.Cmd
	if cmd == "pool" {
		cmd = "pool " + d.CmdArgs[0].Key
	}
	switch cmd {
	case "post":
		signer := arg(t, d, "signer")
		sc.see(signer)
		p := &msg.Post{Title: "post", Text: "body"}
		if a, ok := optArg(d, "authors"); ok {
			for _, v := range a.Vals {
				n, ppm, _ := strings.Cut(v, ":")
				x, err := strconv.ParseUint(ppm, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				sc.see(n)
				p.Authors = append(p.Authors, msg.AuthorShare{Account: sc.w.acct(n), PPM: x})
			}
			slices.SortFunc(p.Authors, func(x, y msg.AuthorShare) int { return bytes.Compare(x.Account[:], y.Account[:]) })
		} else {
			p.Authors = []msg.AuthorShare{{Account: sc.w.acct(signer), PPM: msg.PPM}}
		}
		if a, ok := optArg(d, "cite"); ok {
			for _, v := range a.Vals {
				n, wt, _ := strings.Cut(v, ":")
				x, err := strconv.ParseInt(wt, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				p.Citations = append(p.Citations, msg.Citation{Target: sc.postID(t, n), Weight: x})
			}
			slices.SortFunc(p.Citations, func(x, y msg.Citation) int { return bytes.Compare(x.Target[:], y.Target[:]) })
		}
		if a, ok := optArg(d, "params"); ok {
			p.Params = map[uint64]uint64{}
			for _, v := range a.Vals {
				n, val, _ := strings.Cut(v, "=")
				id := uint64(999) // an unknown id, to show the refusal
				if inf, ok := params.ByName(n); ok {
					id = uint64(inf.ID)
				}
				x, err := strconv.ParseUint(val, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				p.Params[id] = x
			}
		}
		return signer, p
	case "pool open":
		opener := arg(t, d, "opener")
		sc.see(opener)
		epochs, err := strconv.ParseUint(arg(t, d, "epochs"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		p := &msg.PoolOpen{Post: sc.postID(t, arg(t, d, "post")), Fee: amount(t, arg(t, d, "fee")), Duration: epochs}
		if hasArg(d, "gov") {
			p.PoolKind = msg.PoolGovernance
		}
		return opener, p
	case "vote", "dup":
		voter := arg(t, d, "voter")
		sc.see(voter)
		p := &msg.Vote{Pool: sc.postID(t, arg(t, d, "pool")), Stake: amount(t, arg(t, d, "stake"))}
		if hasArg(d, "for") {
			p.Side = msg.SideFor
		}
		return voter, p
	case "deposit":
		gw, to := arg(t, d, "gateway"), arg(t, d, "to")
		sc.see(to)
		return gw, &msg.Deposit{Account: sc.w.acct(to), Amount: amount(t, arg(t, d, "amount")), Ref: []byte(arg(t, d, "ref"))}
	case "withdraw":
		from := arg(t, d, "from")
		sc.see(from)
		return from, &msg.Withdraw{Amount: amount(t, arg(t, d, "amount")), Gateway: sc.w.acct(arg(t, d, "gateway")), Ref: []byte("w")}
	case "availability":
		a := arg(t, d, "account")
		return a, &msg.Availability{Stake: amount(t, arg(t, d, "stake")), Until: 100, Runtime: "wasm-wasi-v1", MaxFuel: 1e9, MaxPages: 16}
	}
	t.Fatalf("%s: unknown command %s", d.Pos, d.Cmd)
	return "", nil
}

func (sc *scenario) genesis(t *testing.T, d *datadriven.TestData) string {
	var gws, wit []string
	if a, ok := optArg(d, "gateways"); ok {
		gws = a.Vals
	}
	if a, ok := optArg(d, "witnesses"); ok {
		wit = a.Vals
	}
	var allocs []alloc
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		a := alloc{name: fields[0]}
		sc.see(a.name)
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "rep":
				a.rep = amount(t, v)
			case "credits":
				a.credits = amount(t, v)
			default:
				t.Fatalf("genesis: unknown %s", k)
			}
		}
		allocs = append(allocs, a)
	}
	sc.s = sc.w.genesis(t, allocs, gws, wit, sc.ps)
	return sc.balances()
}

func (sc *scenario) epoch(t *testing.T, d *datadriven.TestData) string {
	live := sc.next > 0 && !hasArg(d, "dead")
	in := Inputs{Seed: seedOf(sc.next), Live: live}
	if a, ok := optArg(d, "fork"); ok {
		for _, v := range a.Vals {
			n, q, _ := strings.Cut(v, ":")
			seq, err := strconv.ParseUint(q, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			in.Forks = append(in.Forks, Fork{Author: sc.w.acct(n), Seq: seq})
		}
	}
	prevRoot := sc.s.Root()
	ns, err := Apply(sc.s, sc.next, sc.batch, in)
	if err != nil {
		t.Fatal(err)
	}
	if sc.s.Root() != prevRoot {
		t.Fatal("Apply modified its input state")
	}
	sc.s, sc.batch = ns, nil
	sc.next++
	sc.w.epoch = sc.next
	var sb strings.Builder
	r := ns.Report()
	liveS := "live"
	if !r.Live {
		liveS = "not live"
	}
	fmt.Fprintf(&sb, "epoch %d (%s, live count %d)\n", r.Epoch, liveS, ns.LiveEpochs())
	for _, a := range r.Activations {
		if a.Err != nil {
			fmt.Fprintf(&sb, "diff of %s skipped: %v\n", sc.pretty(a.Pool.Short()), a.Err)
		} else {
			fmt.Fprintf(&sb, "diff of %s activated\n", sc.pretty(a.Pool.Short()))
		}
	}
	if r.Decayed > 0 {
		fmt.Fprintf(&sb, "decay burned %s\n", units(r.Decayed))
	}
	for _, ne := range r.NoEffect {
		label := sc.names[ne.ID]
		if label == "" {
			label = fmt.Sprintf("%s seq %d", sc.w.name(ne.Author), ne.Seq)
		}
		fmt.Fprintf(&sb, "%s: %s\n", label, sc.pretty(ne.Err.Error()))
	}
	for _, e := range r.Equivocations {
		fmt.Fprintf(&sb, "equivocation %s: burned %s REP, froze %s credits\n", sc.w.name(e.Account), units(e.BurnedREP), units(e.FrozenCredits))
	}
	for _, o := range r.Pools {
		sb.WriteString(sc.outcome(o))
	}
	if r.Salary.Pot > 0 {
		fmt.Fprintf(&sb, "salary: pot %s paid %s carried %s\n", units(r.Salary.Pot), units(r.Salary.Paid), units(r.Salary.Carried))
	}
	sb.WriteString(sc.balances())
	return sb.String()
}

func (sc *scenario) outcome(o pool.Outcome) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "pool %s (%s on %s): %s", sc.names[o.Pool], o.Kind, sc.names[o.Post], o.Result)
	switch o.Result {
	case pool.NoQuorum:
		fmt.Fprintf(&sb, "; counted %s of base %s; refund %s\n", units(o.Counted), units(o.Base), units(o.FeeRefunded))
		return sb.String()
	case pool.GenesisPass:
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

func (sc *scenario) balances() string {
	var sb strings.Builder
	s := sc.s
	for _, n := range sc.seen {
		a := sc.w.acct(n)
		b := s.Rep(a)
		fmt.Fprintf(&sb, "%s: rep %s", n, units(b.Bal))
		if b.Locked > 0 {
			fmt.Fprintf(&sb, " (locked %s)", units(b.Locked))
		}
		free, frozen := s.Credits(a)
		fmt.Fprintf(&sb, ", credits %s", units(free))
		if s.CreditLedger().IsFrozen(a) {
			fmt.Fprintf(&sb, " (frozen %s)", units(frozen))
		}
		sb.WriteString("\n")
	}
	var esc uint64
	for _, r := range s.CreditLedger().Escrows() {
		esc += r.Amount
	}
	minted, burned := s.RepSupply()
	fmt.Fprintf(&sb, "supply %s = minted %s − burned %s; forgiven %s; escrow %s; pot %s",
		units(minted-burned), units(minted), units(burned), units(s.RepLedger().Forgiven()), units(esc), units(s.CreditLedger().Pot()))
	return sb.String()
}

// checkCanonical verifies that the hand-written row encoder emits WIRE §1 canonical
// CBOR: decoding each component and encoding it again with fxamacker's core
// deterministic mode gives the same bytes, and the bytes are what Root hashes.
func checkCanonical(t *testing.T, s *State) {
	t.Helper()
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	comps := s.Components()
	for _, n := range ComponentNames() {
		b := s.ComponentBytes(n)
		var v any
		if err := cbor.Unmarshal(b, &v); err != nil {
			t.Fatalf("component %s: %v", n, err)
		}
		again, err := enc.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("component %s is not canonical:\n%x\n%x", n, b, again)
		}
		if msg.TaggedHash(msg.ComponentTag(n), b) != comps[n] {
			t.Fatalf("component %s: bytes and hash disagree", n)
		}
	}
}

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		sc := newScenario()
		datadriven.RunTest(t, path, sc.run)
	})
}
