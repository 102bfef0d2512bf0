package duty

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"

	"github.com/guild-net/guild/msg"
)

// fakeHeads gives n sorted heads of distinct authors, seq 7.
func fakeHeads(n int) []msg.Head {
	hs := make([]msg.Head, n)
	for i := range hs {
		hs[i].Author[0], hs[i].Author[1] = byte(i>>8), byte(i)
		hs[i].Seq = 7
		hs[i].ID[0] = byte(i)
	}
	return hs
}

// sealWidest seals p as the widest checkpoint body a chain can produce: prev, 16
// parents, 9-byte seq, lamport and ts.
func sealWidest(t *testing.T, p *msg.Checkpoint) *msg.Envelope {
	t.Helper()
	var seed [32]byte
	seed[0] = 0x77
	key := ed25519.NewKeyFromSeed(seed[:])
	prev := msg.ID{1}
	b := msg.Body{Network: testNet, Seq: msg.MaxLamport, Prev: &prev, Lamport: msg.MaxLamport, TsMs: ^uint64(0)}
	for i := range msg.MaxParents {
		b.Parents = append(b.Parents, msg.ID{2, byte(i)})
	}
	e, err := msg.Seal(key, b, p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEnvelopeOverheadBound(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 47, 48, 300, 900} {
		root := msg.ID{3}
		p := &msg.Checkpoint{Epoch: 1 << 40, Heads: fakeHeads(n), StateRoot: &root}
		pb, err := msg.EncodePayload(p)
		if err != nil {
			t.Fatal(err)
		}
		e := sealWidest(t, p)
		bound := len(pb) + EnvelopeOverhead
		if len(e.Raw) > bound || bound-len(e.Raw) > 5 {
			t.Fatalf("%d heads: sealed %d bytes, bound %d (payload %d)", n, len(e.Raw), bound, len(pb))
		}
	}
}

func TestBuildInlineOrBlob(t *testing.T) {
	root := msg.ID{0xaa}
	cases := []struct {
		name     string
		heads    int
		root     *msg.ID
		envMax   int
		blob     bool
		payloadN int // encoded payload bytes of the inline form
	}{
		{"no heads", 0, &root, 4096, false, 38},
		{"47 heads fit 4096 with a root", 47, &root, 4096, false, 3331},
		{"48 heads need a blob at 4096", 48, &root, 4096, true, 3401},
		{"47 heads fit 4096 without a root", 47, nil, 4096, false, 3296},
		{"48 heads without a root need a blob", 48, nil, 4096, true, 3366},
		{"default envelope max takes 924 heads", 924, &root, 0, false, 64722},
		{"default envelope max: 925 heads need a blob", 925, &root, 0, true, 64792},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := fakeHeads(tc.heads)
			inline, err := msg.EncodePayload(&msg.Checkpoint{Epoch: 5, Heads: hs, StateRoot: tc.root})
			if err != nil {
				t.Fatal(err)
			}
			if len(inline) != tc.payloadN {
				t.Fatalf("inline payload %d bytes, want %d", len(inline), tc.payloadN)
			}
			cp, err := Build(5, hs, tc.root, tc.envMax)
			if err != nil {
				t.Fatal(err)
			}
			p := cp.Payload
			if p.Epoch != 5 || p.StateRoot != tc.root {
				t.Fatalf("payload %+v", p)
			}
			if (cp.Blob != nil) != tc.blob {
				t.Fatalf("blob %v, want %v", cp.Blob != nil, tc.blob)
			}
			max := tc.envMax
			if max == 0 {
				max = msg.DefaultEnvelopeMax
			}
			e := sealWidest(t, p)
			if len(e.Raw) > max {
				t.Fatalf("sealed checkpoint %d bytes > %d", len(e.Raw), max)
			}
			if _, err := msg.Decode(e.Raw, msg.Options{Network: testNet, MaxBytes: max}); err != nil {
				t.Fatalf("peers would reject it: %v", err)
			}
			if !tc.blob {
				if !slices.Equal(p.Heads, hs) || p.HeadsBlob != nil {
					t.Fatalf("inline heads wrong")
				}
				return
			}
			if len(p.Heads) != 0 || p.HeadsBlob == nil || *p.HeadsBlob != msg.BlobID(cp.Blob) {
				t.Fatalf("blob form wrong: %+v", p)
			}
			got, err := msg.DecodeHeadsBlob(cp.Blob)
			if err != nil || !slices.Equal(got, hs) {
				t.Fatalf("blob decodes to %d heads, %v", len(got), err)
			}
			// Inline would not have fitted the widest envelope.
			if len(inline)+EnvelopeOverhead-5 <= max {
				t.Fatalf("blob chosen although %d payload bytes fit", len(inline))
			}
		})
	}
}

func TestBuildRejectsUnsortedHeads(t *testing.T) {
	hs := fakeHeads(3)
	hs[0], hs[1] = hs[1], hs[0]
	if _, err := Build(1, hs, nil, 0); !errors.Is(err, msg.ErrSchema) {
		t.Fatalf("err %v, want ErrSchema", err)
	}
}

func TestEmptyAndRoot(t *testing.T) {
	e := Empty(9)
	if e.Blob != nil || e.Payload.Epoch != 9 || e.Payload.Heads != nil || e.Payload.HeadsBlob != nil || e.Payload.StateRoot != nil {
		t.Fatalf("empty checkpoint %+v", e.Payload)
	}
	b, err := msg.EncodePayload(e.Payload)
	if err != nil || !slices.Equal(b, []byte{0xa1, 0x01, 0x09}) {
		t.Fatalf("empty checkpoint encodes as %x, %v", b, err)
	}
	roots := map[uint64]msg.ID{3: {0x33}}
	after := func(j uint64) (msg.ID, bool) { r, ok := roots[j]; return r, ok }
	for _, tc := range []struct {
		k    uint64
		want *msg.ID
	}{{0, nil}, {3, nil}, {4, &msg.ID{0x33}}, {5, nil}} {
		got := Root(tc.k, after)
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Fatalf("Root(%d) = %v, want %v", tc.k, got, tc.want)
		}
	}
}
