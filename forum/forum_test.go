package forum

import (
	"errors"
	"testing"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

const rep = 1_000_000

var (
	X, Y, Z, W = msg.Account{0x10}, msg.Account{0x20}, msg.Account{0x30}, msg.Account{0x40}
	P1, P2, P3 = msg.ID{0x01}, msg.ID{0x02}, msg.ID{0x03}
	Q          = msg.ID{0x04}
)

type fixture struct {
	t   *testing.T
	f   *Forum
	led *reputation.Ledger
	ps  params.Set
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, f: New(), led: reputation.New(), ps: params.Defaults()}
}

func solo(a msg.Account) []Author { return []Author{{Account: a, PPM: 1_000_000}} }

func (fx *fixture) post(id msg.ID, signer msg.Account, authors []Author, batch uint64, cites ...Citation) {
	fx.t.Helper()
	if _, err := fx.f.Add(NewPost{ID: id, Signer: signer, Authors: authors, Citations: cites}, batch, &fx.ps); err != nil {
		fx.t.Fatal(err)
	}
}

// pay mints x and propagates it, as a ratifying pool would.
func (fx *fixture) pay(p msg.ID, x uint64) {
	fx.t.Helper()
	fx.led.Mint(x)
	if err := fx.f.Propagate(fx.led, p, x, fx.ps.Get(params.DepthMax)); err != nil {
		fx.t.Fatal(err)
	}
	if err := fx.led.Check(); err != nil || fx.led.Pending() != 0 {
		fx.t.Fatalf("ledger after propagate: %v, pending %d", err, fx.led.Pending())
	}
}

func (fx *fixture) want(a msg.Account, bal uint64) {
	fx.t.Helper()
	if got := fx.led.Get(a).Bal; got != bal {
		fx.t.Errorf("%x: balance %d, want %d", a[0], got, bal)
	}
}

// TestWorkedCheck is the worked check of SPEC §7.2, to the µREP.
func TestWorkedCheck(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	fx.post(P2, Y, solo(Y), 2, Citation{Target: P1, Weight: 500_000})
	fx.post(P3, Z, solo(Z), 3, Citation{Target: P2, Weight: 400_000})
	fx.post(Q, W, solo(W), 4, Citation{Target: P3, Weight: -600_000})

	fx.pay(P2, 10*rep)
	fx.want(X, 5*rep)
	fx.want(Y, 5*rep)
	fx.pay(P3, 10*rep)
	fx.want(X, 7*rep)
	fx.want(Y, 7*rep)
	fx.want(Z, 6*rep)
	if fx.f.Flow(P3, P2) != 4*rep || fx.f.Flow(P2, P1) != 7*rep || fx.f.Value(P2) != 7*rep {
		t.Fatalf("flows %d %d value %d", fx.f.Flow(P3, P2), fx.f.Flow(P2, P1), fx.f.Value(P2))
	}
	fx.pay(Q, 10*rep)
	fx.want(X, 5_800_000)
	fx.want(Y, 5_800_000)
	fx.want(Z, 2_400_000)
	fx.want(W, 4*rep)
	if fx.led.Burned() != 12*rep || fx.led.Supply() != 18*rep || fx.led.Minted() != 30*rep || fx.led.Forgiven() != 0 {
		t.Fatalf("burned %d supply %d", fx.led.Burned(), fx.led.Supply())
	}
	// The leach unwound 2.4 from P3's donation to P2, and 1.2 of P2's to P1.
	for _, c := range []struct {
		got, want uint64
	}{
		{fx.f.Value(P3), 2_400_000}, {fx.f.Flow(P3, P2), 1_600_000},
		{fx.f.Value(P2), 5_800_000}, {fx.f.Flow(P2, P1), 5_800_000},
		{fx.f.Value(P1), 5_800_000}, {fx.f.Value(Q), 4 * rep},
	} {
		if c.got != c.want {
			t.Errorf("got %d want %d", c.got, c.want)
		}
	}
}

