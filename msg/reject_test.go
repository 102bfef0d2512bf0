package msg

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/zeebo/blake3"
)

// A tiny CBOR builder for hand-made bodies. It writes exactly what it is told, so
// the cases below can place one fault in an otherwise valid, validly signed
// envelope.

type kv struct {
	k uint64
	v []byte
}

func cU(v uint64) []byte   { return appendHead(nil, 0, v) }
func cNeg(v uint64) []byte { return appendHead(nil, 1, v) } // the integer −1−v
func cB(b []byte) []byte   { return append(appendHead(nil, 2, uint64(len(b))), b...) }
func cT(s string) []byte   { return append(appendHead(nil, 3, uint64(len(s))), s...) }
func cID(id ID) []byte     { return cB(id[:]) }

func cA(items ...[]byte) []byte {
	return append(appendHead(nil, 4, uint64(len(items))), bytes.Join(items, nil)...)
}

// cM writes the pairs in the order given, sorted or not.
func cM(kvs ...kv) []byte {
	b := appendHead(nil, 5, uint64(len(kvs)))
	for _, p := range kvs {
		b = append(b, cU(p.k)...)
		b = append(b, p.v...)
	}
	return b
}

func repeatItem(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func set(kvs []kv, k uint64, v []byte) []kv {
	out := append([]kv(nil), kvs...)
	for i := range out {
		if out[i].k == k {
			out[i].v = v
			return out
		}
	}
	out = append(out, kv{k, v})
	for i := len(out) - 1; i > 0 && out[i].k < out[i-1].k; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	return out
}

func del(kvs []kv, k uint64) []kv {
	var out []kv
	for _, p := range kvs {
		if p.k != k {
			out = append(out, p)
		}
	}
	return out
}

// envelopeOf frames body bytes with a valid signature by priv.
func envelopeOf(priv ed25519.PrivateKey, body []byte) []byte {
	id := ID(blake3.Sum256(body))
	raw := append([]byte{0x82}, cB(body)...)
	return append(raw, cB(ed25519.Sign(priv, SignedMessage(id)))...)
}

var (
	rejNet  = fill(0x4e)
	rejPrev = fill(0x50)
)

// basePost is a valid POST payload of the golden key.
func basePost() []kv {
	me := AccountOf(goldenKey())
	return []kv{
		{1, cT("title")},
		{2, cT("text")},
		{4, cA(cA(cID(ID(me)), cU(PPM)))},
	}
}

// baseBody is a valid body: seq 2 with prev, one parent, lamport 3.
func baseBody(kind Kind, payload []byte) []kv {
	me := AccountOf(goldenKey())
	return []kv{
		{1, cU(1)}, {2, cID(rejNet)}, {3, cID(ID(me))}, {4, cU(2)}, {5, cID(rejPrev)},
		{6, cA(cID(fill(0x60)))}, {7, cU(3)}, {8, cU(1_700_000_000_000)}, {9, cU(uint64(kind))},
		{10, cB(payload)},
	}
}

func withPayload(kind Kind, p []kv) []byte { return cM(baseBody(kind, cM(p...))...) }

func postWith(f func([]kv) []kv) []byte { return withPayload(KindPost, f(basePost())) }

func bodyWith(f func([]kv) []kv) []byte {
	return cM(f(baseBody(KindPost, cM(basePost()...)))...)
}

type rejectCase struct {
	name  string
	raw   []byte
	opt   *Options // nil: the default of the table
	want  error
	field string // the RejectError field must start with this
}

func rejectCases(t testing.TB) []rejectCase {
	priv := goldenKey()
	env := func(body []byte) []byte { return envelopeOf(priv, body) }
	good := env(cM(baseBody(KindPost, cM(basePost()...))...))
	goodBody := cM(baseBody(KindPost, cM(basePost()...))...)
	me := AccountOf(priv)
	big := strings.Repeat("x", MaxTextBytes-200)
	id := func(b byte) []byte { return cID(fill(b)) }
	vote := []kv{{1, id(3)}, {2, cU(1)}, {3, cU(5)}}
	request := []kv{{1, id(5)}, {3, id(7)}, {5, cU(1)}, {6, cU(1)}, {7, cU(1)}, {8, cU(1)}, {12, cT("wasm-wasi-v1")}}
	reveal := []kv{{1, id(1)}, {2, cU(0)}, {3, cU(0)}, {4, id(2)}, {5, cU(0)}, {6, cU(0)}, {7, cU(0)}, {8, id(3)}, {9, id(4)}}
	head := func(b byte, seq uint64) []byte { return cA(cID(ID(me)), cU(seq), id(b)) }
	return []rejectCase{
		{"valid", good, nil, nil, ""},

		// Truncated: the bytes end early.
		{"truncated/empty", nil, nil, ErrTruncated, "envelope"},
		{"truncated/in sig", good[:len(good)-1], nil, ErrTruncated, "sig"},
		{"truncated/in body", good[:40], nil, ErrTruncated, "body"},
		{"truncated/item inside body", env(goodBody[:len(goodBody)-1]), nil, ErrTruncated, "body"},

		// Oversized.
		{"oversized/default limit", env(postWith(func(p []kv) []kv {
			return set(p, 2, cT(big+big+big+big+big))
		})), nil, ErrOversized, ""},
		{"oversized/network limit", good, &Options{Network: rejNet, MaxBytes: len(good) - 1}, ErrOversized, ""},

		// Non-canonical: a valid value in a form other than the one form.
		{"non-canonical/long int head", env(bodyWith(func(b []kv) []kv { return set(b, 4, []byte{0x18, 0x02}) })), nil, ErrNonCanonical, "body.seq"},
		{"non-canonical/long 8-byte int head", env(bodyWith(func(b []kv) []kv { return set(b, 8, []byte{0x1b, 0, 0, 0, 0, 0, 0, 0, 1}) })), nil, ErrNonCanonical, "body.ts_ms"},
		{"non-canonical/long key head", env(append([]byte{0xaa, 0x18, 0x01}, goodBody[2:]...)), nil, ErrNonCanonical, "body"},
		{"non-canonical/long body length", append(append([]byte{0x82, 0x59, byte(len(goodBody) >> 8), byte(len(goodBody))}, goodBody...), good[len(good)-66:]...), nil, ErrNonCanonical, "body"},
		{"non-canonical/long sig length", append(append([]byte(nil), good[:len(good)-66]...), append([]byte{0x59, 0x00, 0x40}, good[len(good)-64:]...)...), nil, ErrNonCanonical, "sig"},
		{"non-canonical/keys out of order", env(cM(append([]kv{baseBody(KindPost, nil)[1], baseBody(KindPost, nil)[0]}, baseBody(KindPost, cM(basePost()...))[2:]...)...)), nil, ErrNonCanonical, "body"},
		{"non-canonical/duplicate key", env(cM(append(baseBody(KindPost, cM(basePost()...)), kv{10, cB(nil)})...)), nil, ErrNonCanonical, "body"},
		{"non-canonical/null parents", env(bodyWith(func(b []kv) []kv { return set(b, 6, []byte{0xf6}) })), nil, ErrNonCanonical, "body.parents"},
		{"non-canonical/empty parents", env(bodyWith(func(b []kv) []kv { return set(b, 6, cA()) })), nil, ErrNonCanonical, "body.parents"},
		{"non-canonical/null prev", env(bodyWith(func(b []kv) []kv { return set(b, 5, []byte{0xf6}) })), nil, ErrNonCanonical, "body.prev"},
		{"non-canonical/undefined", env(bodyWith(func(b []kv) []kv { return set(b, 8, []byte{0xf7}) })), nil, ErrNonCanonical, "body.ts_ms"},
		{"non-canonical/float", env(bodyWith(func(b []kv) []kv { return set(b, 8, []byte{0xf9, 0x3c, 0x00}) })), nil, ErrNonCanonical, "body.ts_ms"},
		{"non-canonical/tag", env(bodyWith(func(b []kv) []kv { return set(b, 8, append([]byte{0xc2}, cB([]byte{1})...)) })), nil, ErrNonCanonical, "body.ts_ms"},
		{"non-canonical/indefinite envelope", append([]byte{0x9f}, append(good[1:], 0xff)...), nil, ErrNonCanonical, "envelope"},
		{"non-canonical/indefinite parents", env(bodyWith(func(b []kv) []kv { return set(b, 6, []byte{0x9f, 0x58, 0x20, 0, 0xff}) })), nil, ErrNonCanonical, "body.parents"},
		{"non-canonical/indefinite byte string", env(bodyWith(func(b []kv) []kv { return set(b, 10, append(append([]byte{0x5f}, cB(cM(basePost()...))...), 0xff)) })), nil, ErrNonCanonical, "body.payload"},
		{"non-canonical/payload null tags", env(postWith(func(p []kv) []kv { return set(p, 6, []byte{0xf6}) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload empty tags", env(postWith(func(p []kv) []kv { return set(p, 6, cA()) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload empty citations", env(postWith(func(p []kv) []kv { return set(p, 5, cA()) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload empty params map", env(postWith(func(p []kv) []kv { return set(p, 8, cM()) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload params out of order", env(postWith(func(p []kv) []kv { return set(p, 8, cM(kv{12, cU(1)}, kv{11, cU(1)})) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload empty text with blob", env(postWith(func(p []kv) []kv { return set(set(p, 2, cT("")), 3, id(9)) })), nil, ErrNonCanonical, "payload(POST)"},
		{"non-canonical/payload zero optional int", env(withPayload(KindRequest, set(request, 9, cU(0)))), nil, ErrNonCanonical, "payload(REQUEST)"},
		{"non-canonical/payload boolean side", env(withPayload(KindVote, set(vote, 2, []byte{0xf5}))), nil, ErrNonCanonical, "payload(VOTE)"},
		{"non-canonical/payload long head", env(withPayload(KindVote, set(vote, 3, []byte{0x19, 0x00, 0x05}))), nil, ErrNonCanonical, "payload(VOTE)"},
		{"non-canonical/payload empty inline heads", env(withPayload(KindCheckpoint, []kv{{1, cU(1)}, {2, cA()}})), nil, ErrNonCanonical, "payload(CHECKPOINT)"},

		// Wrong network.
		{"wrong-network", good, &Options{Network: fill(0x4f)}, ErrWrongNetwork, "body.network"},

		// Bad signature.
		{"bad-signature/flipped bit", append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1), nil, ErrBadSignature, "sig"},
		{"bad-signature/other key", envelopeOf(otherKey(), goodBody), nil, ErrBadSignature, "sig"},
		{"bad-signature/no domain tag", append(append([]byte(nil), good[:len(good)-64]...), ed25519.Sign(priv, func() []byte { i := blake3.Sum256(goodBody); return i[:] }())...), nil, ErrBadSignature, "sig"},
		{"bad-signature/zero", append(append([]byte(nil), good[:len(good)-64]...), make([]byte, 64)...), nil, ErrBadSignature, "sig"},

		// Wrong lamport.
		{"wrong-lamport/zero", env(bodyWith(func(b []kv) []kv { return set(b, 7, cU(0)) })), nil, ErrLamport, "body.lamport"},
		{"wrong-lamport/no ancestors not 1", env(bodyWith(func(b []kv) []kv { return set(set(del(del(b, 5), 6), 4, cU(1)), 7, cU(2)) })), nil, ErrLamport, "body.lamport"},
		{"wrong-lamport/ancestors but 1", env(bodyWith(func(b []kv) []kv { return set(b, 7, cU(1)) })), nil, ErrLamport, "body.lamport"},
		{"wrong-lamport/below seq", env(bodyWith(func(b []kv) []kv { return set(set(b, 4, cU(9)), 7, cU(8)) })), nil, ErrLamport, "body.lamport"},
		{"wrong-lamport/above 2^53", env(bodyWith(func(b []kv) []kv { return set(b, 7, cU(1<<53+1)) })), nil, ErrLamport, "body.lamport"},

		// Schema: well-formed canonical CBOR that breaks WIRE §2–§3.
		{"schema/envelope not a pair", append([]byte{0x83}, append(good[1:], 0x00)...), nil, ErrSchema, "envelope"},
		{"schema/envelope is a map", append([]byte{0xa1}, good[1:]...), nil, ErrSchema, "envelope"},
		{"schema/sig 63 bytes", append(append([]byte(nil), good[:len(good)-66]...), cB(good[len(good)-63:])...), nil, ErrSchema, "sig"},
		{"schema/body not a map", env(cA(cU(1))), nil, ErrSchema, "body"},
		{"schema/unknown body key", env(bodyWith(func(b []kv) []kv { return set(b, 11, cU(0)) })), nil, ErrSchema, "body"},
		{"schema/text map key", env(append([]byte{0xaa, 0x61, 'a'}, goodBody[2:]...)), nil, ErrSchema, "body"},
		{"schema/missing ts_ms", env(bodyWith(func(b []kv) []kv { return del(b, 8) })), nil, ErrSchema, "body.ts_ms"},
		{"schema/missing payload", env(bodyWith(func(b []kv) []kv { return del(b, 10) })), nil, ErrSchema, "body.payload"},
		{"schema/seq zero", env(bodyWith(func(b []kv) []kv { return set(b, 4, cU(0)) })), nil, ErrSchema, "body.seq"},
		{"schema/seq 2 without prev", env(bodyWith(func(b []kv) []kv { return del(b, 5) })), nil, ErrSchema, "body.prev"},
		{"schema/seq 1 with prev", env(bodyWith(func(b []kv) []kv { return set(b, 4, cU(1)) })), nil, ErrSchema, "body.prev"},
		{"schema/negative seq", env(bodyWith(func(b []kv) []kv { return set(b, 4, cNeg(1)) })), nil, ErrSchema, "body.seq"},
		{"schema/text for uint", env(bodyWith(func(b []kv) []kv { return set(b, 8, cT("now")) })), nil, ErrSchema, "body.ts_ms"},
		{"schema/network 31 bytes", env(bodyWith(func(b []kv) []kv { return set(b, 2, cB(make([]byte, 31))) })), nil, ErrSchema, "body.network"},
		{"schema/author 33 bytes", env(bodyWith(func(b []kv) []kv { return set(b, 3, cB(make([]byte, 33))) })), nil, ErrSchema, "body.author"},
		{"schema/parent as text", env(bodyWith(func(b []kv) []kv { return set(b, 6, cA(cT(strings.Repeat("a", 32)))) })), nil, ErrSchema, "body.parents"},
		{"schema/parents unsorted", env(bodyWith(func(b []kv) []kv { return set(b, 6, cA(id(2), id(1))) })), nil, ErrSchema, "body.parents"},
		{"schema/parents repeated", env(bodyWith(func(b []kv) []kv { return set(b, 6, cA(id(2), id(2))) })), nil, ErrSchema, "body.parents"},
		{"schema/parents 17", env(bodyWith(func(b []kv) []kv {
			var ps [][]byte
			for i := range 17 {
				ps = append(ps, id(byte(i+1)))
			}
			return set(b, 6, cA(ps...))
		})), nil, ErrSchema, "body.parents"},
		{"schema/parent is prev", env(bodyWith(func(b []kv) []kv { return set(b, 6, cA(cID(rejPrev))) })), nil, ErrSchema, "body.parents"},
		{"schema/payload not bytes", env(bodyWith(func(b []kv) []kv { return set(b, 10, cM(basePost()...)) })), nil, ErrSchema, "body.payload"},
		{"schema/payload not a map", env(cM(baseBody(KindPost, cA())...)), nil, ErrSchema, "payload(POST)"},
		{"schema/payload unknown key", env(postWith(func(p []kv) []kv { return set(p, 9, cU(1)) })), nil, ErrSchema, "payload(POST)"},
		{"schema/payload missing title", env(postWith(func(p []kv) []kv { return del(p, 1) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post text and blob", env(postWith(func(p []kv) []kv { return set(p, 3, id(9)) })), nil, ErrSchema, "payload(POST).text"},
		{"schema/post neither text nor blob", env(postWith(func(p []kv) []kv { return del(p, 2) })), nil, ErrSchema, "payload(POST).text"},
		{"schema/post no authors", env(postWith(func(p []kv) []kv { return set(p, 4, cA()) })), nil, ErrSchema, "payload(POST).authors"},
		{"schema/post author pair of 3", env(postWith(func(p []kv) []kv { return set(p, 4, cA(cA(cID(ID(me)), cU(1), cU(2)))) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post title 257 bytes", env(postWith(func(p []kv) []kv { return set(p, 1, cT(strings.Repeat("t", 257))) })), nil, ErrSchema, "payload(POST).title"},
		{"schema/post text over 16 KiB", env(postWith(func(p []kv) []kv { return set(p, 2, cT(strings.Repeat("t", MaxTextBytes+1))) })), nil, ErrSchema, "payload(POST).text"},
		{"schema/post tags unsorted", env(postWith(func(p []kv) []kv { return set(p, 6, cA(cT("b"), cT("a"))) })), nil, ErrSchema, "payload(POST).tags"},
		{"schema/post tag 33 bytes", env(postWith(func(p []kv) []kv { return set(p, 6, cA(cT(strings.Repeat("a", 33)))) })), nil, ErrSchema, "payload(POST).tags"},
		{"schema/post citation weight text", env(postWith(func(p []kv) []kv { return set(p, 5, cA(cA(id(1), cT("1")))) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post citation weight below int64", env(postWith(func(p []kv) []kv { return set(p, 5, cA(cA(id(1), cNeg(1<<63)))) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post citations unsorted", env(postWith(func(p []kv) []kv { return set(p, 5, cA(cA(id(2), cU(1)), cA(id(1), cU(1)))) })), nil, ErrSchema, "payload(POST).citations"},
		{"schema/post module 31 bytes", env(postWith(func(p []kv) []kv { return set(p, 7, cB(make([]byte, 31))) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post param negative", env(postWith(func(p []kv) []kv { return set(p, 8, cM(kv{11, cNeg(0)})) })), nil, ErrSchema, "payload(POST)"},
		{"schema/post params map over 1024 entries", env(postWith(func(p []kv) []kv {
			var ps []kv
			for k := range uint64(1025) {
				ps = append(ps, kv{k, cU(1)})
			}
			return set(p, 8, cM(ps...))
		})), nil, ErrSchema, "payload(POST)"},
		{"schema/vote side 2", env(withPayload(KindVote, set(vote, 2, cU(2)))), nil, ErrSchema, "payload(VOTE).side"},
		{"schema/vote negative stake", env(withPayload(KindVote, set(vote, 3, cNeg(4)))), nil, ErrSchema, "payload(VOTE)"},
		{"schema/pool kind 2", env(withPayload(KindPoolOpen, []kv{{1, id(2)}, {2, cU(1)}, {3, cU(1)}, {4, cU(2)}})), nil, ErrSchema, "payload(POOL_OPEN).kind"},
		{"schema/request repeat without every", env(withPayload(KindRequest, set(request, 11, cU(3)))), nil, ErrSchema, "payload(REQUEST).repeat_every"},
		{"schema/request every without repeat", env(withPayload(KindRequest, set(request, 10, cU(3)))), nil, ErrSchema, "payload(REQUEST).repeat_every"},
		{"schema/request 33 args", env(withPayload(KindRequest, set(request, 4, cA(repeatItem(cT("a"), 33)...)))), nil, ErrSchema, "payload(REQUEST).args"},
		{"schema/request arg 257 bytes", env(withPayload(KindRequest, set(request, 4, cA(cT(strings.Repeat("a", 257)))))), nil, ErrSchema, "payload(REQUEST).args"},
		{"schema/commit run 2^32", env(withPayload(KindCommit, []kv{{1, id(1)}, {2, cU(1 << 32)}, {3, cU(0)}, {4, id(2)}})), nil, ErrSchema, "payload(COMMIT).run"},
		{"schema/reveal class 256", env(withPayload(KindReveal, set(reveal, 5, cU(256)))), nil, ErrSchema, "payload(REVEAL).class"},
		{"schema/reveal code 2^32", env(withPayload(KindReveal, set(reveal, 6, cU(1<<32)))), nil, ErrSchema, "payload(REVEAL).code"},
		{"schema/reveal salt 31 bytes", env(withPayload(KindReveal, set(reveal, 9, cB(make([]byte, 31))))), nil, ErrSchema, "payload(REVEAL)"},
		{"schema/deposit ref 65 bytes", env(withPayload(KindDeposit, []kv{{1, cID(ID(me))}, {2, cU(1)}, {3, cB(make([]byte, 65))}})), nil, ErrSchema, "payload(DEPOSIT).ref"},
		{"schema/withdraw missing ref", env(withPayload(KindWithdraw, []kv{{1, cU(1)}, {2, cID(ID(me))}})), nil, ErrSchema, "payload(WITHDRAW)"},
		{"schema/checkpoint heads and blob", env(withPayload(KindCheckpoint, []kv{{1, cU(1)}, {2, cA(head(1, 1))}, {3, id(2)}})), nil, ErrSchema, "payload(CHECKPOINT).heads"},
		{"schema/checkpoint heads unsorted", env(withPayload(KindCheckpoint, []kv{{1, cU(1)}, {2, cA(head(1, 2), head(1, 1))}})), nil, ErrSchema, "payload(CHECKPOINT).heads"},
		{"schema/checkpoint heads repeated", env(withPayload(KindCheckpoint, []kv{{1, cU(1)}, {2, cA(head(1, 1), head(1, 1))}})), nil, ErrSchema, "payload(CHECKPOINT).heads"},
		{"schema/unstake missing", env(withPayload(KindUnstake, nil)), nil, ErrSchema, "payload(UNSTAKE)"},
		{"schema/too deep", env(postWith(func(p []kv) []kv {
			v := cU(1)
			for range 10 {
				v = cA(v)
			}
			return set(p, 5, v)
		})), nil, ErrSchema, "payload(POST)"},

		// Version and kind.
		{"version/2", env(bodyWith(func(b []kv) []kv { return set(b, 1, cU(2)) })), nil, ErrVersion, "body.version"},
		{"kind/0", env(bodyWith(func(b []kv) []kv { return set(b, 9, cU(0)) })), nil, ErrUnknownKind, "body.kind"},
		{"kind/12", env(bodyWith(func(b []kv) []kv { return set(b, 9, cU(12)) })), nil, ErrUnknownKind, "body.kind"},
		{"kind/payload of another kind", env(cM(baseBody(KindVote, cM(basePost()...))...)), nil, ErrSchema, "payload(VOTE)"},

		// Malformed: not well-formed CBOR, or not one item.
		{"malformed/trailing byte", append(append([]byte(nil), good...), 0x00), nil, ErrMalformed, "envelope"},
		{"malformed/trailing byte in body", env(append(append([]byte(nil), goodBody...), 0x00)), nil, ErrMalformed, "body"},
		{"malformed/trailing byte in payload", env(cM(baseBody(KindPost, append(cM(basePost()...), 0x00))...)), nil, ErrMalformed, "payload(POST)"},
		{"malformed/reserved head", env(bodyWith(func(b []kv) []kv { return set(b, 8, []byte{0x1c}) })), nil, ErrMalformed, "body.ts_ms"},
		{"malformed/stray break", env(bodyWith(func(b []kv) []kv { return set(b, 8, []byte{0xff}) })), nil, ErrMalformed, "body.ts_ms"},
		{"malformed/title not UTF-8", env(postWith(func(p []kv) []kv { return set(p, 1, cT("\xff\xfe")) })), nil, ErrMalformed, "payload(POST)"},
	}
}

// TestRejectTable gives every way an envelope can be bad its own reason, on real,
// validly signed envelopes with one fault each.
func TestRejectTable(t *testing.T) {
	for _, c := range rejectCases(t) {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Network: rejNet}
			if c.opt != nil {
				o = *c.opt
			}
			e, err := Decode(c.raw, o)
			if c.want == nil {
				if err != nil {
					t.Fatalf("rejected a valid envelope: %v", err)
				}
				if e.ID != ID(blake3.Sum256(e.BodyBytes())) {
					t.Fatal("id is not the body hash")
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("%T is not a *RejectError", err)
			}
			if !strings.HasPrefix(re.Field, c.field) {
				t.Fatalf("field %q, want prefix %q (%v)", re.Field, c.field, err)
			}
			// The reason is exactly one sentinel: no case matches two.
			for _, s := range allReasons {
				if s != c.want && errors.Is(err, s) {
					t.Fatalf("%v also matches %v", err, s)
				}
			}
		})
	}
}

var allReasons = []error{ErrOversized, ErrTruncated, ErrMalformed, ErrNonCanonical, ErrSchema,
	ErrVersion, ErrWrongNetwork, ErrBadSignature, ErrLamport, ErrUnknownKind}

// TestEveryPrefixTruncated: any proper prefix of a valid envelope is truncation,
// never another reason, so a short read is always recognisable.
func TestEveryPrefixTruncated(t *testing.T) {
	for _, e := range goldenEnvelopes(t) {
		for n := 0; n < len(e.Raw); n++ {
			if _, err := Decode(e.Raw[:n], Options{Network: e.Body.Network}); !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v prefix of %d/%d bytes: %v", e.Body.Kind, n, len(e.Raw), err)
			}
		}
	}
}
