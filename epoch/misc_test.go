package epoch

import (
	"crypto/ed25519"
	"errors"
	"math"
	"testing"

	"github.com/guild-net/guild/msg"
)

func TestTime(t *testing.T) {
	c := Config{GenesisTsMs: 1_000_000, EpochMs: 2000, GraceMs: 400}
	for _, tc := range []struct{ k, start, end, duty uint64 }{
		{0, 1_000_000, 1_002_000, 1_002_400},
		{7, 1_014_000, 1_016_000, 1_016_400},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64, math.MaxUint64},
		{math.MaxUint64 / 2000, math.MaxUint64, math.MaxUint64, math.MaxUint64},
	} {
		if c.Start(tc.k) != tc.start || c.End(tc.k) != tc.end || c.DutyTime(tc.k) != tc.duty {
			t.Errorf("k=%d: start %d end %d duty %d", tc.k, c.Start(tc.k), c.End(tc.k), c.DutyTime(tc.k))
		}
	}
	for _, tc := range []struct{ ts, k uint64 }{{0, 0}, {999_999, 0}, {1_000_000, 0}, {1_001_999, 0}, {1_002_000, 1}, {1_015_999, 7}} {
		if got := c.EpochOf(tc.ts); got != tc.k {
			t.Errorf("EpochOf(%d) = %d, want %d", tc.ts, got, tc.k)
		}
	}
}

func TestHugeEpochCheckpointIsInvalid(t *testing.T) {
	// A checkpoint for an epoch so large that end(k) overflows must not wrap into validity.
	l := newLog()
	a1 := l.post(alice, 100)
	for _, w := range []msg.Account{w0, w1, w2} {
		l.cp(w, math.MaxUint64/1000, 5000, a1)
	}
	e := l.engine(t)
	c, _ := e.Cut(0, equalWS(4), nil)
	c1, _ := e.Cut(1, equalWS(4), c)
	if c1.Len() != 0 {
		t.Fatal("overflowing epoch counted")
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{EpochMs: 60000, GraceMs: 5000, ThetaNum: 2, ThetaDen: 3, WitnessesN: 32, WitnessesMin: 4, WitnessCapPPM: 100000, MaxHeads: 4096, SigmaMaxMs: 1000}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"grace":  func(c *Config) { c.GraceMs = 15001 },
		"theta":  func(c *Config) { c.ThetaNum, c.ThetaDen = 1, 2 },
		"den":    func(c *Config) { c.ThetaDen = 0 },
		"min":    func(c *Config) { c.WitnessesMin = 33 },
		"cap":    func(c *Config) { c.WitnessCapPPM = 0 },
		"sigma":  func(c *Config) { c.SigmaMaxMs = 7501 },
		"epoch":  func(c *Config) { c.EpochMs = 999 },
		"heads":  func(c *Config) { c.MaxHeads = 0 },
		"wits_n": func(c *Config) { c.WitnessesN = 257 },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestLives(t *testing.T) {
	var l Lives
	// Epochs 0…7 with live pattern: 0 never, 1 yes, 2 no, 3 yes, 4 yes, 5 no, 6 no, 7 yes.
	for k, live := range []bool{true, true, false, true, true, false, false, true} {
		l.Record(uint64(k), live)
	}
	if l.Live(0) || !l.Live(1) || l.Live(2) || !l.Live(7) {
		t.Fatal("Live")
	}
	for _, tc := range []struct {
		j, d, want uint64
		ok         bool
	}{{0, 1, 1, true}, {0, 2, 3, true}, {1, 2, 4, true}, {4, 1, 7, true}, {4, 2, 0, false}, {2, 3, 7, true}, {9, 1, 0, false}} {
		got, ok := l.L(tc.j, tc.d)
		if got != tc.want || ok != tc.ok {
			t.Errorf("L(%d,%d) = %d %v", tc.j, tc.d, got, ok)
		}
	}
	// Window of 2 live epochs after 1 is 2…4 (non-live 2 belongs to it).
	for b, want := range map[uint64]bool{1: false, 2: true, 3: true, 4: true, 5: false} {
		in, ok := l.InWindow(1, 2, b)
		if !ok || in != want {
			t.Errorf("InWindow(1,2,%d) = %v %v", b, in, ok)
		}
	}
	// Recording an earlier epoch again forgets the later ones.
	l.Record(3, false)
	if l.Known() != 4 || l.Live(3) {
		t.Fatal("re-record")
	}
	if _, ok := l.InWindow(1, 2, 9); ok {
		t.Fatal("InWindow beyond the known epochs")
	}
}

func TestStopRule(t *testing.T) {
	// h is listed late: the recomputation must not stop on unchanged epochs until h is in.
	l := newLog()
	a1 := l.post(alice, 100)
	h := l.post(alice, 2100) // posted in epoch 2
	e := NewEngine(testCfg)
	for _, m := range []*Message{a1, h} {
		e.Add(m)
	}
	for _, w := range []msg.Account{w0, w1, w2} {
		e.Add(l.cp(w, 0, 1200, a1))
	}
	ws := equalWS(4)
	e.TakeNewHeads()
	var old []*Cut
	var prev *Cut
	for k := uint64(0); k <= 4; k++ {
		prev, _ = e.Cut(k, ws, prev)
		old = append(old, prev)
	}
	for _, w := range []msg.Account{w0, w1, w2} {
		e.Add(l.cp(w, 3, 4200, h))
	}
	sr := NewStopRule(e.TakeNewHeads())
	prev = nil
	var stopped uint64 = math.MaxUint64
	for k := uint64(0); k <= 4; k++ {
		c, _ := e.Cut(k, ws, prev)
		prev = c
		if sr.Observe(c, c.Equal(old[k])) {
			stopped = k
			break
		}
	}
	// Epochs 0–2 are unchanged but h is still out; in 3 and 4 the cut changes (h joins C_3,
	// hence C_4): no stop through 4.
	if stopped != math.MaxUint64 || sr.Waiting() != 0 {
		t.Fatalf("stopped at %d, waiting %d", stopped, sr.Waiting())
	}
	sr2 := NewStopRule(nil)
	if sr2.Observe(old[0], true) || !sr2.Observe(old[1], true) {
		t.Fatal("two unchanged epochs with nothing waiting stop")
	}
}

func TestFromEnvelope(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	var net msg.ID
	prev := msg.ID{1}
	blob := msg.ID{2}
	heads := []msg.Head{{Author: alice, Seq: 3, ID: msg.ID{3}}}
	env, err := msg.Seal(priv, msg.Body{Network: net, Seq: 2, Prev: &prev, Lamport: 5, TsMs: 1234}, &msg.Checkpoint{Epoch: 4, HeadsBlob: &blob})
	if err != nil {
		t.Fatal(err)
	}
	m := FromEnvelope(env, heads)
	if m.ID != env.ID || m.Seq != 2 || m.Prev != prev || m.TsMs != 1234 || m.Author != msg.AccountOf(priv) {
		t.Fatalf("%+v", m)
	}
	if m.Checkpoint == nil || m.Checkpoint.Epoch != 4 || len(m.Checkpoint.Heads) != 1 || m.Checkpoint.Heads[0] != heads[0] {
		t.Fatalf("checkpoint %+v", m.Checkpoint)
	}
}
