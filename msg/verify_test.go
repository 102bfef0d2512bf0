package msg

import (
	"slices"
	"testing"
)

func TestVerifyBatch(t *testing.T) {
	envs := benchBatch(t, 40)
	if bad := VerifyBatch(envs); bad != nil {
		t.Fatalf("all good, got bad %v", bad)
	}
	if VerifyBatch(nil) != nil || VerifyBatch(envs[:1]) != nil {
		t.Fatal("empty or single good batch reported bad")
	}
	// Corrupt three in different ways: a flipped signature bit, another
	// envelope's signature, and a body change that moves the id.
	envs[3].Sig[10] ^= 0x80
	envs[17].Sig = envs[18].Sig
	envs[39].ID[0] ^= 1
	if bad := VerifyBatch(envs); !slices.Equal(bad, []int{3, 17, 39}) {
		t.Fatalf("bad = %v, want [3 17 39]", bad)
	}
	if bad := VerifyBatch(envs[3:4]); !slices.Equal(bad, []int{0}) {
		t.Fatalf("single bad = %v", bad)
	}
	// Batch and single agree on every envelope.
	for i, e := range envs {
		if (e.VerifySignature() != nil) != slices.Contains([]int{3, 17, 39}, i) {
			t.Fatalf("envelope %d: single verification disagrees", i)
		}
	}
}

// TestDecodeThenBatch is the ingest split: decode with SkipVerify, then verify the
// batch; the survivors are exactly what Decode with verification accepts.
func TestDecodeThenBatch(t *testing.T) {
	src := benchBatch(t, 20)
	src[5].Raw[len(src[5].Raw)-1] ^= 1
	var decoded []*Envelope
	for _, e := range src {
		d, err := Decode(e.Raw, Options{Network: rejNet, SkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, d)
	}
	bad := VerifyBatch(decoded)
	for i, e := range src {
		_, err := Decode(e.Raw, Options{Network: rejNet})
		if (err != nil) != slices.Contains(bad, i) {
			t.Fatalf("envelope %d: Decode says %v, batch says bad=%v", i, err, bad)
		}
	}
	if !slices.Equal(bad, []int{5}) {
		t.Fatalf("bad = %v", bad)
	}
}
