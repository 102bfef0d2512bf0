package msg

import (
	"crypto/ed25519"
	"testing"
)

// The golden fixtures: a fixed key, a fixed sample genesis (hence network id) and
// one chain of envelopes covering every kind, every payload key and both forms of
// the either/or fields. Everything here is a pure function of constants.

// goldenKey's seed is the bytes 0x00…0x1f.
func goldenKey() ed25519.PrivateKey {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed[:])
}

// otherKey is a second author, for bad-signature and author-list cases.
func otherKey() ed25519.PrivateKey {
	var seed [32]byte
	for i := range seed {
		seed[i] = byte(0xff - i)
	}
	return ed25519.NewKeyFromSeed(seed[:])
}

// sampleGenesis is the G of WIRE §5 with keys 1–8. The real genesis type belongs
// to the state package; this copy only pins the network-id derivation.
type sampleGenesis struct {
	Name        string            `cbor:"1,keyasint"`
	GenesisTsMs uint64            `cbor:"2,keyasint"`
	EpochMs     uint64            `cbor:"3,keyasint"`
	GraceMs     uint64            `cbor:"4,keyasint"`
	Allocations []sampleAlloc     `cbor:"5,keyasint,omitempty"`
	Witnesses   []Account         `cbor:"6,keyasint,omitempty"`
	Gateways    []Account         `cbor:"7,keyasint,omitempty"`
	Params      map[uint64]uint64 `cbor:"8,keyasint,omitempty"`
}

type sampleAlloc struct {
	_       struct{} `cbor:",toarray"`
	Account Account
	Rep     uint64
	Credits uint64
}

