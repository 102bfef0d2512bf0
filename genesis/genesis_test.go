package genesis

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

func acct(b byte) msg.Account {
	var seed [32]byte
	seed[0] = b
	return msg.AccountOf(ed25519.NewKeyFromSeed(seed[:]))
}

func sample() *File {
	return &File{Name: "sample", GenesisTsMs: 1_700_000_000_000, EpochMs: 2000, GraceMs: 400,
		Allocations: []FileAllocation{
			{Account: acct(2).String(), RepMicro: 5_000_000},
			{Account: acct(1).String(), RepMicro: 10_000_000, CreditsMicro: 3},
		},
		Witnesses: []string{acct(1).String(), acct(2).String()},
		Gateways:  []string{acct(3).String()},
		Params:    map[string]uint64{"sigma_max_ms": 200, "min_fee": 10000},
	}
}

func TestRoundTripAndNetworkID(t *testing.T) {
	g, err := FromFile(sample())
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.JSON()
	if err != nil {
		t.Fatal(err)
	}
	g2, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if g.NetworkID() != g2.NetworkID() {
		t.Fatal("network id changed through JSON")
	}
	// min_fee equals its default, so it is not in G: naming a default changes nothing.
	f := sample()
	delete(f.Params, "min_fee")
	g3, _ := FromFile(f)
	if g3.NetworkID() != g.NetworkID() {
		t.Fatal("a parameter at its default changed the network id")
	}
	if !g.Named(acct(3)) || !g.IsGateway(acct(3)) || g.Named(acct(9)) {
		t.Fatal("Named/IsGateway")
	}
	if g.Params.Get(params.SigmaMaxMs) != 200 || g.EpochMs() != 2000 || g.GraceMs() != 400 {
		t.Fatal("params not applied")
	}
	// Pin the bytes of G: a change here is a change of every network id.
	const want = "d9670aa76b1955d61bf5870c7c04d0cd0469bcaf468af9a2330c9a65f4026226"
	if got := g.NetworkID().String(); got != want {
		t.Fatalf("network id %s, pinned %s", got, want)
	}
}

func TestInvalid(t *testing.T) {
	cases := map[string]func(f *File){
		"empty name":        func(f *File) { f.Name = "" },
		"no witness":        func(f *File) { f.Witnesses = nil },
		"duplicate witness": func(f *File) { f.Witnesses = append(f.Witnesses, f.Witnesses[0]) },
		"duplicate alloc":   func(f *File) { f.Allocations = append(f.Allocations, f.Allocations[0]) },
		"bad account":       func(f *File) { f.Gateways = []string{"12D3KooWnotapeerid"} },
		"unknown param":     func(f *File) { f.Params["no_such"] = 1 },
		"epoch in params":   func(f *File) { f.Params["epoch_ms"] = 5000 },
		"short epoch":       func(f *File) { f.EpochMs = 999 },
		"long grace":        func(f *File) { f.GraceMs = 501 },
		"param bound":       func(f *File) { f.Params["witness_cap_ppm"] = 0 },
		"rep overflow": func(f *File) {
			f.Allocations[0].RepMicro = ^uint64(0)
		},
	}
	for name, mutate := range cases {
		f := sample()
		mutate(f)
		if _, err := FromFile(f); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := Parse([]byte(`{"name":"x","surprise":1}`)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "surprise") {
		t.Errorf("unknown JSON field: %v", err)
	}
}
