package msg

import (
	"crypto/ed25519"
	"errors"
	"testing"
)

func testKey(b byte) ed25519.PrivateKey {
	var seed [32]byte
	seed[0] = b
	return ed25519.NewKeyFromSeed(seed[:])
}

func TestSealDecodeRoundTrip(t *testing.T) {
	net := TaggedHash("test\x00")
	priv := testKey(1)
	e, err := Seal(priv, Body{Network: net, Seq: 1, Lamport: 1, TsMs: 1000},
		&Post{Title: "hello", Text: "world", Authors: []AuthorShare{{Account: AccountOf(priv), PPM: PPM}}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(e.Raw, Options{Network: net})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != e.ID || d.Payload.(*Post).Title != "hello" {
		t.Fatalf("round trip: got %+v", d)
	}
	if _, err := Decode(e.Raw, Options{Network: ID{1}}); !errors.Is(err, ErrWrongNetwork) {
		t.Fatalf("wrong network: %v", err)
	}
	bad := append([]byte(nil), e.Raw...)
	bad[len(bad)-1] ^= 1
	if _, err := Decode(bad, Options{Network: net}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("bad sig: %v", err)
	}
	if _, err := Decode(e.Raw[:len(e.Raw)-3], Options{Network: net}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
}

// TestSealRefusesWhatDecodeRejects: an author cannot publish a message its peers
// would reject.
func TestSealRefusesWhatDecodeRejects(t *testing.T) {
	priv := goldenKey()
	me := AccountOf(priv)
	post := func(title string) *Post {
		return &Post{Title: title, Text: "t", Authors: []AuthorShare{{Account: me, PPM: PPM}}}
	}
	prev := fill(1)
	for _, c := range []struct {
		name string
		body Body
		p    Payload
		want error
	}{
		{"title not UTF-8", Body{Network: rejNet, Seq: 1, Lamport: 1}, post("\xff"), ErrMalformed},
		{"parents unsorted", Body{Network: rejNet, Seq: 2, Prev: &prev, Parents: []ID{fill(3), fill(2)}, Lamport: 9}, post("x"), ErrSchema},
		{"lamport", Body{Network: rejNet, Seq: 1, Lamport: 2}, post("x"), ErrLamport},
		{"no authors", Body{Network: rejNet, Seq: 1, Lamport: 1}, &Post{Title: "x", Text: "t"}, ErrSchema},
		{"reveal class", Body{Network: rejNet, Seq: 1, Lamport: 1}, &Reveal{Class: 256}, ErrSchema},
		{"heads unsorted", Body{Network: rejNet, Seq: 1, Lamport: 1}, &Checkpoint{Heads: []Head{{Seq: 2}, {Seq: 1}}}, ErrSchema},
	} {
		if _, err := Seal(priv, c.body, c.p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestKindPhaseAndName(t *testing.T) {
	want := map[Kind]struct {
		name  string
		phase int
	}{
		KindPost: {"POST", 4}, KindPoolOpen: {"POOL_OPEN", 6}, KindVote: {"VOTE", 7},
		KindAvailability: {"AVAILABILITY", 5}, KindUnstake: {"UNSTAKE", 5}, KindRequest: {"REQUEST", 6},
		KindCommit: {"COMMIT", 7}, KindReveal: {"REVEAL", 7}, KindDeposit: {"DEPOSIT", 3},
		KindWithdraw: {"WITHDRAW", 3}, KindCheckpoint: {"CHECKPOINT", 7},
	}
	for k := Kind(0); k <= 12; k++ {
		w, ok := want[k]
		if k.Valid() != ok || k.Phase() != w.phase || (ok && k.String() != w.name) {
			t.Errorf("kind %d: valid %v phase %d name %s", k, k.Valid(), k.Phase(), k)
		}
	}
	if Kind(12).String() != "KIND(12)" {
		t.Errorf("unknown kind prints %s", Kind(12))
	}
}

func TestHeadsBlobRoundTrip(t *testing.T) {
	hs := []Head{{Author: Account(fill(1)), Seq: 1, ID: fill(2)}, {Author: Account(fill(1)), Seq: 2, ID: fill(1)}}
	b, err := EncodeHeadsBlob(hs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHeadsBlob(b)
	if err != nil || len(got) != 2 || got[1] != hs[1] {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := EncodeHeadsBlob(nil); !errors.Is(err, ErrSchema) {
		t.Errorf("empty blob encoded: %v", err)
	}
	if _, err := DecodeHeadsBlob([]byte{0x80}); !errors.Is(err, ErrSchema) {
		t.Errorf("empty blob decoded: %v", err)
	}
	if _, err := DecodeHeadsBlob(b[:len(b)-1]); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated blob: %v", err)
	}
	if _, err := EncodeHeadsBlob([]Head{hs[1], hs[0]}); !errors.Is(err, ErrSchema) {
		t.Errorf("unsorted blob encoded: %v", err)
	}

	// Into a buffer: a shorter list reuses it, a longer one gets new storage.
	one, err := EncodeHeadsBlob(hs[1:])
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]Head, 2)
	got, err = DecodeHeadsBlobInto(buf, one)
	if err != nil || len(got) != 1 || got[0] != hs[1] || &got[0] != &buf[0] {
		t.Fatalf("into a larger buffer: %v %v", got, err)
	}
	got, err = DecodeHeadsBlobInto(buf[:0:1], b)
	if err != nil || len(got) != 2 || got[0] != hs[0] || got[1] != hs[1] {
		t.Fatalf("into a smaller buffer: %v %v", got, err)
	}
}