// A negative citation removes at most what the target gained; the citer keeps the rest.
func TestNegativeCitationCapped(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	fx.post(Q, W, solo(W), 2, Citation{Target: P1, Weight: -1_000_000})
	_ = fx.led.Genesis(X, 50*rep) // X's other REP is not reachable beyond P1's gains
	fx.pay(P1, 2*rep)
	fx.pay(Q, 10*rep)
	fx.want(X, 50*rep)
	fx.want(W, 8*rep)
	if fx.f.Value(P1) != 0 || fx.led.Burned() != 4*rep {
		t.Fatalf("value %d burned %d", fx.f.Value(P1), fx.led.Burned())
	}
	// Nothing left to leach: the whole amount is kept.
	fx.pay(Q, 10*rep)
	fx.want(W, 18*rep)
}

// What the author cannot pay because it is locked is forgiven, not taken.
func TestLeachForgivenWhenLocked(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	fx.post(Q, W, solo(W), 2, Citation{Target: P1, Weight: -500_000})
	fx.pay(P1, 4*rep)
	if err := fx.led.Lock(X, 3*rep); err != nil {
		t.Fatal(err)
	}
	fx.pay(Q, 10*rep)
	// y = 5, r = min(5, 4) = 4 nominal; X pays 1 (free), 3 forgiven; W forgoes only 1.
	fx.want(X, 3*rep)
	fx.want(W, 9*rep)
	if fx.led.Forgiven() != 3*rep || fx.led.Burned() != 2*rep || fx.f.Value(P1) != 0 {
		t.Fatalf("forgiven %d burned %d value %d", fx.led.Forgiven(), fx.led.Burned(), fx.f.Value(P1))
	}
}

// A chain of +50 % citations, depth_max = 3: the post at depth 3 keeps everything it
// receives, and the one beyond the limit gets nothing.
func TestDepthLimit(t *testing.T) {
	fx := newFixture(t)
	ids := []msg.ID{{0xA0}, {0xA1}, {0xA2}, {0xA3}, {0xA4}}
	owners := []msg.Account{{1}, {2}, {3}, {4}, {5}}
	fx.post(ids[0], owners[0], solo(owners[0]), 1)
	for i := 1; i < 5; i++ {
		fx.post(ids[i], owners[i], solo(owners[i]), uint64(i+1), Citation{Target: ids[i-1], Weight: 500_000})
	}
	fx.pay(ids[4], 16*rep)
	fx.want(owners[4], 8*rep)
	fx.want(owners[3], 4*rep)
	fx.want(owners[2], 2*rep)
	fx.want(owners[1], 2*rep) // depth 3 = DMax: keeps its 2, cites nothing onward
	fx.want(owners[0], 0)
	// A leach entering at depth 1 reaches value down to depth 3 but no flow parked there.
	fx.post(Q, W, solo(W), 10, Citation{Target: ids[4], Weight: -1_000_000})
	fx.pay(Q, 20*rep)
	// leach(ids4, 20, 1): parts KEEP 8, flow→ids3 8 → r 16: 8 from owner4, leach(ids3, 8, 2):
	// parts KEEP 4, flow 4 → 4 from owner3, leach(ids2, 4, 3): d = DMax, KEEP only (2) → 2.
	fx.want(owners[4], 0)
	fx.want(owners[3], 0)
	fx.want(owners[2], 0)
	fx.want(owners[1], 2*rep)
	fx.want(W, 6*rep)
	if fx.f.Flow(ids[2], ids[1]) != 2*rep || fx.led.Burned() != 28*rep {
		t.Fatalf("parked flow %d burned %d", fx.f.Flow(ids[2], ids[1]), fx.led.Burned())
	}

	// depth_max = 0: the paid post keeps everything.
	fx.ps = fx.ps.With(params.DepthMax, 0)
	fx.pay(ids[4], 3*rep)
	fx.want(owners[4], 3*rep)
	fx.want(owners[3], 0)
}