func goldenGenesisCBOR(t testing.TB) []byte {
	a, o := AccountOf(goldenKey()), AccountOf(otherKey())
	lo, hi := a, o
	if string(hi[:]) < string(lo[:]) {
		lo, hi = hi, lo
	}
	g := sampleGenesis{
		Name: "golden", GenesisTsMs: 1_700_000_000_000, EpochMs: 60_000, GraceMs: 5_000,
		Allocations: []sampleAlloc{{Account: lo, Rep: 10_000_000, Credits: 5_000_000}, {Account: hi, Rep: 1_000_000}},
		Witnesses:   []Account{lo, hi},
		Gateways:    []Account{a},
		Params:      map[uint64]uint64{11: 20_000, 45: 2048},
	}
	b, err := Marshal(&g)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func goldenNetwork(t testing.TB) ID { return NetworkID(goldenGenesisCBOR(t)) }

func fill(b byte) ID {
	var id ID
	for i := range id {
		id[i] = b
	}
	return id
}

func ptr(id ID) *ID { return &id }

// goldenCase is one golden envelope: a name and its payload. The chain links and
// lamport are filled in by goldenEnvelopes.
type goldenCase struct {
	name    string
	payload Payload
	parents []ID
}

func goldenCases() []goldenCase {
	me, other := AccountOf(goldenKey()), AccountOf(otherKey())
	lo, hi := me, other
	if string(hi[:]) < string(lo[:]) {
		lo, hi = hi, lo
	}
	salt := Salt(fill(0x5a))
	request := fill(0x66)
	stdout := BlobID([]byte("hello\n"))
	outcome := OutcomeHash(0, 0, 12_345, stdout)
	return []goldenCase{
		{name: "POST", payload: &Post{
			Title: "On deterministic CBOR", Text: "Every value has exactly one byte form, so every message has one id.",
			Authors:   []AuthorShare{{Account: lo, PPM: 600_000}, {Account: hi, PPM: 400_000}},
			Citations: []Citation{{Target: fill(0x01), Weight: -250_000}, {Target: Incinerator, Weight: 10_000}},
			Tags:      []string{"cbor", "wire"},
			Module:    ptr(BlobID([]byte("\x00asm\x01\x00\x00\x00"))),
			Params:    map[uint64]uint64{11: 20_000, 28: 16},
		}, parents: []ID{fill(0x11), fill(0x22)}},
		{name: "POOL_OPEN", payload: &PoolOpen{Post: fill(0x02), Fee: 10_000, Duration: 5, PoolKind: PoolGovernance}},
		{name: "VOTE", payload: &Vote{Pool: fill(0x03), Side: SideFor, Stake: 1_500_000}},
		{name: "AVAILABILITY", payload: &Availability{Stake: 2_000_000, Until: 500, Runtime: "wasm-wasi-v1", MaxFuel: 1_000_000_000, MaxPages: 256}},
		{name: "UNSTAKE", payload: &Unstake{Availability: fill(0x04)}},
		{name: "REQUEST", payload: &Request{
			Module: fill(0x05), ModulePost: ptr(fill(0x06)), Input: fill(0x07), Args: []string{"--n", "42"},
			Fuel: 10_000_000, Pages: 16, FeePerRun: 50_000, Deadline: 10, CommitWindow: 3,
			RepeatEvery: 2, RepeatCount: 4, Runtime: "wasm-wasi-v1",
		}},
		{name: "COMMIT", payload: &Commit{Request: request, Run: 3, Round: 1, Commitment: Commitment(request, 3, 1, me, outcome, salt)}},
		{name: "REVEAL", payload: &Reveal{Request: request, Run: 3, Round: 1, Outcome: outcome, Class: 0, Code: 0, FuelUsed: 12_345, Output: stdout, Salt: salt}},
		{name: "DEPOSIT", payload: &Deposit{Account: other, Amount: 7_000_000, Ref: []byte("bank-tx-0001")}},
		{name: "WITHDRAW", payload: &Withdraw{Amount: 1_000_000, Gateway: me, Ref: []byte("iban:XX00")}},
		{name: "CHECKPOINT", payload: &Checkpoint{Epoch: 7,
			Heads:     []Head{{Author: lo, Seq: 3, ID: fill(0x08)}, {Author: lo, Seq: 3, ID: fill(0x09)}, {Author: hi, Seq: 1, ID: fill(0x0a)}},
			StateRoot: ptr(fill(0x0b))}},
		// Variants: the other side of each either/or field and the minimal forms.
		{name: "POST_body_blob", payload: &Post{Title: "", BodyBlob: ptr(fill(0x0c)), Authors: []AuthorShare{{Account: me, PPM: PPM}}}},
		{name: "REQUEST_minimal", payload: &Request{Module: fill(0x05), Input: fill(0x07), Fuel: 1, Pages: 1, FeePerRun: 1, Deadline: 1, Runtime: "wasm-wasi-v1"}},
		{name: "REVEAL_unavailable", payload: &Reveal{Request: request, Run: 3, Round: 0, Outcome: UnavailableOutcome(request, 3), Class: 255, Salt: salt}},
		{name: "CHECKPOINT_heads_blob", payload: &Checkpoint{Epoch: 8, HeadsBlob: ptr(fill(0x0d))}},
		{name: "CHECKPOINT_empty", payload: &Checkpoint{Epoch: 9}},
	}
}

// goldenEnvelopes seals the cases as one chain of the golden key: seq i+1, prev
// the previous envelope, lamport 1 + max over ancestors (foreign parents are
// taken to have lamport 5).
func goldenEnvelopes(t testing.TB) []*Envelope {
	net := goldenNetwork(t)
	priv := goldenKey()
	var out []*Envelope
	var prev *ID
	lamport := uint64(0)
	for i, c := range goldenCases() {
		l := lamport
		if len(c.parents) > 0 {
			l = max(l, 5)
		}
		e, err := Seal(priv, Body{Network: net, Seq: uint64(i + 1), Prev: prev, Parents: c.parents,
			Lamport: l + 1, TsMs: 1_700_000_000_000 + uint64(i)*1000}, c.payload)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out = append(out, e)
		prev, lamport = ptr(e.ID), l+1
	}
	return out
}

func ed25519NewKey(seed [32]byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed[:]) }
