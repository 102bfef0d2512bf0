package msg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	ic "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/zeebo/blake3"
)

// TestAccountStringMatchesLibp2p checks our hand-built peer id against libp2p's own
// derivation for many keys, and that ParseAccount inverts both.
func TestAccountStringMatchesLibp2p(t *testing.T) {
	for i := range 64 {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i)*0x9e3779b97f4a7c15)
		priv := ed25519NewKey(seed)
		a := AccountOf(priv)
		pub, err := ic.UnmarshalEd25519PublicKey(a[:])
		if err != nil {
			t.Fatal(err)
		}
		pid, err := peer.IDFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != pid.String() {
			t.Fatalf("key %d: Account.String %s, libp2p %s", i, a, pid)
		}
		if !strings.HasPrefix(a.String(), "12D3KooW") {
			t.Fatalf("key %d: %s lacks the Ed25519 peer-id prefix", i, a)
		}
		for _, s := range []string{a.String(), a.Hex()} {
			back, err := ParseAccount(s)
			if err != nil || back != a {
				t.Fatalf("ParseAccount(%q) = %x, %v; want %x", s, back, err, a)
			}
		}
		// libp2p's decoder must also read our string back to the same key.
		pid2, err := peer.Decode(a.String())
		if err != nil {
			t.Fatal(err)
		}
		pk, err := pid2.ExtractPublicKey()
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := pk.Raw()
		if !bytes.Equal(raw, a[:]) {
			t.Fatalf("libp2p extracted %x, want %x", raw, a)
		}
	}
}

func TestParseAccountRejects(t *testing.T) {
	// A secp256k1 peer id and an RSA-style (sha256 multihash) peer id are valid
	// libp2p ids but not accounts.
	_, secpPub, err := ic.GenerateSecp256k1Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	secpID, _ := peer.IDFromPublicKey(secpPub)
	for _, s := range []string{
		"", "12D3KooW", "not base58 0OIl", secpID.String(),
		"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
		strings.Repeat("g", 64), // 64 characters but not hex: tried as base58, wrong length
	} {
		if _, err := ParseAccount(s); err == nil {
			t.Errorf("ParseAccount(%q) accepted", s)
		}
	}
	if _, err := ParseAccount(secpID.String()); !errors.Is(err, ErrNotEd25519PeerID) {
		t.Errorf("secp256k1 peer id: %v, want ErrNotEd25519PeerID", err)
	}
}

// TestDerivedLayouts rebuilds each WIRE §4 preimage byte by byte, independently of
// derive.go, so a wrong width, order or tag shows up here and not only as a
// changed golden value.
func TestDerivedLayouts(t *testing.T) {
	req, seed, post := fill(0xa1), fill(0xb2), fill(0xc3)
	worker := Account(fill(0xd4))
	outcome, salt, stdout := fill(0xe5), fill(0xf6), fill(0x17)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sum := func(b []byte) ID { return blake3.Sum256(b) }
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	be64 := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	for _, c := range []struct {
		name      string
		got, want ID
	}{
		{"incinerator", Incinerator, sum([]byte("guild/v1/incinerator\x00"))},
		{"network", NetworkID([]byte{0xa0}), sum([]byte("guild/v1/genesis\x00\xa0"))},
		{"batch empty", BatchHash(nil), sum([]byte("guild/v1/batch\x00"))},
		{"batch", BatchHash([]ID{req, seed}), sum(cat([]byte("guild/v1/batch\x00"), req[:], seed[:]))},
		{"seed", Seed(0x0102030405060708, req, seed), sum(cat([]byte("guild/v1/seed\x00"), []byte{1, 2, 3, 4, 5, 6, 7, 8}, req[:], seed[:]))},
		{"commitment", Commitment(req, 0x01020304, 0x05060708, worker, outcome, salt),
			sum(cat([]byte("guild/v1/commit\x00"), req[:], []byte{1, 2, 3, 4, 5, 6, 7, 8}, worker[:], outcome[:], salt[:]))},
		{"unavailable", UnavailableOutcome(req, 9), sum(cat([]byte("guild/v1/unavailable\x00"), req[:], be32(9)))},
		{"evidence", EvidencePostID(req, 2, 3), sum(cat([]byte("guild/v1/evidence\x00"), req[:], be32(2), be32(3)))},
		{"workpool", WorkPoolID(post), sum(cat([]byte("guild/v1/workpool\x00"), post[:]))},
		{"outcome", OutcomeHash(0xfe, 0x01020304, 0x1122334455667788, stdout),
			sum(cat([]byte("guild/v1/outcome\x00"), []byte{0xfe}, be32(0x01020304), be64(0x1122334455667788), stdout[:]))},
		{"blob", BlobID([]byte("x")), sum([]byte("x"))},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s want %s", c.name, c.got, c.want)
		}
	}
	xof := func(b []byte, n int) []byte {
		h := blake3.New()
		h.Write(b)
		out := make([]byte, n)
		io.ReadFull(h.Digest(), out)
		return out
	}
	// Streams: 200 bytes read in uneven pieces equal one read of the XOF.
	for _, c := range []struct {
		name string
		r    io.Reader
		want []byte
	}{
		{"committee", CommitteeStream(seed, req, 4, 5), xof(cat([]byte("guild/v1/committee\x00"), seed[:], req[:], be32(4), be32(5)), 200)},
		{"rand", JobRandomStream(req, 6), xof(cat([]byte("guild/v1/rand\x00"), req[:], be32(6)), 200)},
	} {
		var got []byte
		for _, n := range []int{1, 7, 64, 128} {
			got = append(got, readN(c.r, n)...)
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s stream differs", c.name)
		}
	}
	if got := Topic(ID{0xab}); got != "guild/v1/ab"+strings.Repeat("0", 62) {
		t.Errorf("topic %s", got)
	}
}