func TestIncineratorAndTwoAuthors(t *testing.T) {
	fx := newFixture(t)
	two := []Author{{Account: X, PPM: 600_000}, {Account: Y, PPM: 400_000}}
	fx.post(P1, Y, two, 1, Citation{Target: msg.Incinerator, Weight: 300_000})
	fx.pay(P1, 10*rep)
	fx.want(X, 4_200_000)
	fx.want(Y, 2_800_000)
	if fx.led.Burned() != 3*rep {
		t.Fatalf("burned %d", fx.led.Burned())
	}
	// 5 µREP: mulDiv(5, 300000, 1e6) = 1 burned, 4 kept → 60/40 of 4 is 2.4/1.6; the
	// leftover unit goes to the larger remainder (Y's .6), so each gets 2.
	fx.pay(P1, 5)
	fx.want(X, 4_200_002)
	fx.want(Y, 2_800_002)
	if fx.led.Burned() != 3*rep+1 {
		t.Fatalf("burned %d", fx.led.Burned())
	}
}

// Citations run negatives first, then positives, each by ascending target, and a leach
// never unwinds the target's own negative citations.
func TestCitationOrderAndNoDoubleNegative(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	fx.post(P2, Y, solo(Y), 1)
	fx.post(P3, Z, solo(Z), 2, Citation{Target: P1, Weight: -500_000})
	fx.pay(P1, 4*rep)
	fx.pay(P2, 1*rep)
	fx.pay(P3, 2*rep) // leaches 1 from P1; Z keeps 1
	fx.want(X, 3*rep)
	fx.want(Z, rep)
	// Q cites P3 negatively: only P3's kept value (1) is reachable, not P1's losses.
	fx.post(Q, W, solo(W), 3, Citation{Target: P2, Weight: 200_000}, Citation{Target: P3, Weight: -800_000})
	fx.pay(Q, 10*rep)
	// negative first: y = 8, r = 1 (Z's 1); then +20 % to P2 = 2; W keeps 10 − 1 − 2 = 7.
	fx.want(Z, 0)
	fx.want(X, 3*rep)
	fx.want(Y, 3*rep)
	fx.want(W, 7*rep)
}

func TestPostValidity(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	fx.post(P2, X, solo(X), 1)
	fx.post(P3, X, solo(X), 2)
	ps := params.Defaults()
	many := func(n int) []Citation {
		out := make([]Citation, n)
		for i := range out {
			out[i] = Citation{Target: msg.ID{0xF0, byte(i)}, Weight: 1}
		}
		return out
	}
	for _, c := range []struct {
		name string
		np   NewPost
		err  error
	}{
		{"duplicate", NewPost{ID: P1, Signer: X, Authors: solo(X)}, ErrDuplicate},
		{"incinerator id", NewPost{ID: msg.Incinerator, Signer: X, Authors: solo(X)}, ErrIncineratorID},
		{"no authors", NewPost{ID: Q, Signer: X}, ErrNoAuthors},
		{"signer not author", NewPost{ID: Q, Signer: Y, Authors: solo(X)}, ErrSignerNotAuthor},
		{"ppm sum", NewPost{ID: Q, Signer: X, Authors: []Author{{Account: X, PPM: 600_000}, {Account: Y, PPM: 300_000}}}, ErrPPMSum},
		{"ppm zero", NewPost{ID: Q, Signer: X, Authors: []Author{{Account: X, PPM: 1_000_000}, {Account: Y, PPM: 0}}}, ErrZeroPPM},
		{"duplicate author", NewPost{ID: Q, Signer: X, Authors: []Author{{Account: X, PPM: 500_000}, {Account: X, PPM: 500_000}}}, ErrAuthorsOrder},
		{"too many citations", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: many(9)}, ErrTooManyCitations},
		{"budget exceeded", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P1, Weight: 600_000}, {Target: P2, Weight: -400_001}}}, ErrRevaluationLimit},
		{"weight zero", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P1, Weight: 0}}}, ErrCitationWeight},
		{"weight too big", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P1, Weight: -1_000_001}}}, ErrCitationWeight},
		{"duplicate target", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P1, Weight: 1}, {Target: P1, Weight: 2}}}, ErrCitationsOrder},
		{"unknown target", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: msg.ID{0xEE}, Weight: 1}}}, ErrUnknownTarget},
		{"same batch target", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P3, Weight: 1}}}, ErrTargetTooNew},
		{"negative incinerator", NewPost{ID: Q, Signer: X, Authors: solo(X), Citations: []Citation{{Target: msg.Incinerator, Weight: -1}}}, ErrNegativeIncinerate},
	} {
		_, err := fx.f.Add(c.np, 2, &ps)
		var re *RejectError
		if !errors.Is(err, c.err) || !errors.As(err, &re) || re.Post != c.np.ID {
			t.Errorf("%s: got %v, want %v", c.name, err, c.err)
		}
	}
	if fx.f.Len() != 3 {
		t.Fatalf("rejected posts had an effect: %d posts", fx.f.Len())
	}
	// At the budget exactly, with a co-author who did not sign, and a two-author signer.
	ok := NewPost{ID: Q, Signer: Y, Authors: []Author{{Account: X, PPM: 1}, {Account: Y, PPM: 999_999}},
		Citations: []Citation{{Target: P1, Weight: 600_000}, {Target: msg.Incinerator, Weight: 400_000}}}
	if _, err := fx.f.Add(ok, 2, &ps); err != nil {
		t.Fatal(err)
	}
	// A lowered budget and max_citations = 0 apply to later posts.
	ps = ps.With(params.MaxCitations, 0)
	if _, err := fx.f.Add(NewPost{ID: msg.ID{0x77}, Signer: X, Authors: solo(X), Citations: []Citation{{Target: P1, Weight: 1}}}, 3, &ps); !errors.Is(err, ErrTooManyCitations) {
		t.Fatalf("max_citations 0: %v", err)
	}
}

