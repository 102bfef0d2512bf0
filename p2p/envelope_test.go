package p2p

import (
	"testing"

	"github.com/zeebo/blake3"

	"github.com/guild-net/guild/msg"
)

func TestParseEnvelopeMatchesDecode(t *testing.T) {
	envs := genLog(t, 3, 30)
	for _, e := range envs {
		info, err := parseEnvelope(e.Raw)
		if err != nil {
			t.Fatalf("parse %s: %v", e.ID.Short(), err)
		}
		want := envInfo{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Lamport: e.Body.Lamport}
		if info != want {
			t.Fatalf("parse: got %+v, want %+v", info, want)
		}
		if gossipID(e.Raw) != string(e.ID[:]) {
			t.Fatalf("gossip id of %s is not the message id", e.ID.Short())
		}
	}
}

func TestGossipIDResignedBodyIsDuplicate(t *testing.T) {
	e := genLog(t, 1, 1)[0]
	other := append([]byte(nil), e.Raw...)
	other[len(other)-1] ^= 0xff // another signature over the same body
	if gossipID(other) != gossipID(e.Raw) {
		t.Fatal("a re-signed body must have the same gossip id")
	}
}

func TestParseEnvelopeJunk(t *testing.T) {
	e := genLog(t, 1, 1)[0]
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not an array", []byte{0xa0}},
		{"array of three", []byte{0x83, 0x40, 0x40, 0x40}},
		{"body not bytes", []byte{0x82, 0x01, 0x40}},
		{"body length past end", []byte{0x82, 0x5a, 0xff, 0xff, 0xff, 0xff}},
		{"body not a map", []byte{0x82, 0x41, 0x80, 0x40}},
		{"map without author", []byte{0x82, 0x43, 0xa1, 0x04, 0x01, 0x40}},
		{"indefinite", []byte{0x82, 0x5f, 0xff, 0x40}},
		{"truncated", e.Raw[:len(e.Raw)/2]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := parseEnvelope(c.data); err == nil {
				t.Fatal("junk parsed")
			}
			id := gossipID(c.data)
			if len(id) != 32 {
				t.Fatalf("gossip id of %d bytes", len(id))
			}
		})
	}
	// Junk never takes a message id: its id is tagged.
	body, _ := envelopeBody(e.Raw)
	if gossipID(body) == string(e.ID[:]) {
		t.Fatal("raw body bytes got the message's id")
	}
	if h := blake3.Sum256(body); string(h[:]) != string(e.ID[:]) {
		t.Fatal("envelopeBody is not the id preimage")
	}
}

func FuzzParseEnvelope(f *testing.F) {
	for _, e := range genLog(f, 2, 4) {
		f.Add(e.Raw)
	}
	f.Add([]byte{0x82, 0x41, 0xa0, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseEnvelope(data)
		_ = gossipID(data)
		env, derr := msg.Decode(data, msg.Options{Network: testNet, SkipVerify: true})
		if derr == nil {
			if err != nil {
				t.Fatalf("Decode accepts what parse refuses: %v", err)
			}
			if info.ID != env.ID || info.Author != env.Body.Author || info.Seq != env.Body.Seq || info.Lamport != env.Body.Lamport {
				t.Fatalf("parse %+v disagrees with Decode", info)
			}
		}
	})
}

func TestDigest(t *testing.T) {
	a := Head{Author: msg.Account{0x01, 1}, Seq: 5, ID: msg.ID{1}}
	b := Head{Author: msg.Account{0x01, 2}, Seq: 7, ID: msg.ID{2}}
	c := Head{Author: msg.Account{0xfe, 1}, Seq: 1, ID: msg.ID{3}}
	empty := computeDigest(nil)
	if empty != (digest{}) {
		t.Fatal("empty frontier must hash to zero buckets")
	}
	d1 := computeDigest([]Head{a, b, c})
	d2 := computeDigest([]Head{a, b, c})
	if d1 != d2 {
		t.Fatal("digest not deterministic")
	}
	for i := range d1 {
		zero := d1[i] == (msg.ID{})
		if want := i != 0x01 && i != 0xfe; zero != want {
			t.Fatalf("bucket %#x zero=%v", i, zero)
		}
	}
	b2 := b
	b2.Seq = 8
	d3 := computeDigest([]Head{a, b2, c})
	for i := range d1 {
		if (d1[i] != d3[i]) != (i == 0x01) {
			t.Fatalf("bucket %#x: changed=%v", i, d1[i] != d3[i])
		}
	}
	// Exact bytes: the bucket hash of {c} is BLAKE3(tag ‖ author ‖ u64be(1) ‖ id).
	pre := append([]byte(bucketTag), c.Author[:]...)
	pre = append(pre, 0, 0, 0, 0, 0, 0, 0, 1)
	pre = append(pre, c.ID[:]...)
	if want := msg.ID(blake3.Sum256(pre)); d1[0xfe] != want {
		t.Fatalf("bucket 0xfe = %x, want %x", d1[0xfe], want)
	}
}
