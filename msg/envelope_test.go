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