func TestParamsDiffOnPost(t *testing.T) {
	fx := newFixture(t)
	good := params.Diff{{ID: params.MinFee, Value: 1}}
	bad := params.Diff{{ID: params.EpochMs, Value: 5000}}
	res, err := fx.f.Add(NewPost{ID: P1, Signer: X, Authors: solo(X), Params: good}, 1, &fx.ps)
	if err != nil || res.ParamsErr != nil || len(res.Post.Params) != 1 {
		t.Fatalf("good diff: %v %v", err, res.ParamsErr)
	}
	res, err = fx.f.Add(NewPost{ID: P2, Signer: X, Authors: solo(X), Params: bad}, 1, &fx.ps)
	if err != nil || !errors.Is(res.ParamsErr, params.ErrGenesisOnly) || res.Post.Params != nil {
		t.Fatalf("bad diff: %v %v", err, res.ParamsErr)
	}
}

func TestEvidenceAndClone(t *testing.T) {
	fx := newFixture(t)
	fx.post(P1, X, solo(X), 1)
	p, err := fx.f.AddEvidence(P2, []msg.Account{Z, X, Y}, &Citation{Target: P1, Weight: 100_000}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.Authors[0].Account != X || p.Authors[0].PPM != 333_334 || !p.Barred(Y) || p.Barred(W) {
		t.Fatalf("evidence authors %+v", p.Authors)
	}
	c := fx.f.Clone()
	fx.pay(P2, 10*rep)
	if c.Value(P2) != 0 || fx.f.Value(P2) != 9*rep || fx.f.Flow(P2, P1) != rep || len(fx.f.FlowRows()) != 1 {
		t.Fatal("clone shares values")
	}
	rows := fx.f.Rows()
	if len(rows) != 2 || rows[0].ID != P1 || rows[0].Value != rep || rows[1].Value != 9*rep {
		t.Fatalf("rows %+v", rows)
	}
	// 9 REP kept over 333,334/333,333/333,333 ppm: X 3,000,006 µREP, plus the 1 REP cited to P1.
	fx.want(X, 3_000_006+rep)
	fx.want(Y, 2_999_997)
}
