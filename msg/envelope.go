package msg

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"

	"github.com/hdevalence/ed25519consensus"
	"github.com/zeebo/blake3"
)

// Version is the only body version of v1.
const Version = 1

// Body is the signed part of an envelope (WIRE §2).
type Body struct {
	Version uint64  `cbor:"1,keyasint"`
	Network ID      `cbor:"2,keyasint"`
	Author  Account `cbor:"3,keyasint"`
	Seq     uint64  `cbor:"4,keyasint"`
	Prev    *ID     `cbor:"5,keyasint,omitempty"`
	Parents []ID    `cbor:"6,keyasint,omitempty"`
	Lamport uint64  `cbor:"7,keyasint"`
	TsMs    uint64  `cbor:"8,keyasint"`
	Kind    Kind    `cbor:"9,keyasint"`
	Payload []byte  `cbor:"10,keyasint"`
}

var bodyKeys = struct{ allowed, required uint64 }{keys(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), keys(1, 2, 3, 4, 7, 8, 9, 10)}

// Envelope is a decoded, checked, signed message.
type Envelope struct {
	ID      ID
	Body    Body
	Payload Payload
	Sig     [64]byte
	// Raw is the envelope bytes, and Body.Payload the payload's within them. An
	// envelope a StoredDecoder gave keeps neither (both are nil): the node's store
	// holds the bytes. Size gives the length either way.
	Raw []byte

	prev ID // storage Body.Prev points at, saving an allocation per decode
	size uint32
	// bodyAt is where the body starts in Raw (0: not decoded). It ends where the
	// signature's 66 bytes begin. An offset rather than a slice: the collector
	// follows every pointer of every kept envelope on every cycle.
	bodyAt uint8
}

// sigBytes is the length of the signature item that ends an envelope: 0x58 0x40
// and 64 bytes (splitEnvelope accepts nothing else).
const sigBytes = 2 + 64

// Options are the stateless limits of one network.
type Options struct {
	Network    ID
	MaxBytes   int  // envelope_max_bytes; 0 means DefaultEnvelopeMax
	SkipVerify bool // decode only: for a log verified when stored, or to verify later with VerifyBatch
}

// Decode parses data and applies every stateless check of SPEC §3: size, canonical
// encoding, network, schema and fixed ceilings, and the signature. The error is a
// *RejectError whose Reason is one of the Err… sentinels. The envelope keeps data
// (Raw and the body point into it), so the caller must not modify it afterwards.
//
// Checks run cheapest first, and the signature last, so junk costs no curve
// arithmetic.
func Decode(data []byte, o Options) (*Envelope, error) {
	e, err := decode(data, o, nil)
	if err != nil {
		return nil, err
	}
	e.ID = blake3.Sum256(e.BodyBytes())
	if !o.SkipVerify {
		if err := e.VerifySignature(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// DecodeStored is Decode with SkipVerify (whatever o.SkipVerify says) for an
// envelope read back from the node's own store, whose id the store recorded
// with it: the id is taken from the caller instead of hashing the body again,
// which is a large share of decoding a ~300-byte message. Every other check runs,
// with the same reasons as Decode.
//
// It is safe only there. The store records an envelope under the id Decode
// derived from these very bytes, after the signature over that id verified, and
// pebble checksums every block it reads back, so a torn or rotted record is a
// read error rather than other bytes under the old id. Bytes from anywhere else
// (a peer, sync, the API, a file) must go through Decode: an id taken on trust
// would let a sender pair any body with any id and signature.
func DecodeStored(data []byte, id ID, o Options) (*Envelope, error) {
	e, err := decode(data, o, nil)
	if err != nil {
		return nil, err
	}
	e.ID = id
	return e, nil
}

// decode applies every check of Decode but the signature, and leaves the id to
// the caller. With an arena, what the envelope holds comes from its slabs.
func decode(data []byte, o Options, a *arena) (*Envelope, error) {
	max := o.MaxBytes
	if max <= 0 {
		max = DefaultEnvelopeMax
	}
	if len(data) > max || uint64(len(data)) > math.MaxUint32 {
		return nil, reject(ErrOversized, "", "%d bytes > %d", len(data), max)
	}
	body, sig, err := splitEnvelope(data)
	if err != nil {
		return nil, err
	}
	// The body decodes onto the stack first: its kind says which payload to
	// allocate the envelope with.
	var b Body
	var prev ID
	hasPrev, err := decodeBodyFields(body, &b, &prev, a)
	if err != nil {
		return nil, err
	}
	// Body.Prev is set only once the envelope is allocated: a pointer to prev in
	// b would move prev to the heap (b.Payload escapes, and escape analysis does
	// not tell the fields of b apart).
	var pp *ID
	if hasPrev {
		pp = &prev
	}
	if err := b.checkPrev(o.Network, pp); err != nil {
		return nil, err
	}
	e, p, err := decodePayload(b.Kind, b.Payload, true, a)
	if err != nil {
		return nil, err
	}
	e.Body, e.Payload, e.Raw, e.prev, e.size = b, p, data, prev, uint32(len(data))
	// The body starts after two heads of at most 9 bytes each, so it fits.
	e.bodyAt = uint8(len(data) - sigBytes - len(body))
	if hasPrev {
		e.Body.Prev = &e.prev
	}
	copy(e.Sig[:], sig)
	return e, nil
}

// Size is the length of the envelope's bytes.
func (e *Envelope) Size() int { return int(e.size) }

// BodyBytes returns the body bytes: the preimage of the id. It is nil for an
// envelope that does not keep its bytes (see Raw).
func (e *Envelope) BodyBytes() []byte {
	if e.Raw == nil {
		return nil
	}
	if e.bodyAt != 0 {
		return e.Raw[e.bodyAt : len(e.Raw)-sigBytes]
	}
	b, _, _ := splitEnvelope(e.Raw)
	return b
}

// VerifySignature checks the envelope's signature (ZIP-215). Decode does it unless
// Options.SkipVerify is set; VerifyBatch does it for many envelopes at once.
func (e *Envelope) VerifySignature() error {
	if !Verify(e.Body.Author, e.ID, e.Sig[:]) {
		return reject(ErrBadSignature, "sig", "does not verify for author %s", e.Body.Author)
	}
	return nil
}

// splitEnvelope reads the two-element array [body bstr, sig bstr(64)]. Any proper
// prefix of a valid envelope is reported as truncated.
func splitEnvelope(data []byte) (body, sig []byte, err error) {
	major, n, off, err := readHead(data)
	if err != nil {
		return nil, nil, withField(err, "envelope")
	}
	if major != 4 || n != 2 {
		return nil, nil, reject(ErrSchema, "envelope", "want an array [body, sig]")
	}
	major, n, hn, err := readHead(data[off:])
	if err != nil {
		return nil, nil, withField(err, "body")
	}
	if major != 2 {
		return nil, nil, reject(ErrSchema, "body", "want a byte string")
	}
	off += hn
	if n > uint64(len(data)-off) {
		return nil, nil, reject(ErrTruncated, "body", "%d of %d bytes", len(data)-off, n)
	}
	body = data[off : off+int(n)]
	off += int(n)
	major, n, hn, err = readHead(data[off:])
	if err != nil {
		return nil, nil, withField(err, "sig")
	}
	if major != 2 || n != 64 {
		return nil, nil, reject(ErrSchema, "sig", "want a 64-byte string")
	}
	off += hn
	if len(data)-off < 64 {
		return nil, nil, reject(ErrTruncated, "sig", "%d of 64 bytes", len(data)-off)
	}
	if len(data)-off > 64 {
		return nil, nil, reject(ErrMalformed, "envelope", "%d trailing bytes", len(data)-off-64)
	}
	return body, data[off:], nil
}

var bodyFields = [...]string{
	1: "body.version", 2: "body.network", 3: "body.author", 4: "body.seq", 5: "body.prev",
	6: "body.parents", 7: "body.lamport", 8: "body.ts_ms", 9: "body.kind", 10: "body.payload",
}

// decodeBody decodes the body map by hand: it is on every message's path, and a
// reflection decode plus the re-encode check cost several times more. It enforces
// the same byte form the re-encode check would (shortest heads, ascending keys,
// parents omitted when empty), so Marshal of the result equals b; FuzzDecode checks
// that equality. Body.Prev points at prev when present.
func decodeBody(b []byte, body *Body, prev *ID) error {
	hasPrev, err := decodeBodyFields(b, body, prev, nil)
	if hasPrev {
		body.Prev = prev
	}
	return err
}

// decodeBodyFields is decodeBody but for setting Body.Prev: it only copies the
// prev id into *prev and says whether there was one. Storing the pointer is left
// to the caller, so that a caller decoding into its own stack does not make the
// compiler move prev to the heap. With an arena, the parents come from it.
func decodeBodyFields(b []byte, body *Body, prev *ID, a *arena) (bool, error) {
	if hasPrev, ok := fastBody(b, body, prev, a); ok {
		return hasPrev, nil
	}
	// Not the common form: start again with the strict readers, which also name
	// the fault if there is one.
	*body, *prev = Body{}, ID{}
	seen, err := walkMap(b, len(bodyFields), bodyKeys.allowed, func(key uint64, v []byte) (n int, err error) {
		switch key {
		case 1:
			body.Version, n, err = readUint(v)
		case 2:
			n, err = readFixed(v, body.Network[:])
		case 3:
			n, err = readFixed(v, body.Author[:])
		case 4:
			body.Seq, n, err = readUint(v)
		case 5:
			n, err = readFixed(v, prev[:])
		case 6:
			body.Parents, n, err = readIDList(v, MaxParents, a)
		case 7:
			body.Lamport, n, err = readUint(v)
		case 8:
			body.TsMs, n, err = readUint(v)
		case 9:
			var k uint64
			k, n, err = readUint(v)
			body.Kind = Kind(k)
		case 10:
			body.Payload, n, err = readBytes(v)
		}
		return n, withField(err, bodyFields[key])
	})
	if err != nil {
		return false, withField(err, "body")
	}
	if k, ok := missingKey(bodyKeys.required, seen); ok {
		return false, reject(ErrSchema, bodyFields[k], "missing")
	}
	return seen&(1<<5) != 0, nil
}

// fastBody decodes a body that is in the form nearly every body has, byte for
// byte, without the general map walk: keys 1 to 10 in order, each a single byte,
// ids as 0x58 0x20 and 32 bytes, at most 16 parents, integers in their shortest
// form, a payload shorter than 64 KiB. It accepts only bytes decodeBodyFields
// accepts, as the same values; for anything else it says !ok, leaving body and
// prev partly written, and the caller decodes again the general way.
// FuzzDecode holds the two ways to the reflection decoder.
func fastBody(b []byte, body *Body, prev *ID, a *arena) (hasPrev, ok bool) {
	if len(b) == 0 || b[0] < 0xa8 || b[0] > 0xaa { // a map of 8 to 10 pairs
		return false, false
	}
	pairs := int(b[0] & 0x1f)
	off := 1
	var seen uint64
	last := byte(0)
	for range pairs {
		if off >= len(b) {
			return false, false
		}
		key := b[off]
		if key <= last || key > 10 {
			return false, false
		}
		last = key
		seen |= 1 << key
		off++
		v := b[off:]
		var n int
		switch key {
		case 1, 4, 7, 8, 9:
			var x uint64
			if x, n = shortUint(v); n == 0 {
				return false, false
			}
			switch key {
			case 1:
				body.Version = x
			case 4:
				body.Seq = x
			case 7:
				body.Lamport = x
			case 8:
				body.TsMs = x
			case 9:
				body.Kind = Kind(x)
			}
		case 2, 3, 5:
			if len(v) < 34 || v[0] != 0x58 || v[1] != 32 {
				return false, false
			}
			switch key {
			case 2:
				copy(body.Network[:], v[2:34])
			case 3:
				copy(body.Author[:], v[2:34])
			case 5:
				copy(prev[:], v[2:34])
			}
			n = 34
		case 6:
			if len(v) == 0 || v[0] < 0x81 || v[0] > 0x80+MaxParents {
				return false, false
			}
			count := int(v[0] & 0x1f)
			if len(v) < 1+34*count {
				return false, false
			}
			for i := range count {
				if id := v[1+34*i:]; id[0] != 0x58 || id[1] != 32 {
					return false, false
				}
			}
			var ids []ID
			if a != nil {
				ids = a.ids(count)
			} else {
				ids = make([]ID, count)
			}
			for i := range ids {
				copy(ids[i][:], v[3+34*i:35+34*i])
			}
			body.Parents = ids
			n = 1 + 34*count
		case 10:
			l, hn := 0, 0
			switch {
			case len(v) > 0 && v[0] >= 0x40 && v[0] < 0x58:
				l, hn = int(v[0]-0x40), 1
			case len(v) > 1 && v[0] == 0x58 && v[1] >= 24:
				l, hn = int(v[1]), 2
			case len(v) > 2 && v[0] == 0x59 && v[1] != 0:
				l, hn = int(v[1])<<8|int(v[2]), 3
			default:
				return false, false
			}
			if len(v)-hn < l {
				return false, false
			}
			body.Payload = v[hn : hn+l : hn+l]
			n = hn + l
		}
		off += n
	}
	if off != len(b) || seen&bodyKeys.required != bodyKeys.required {
		return false, false
	}
	return seen&(1<<5) != 0, true
}

func (b *Body) check(network ID) error { return b.checkPrev(network, b.Prev) }

// checkPrev is check with prev standing for b.Prev.
func (b *Body) checkPrev(network ID, prev *ID) error {
	if b.Version != Version {
		return reject(ErrVersion, "body.version", "%d", b.Version)
	}
	if b.Network != network {
		return reject(ErrWrongNetwork, "body.network", "%s, want %s", b.Network.Short(), network.Short())
	}
	if b.Seq == 0 {
		return reject(ErrSchema, "body.seq", "must be ≥ 1")
	}
	if (b.Seq == 1) != (prev == nil) {
		return reject(ErrSchema, "body.prev", "absent iff seq = 1")
	}
	if len(b.Parents) > MaxParents {
		return reject(ErrSchema, "body.parents", "%d > %d", len(b.Parents), MaxParents)
	}
	for i := range b.Parents {
		if i > 0 && bytes.Compare(b.Parents[i-1][:], b.Parents[i][:]) >= 0 {
			return reject(ErrSchema, "body.parents", "not sorted and unique")
		}
		// Parents are other authors' messages; prev is the author's own.
		if prev != nil && b.Parents[i] == *prev {
			return reject(ErrSchema, "body.parents", "lists prev")
		}
	}
	// lamport = 1 + max(lamport of prev and parents). Without the ancestors only
	// these bounds are decidable: exactly 1 with no ancestors, at least 2 with
	// some, at least seq (each earlier message of the chain adds one), at most 2^53.
	if b.Lamport > MaxLamport {
		return reject(ErrLamport, "body.lamport", "%d > 2^53", b.Lamport)
	}
	if prev == nil && len(b.Parents) == 0 {
		if b.Lamport != 1 {
			return reject(ErrLamport, "body.lamport", "%d, want 1 for a message without ancestors", b.Lamport)
		}
	} else if b.Lamport < 2 || b.Lamport < b.Seq {
		return reject(ErrLamport, "body.lamport", "%d is below %d, the least a message with ancestors at seq %d can have", b.Lamport, max(2, b.Seq), b.Seq)
	}
	if !b.Kind.Valid() {
		return reject(ErrUnknownKind, "body.kind", "%d", uint64(b.Kind))
	}
	return nil
}

// Verify checks an Ed25519 signature over the domain tag and id, with ZIP-215 rules.
func Verify(author Account, id ID, sig []byte) bool {
	var m [len(SigDomain) + 32]byte
	copy(m[:], SigDomain)
	copy(m[len(SigDomain):], id[:])
	return ed25519consensus.Verify(ed25519.PublicKey(author[:]), m[:], sig)
}

// SignedMessage gives the bytes an author signs for message id.
func SignedMessage(id ID) []byte {
	m := make([]byte, 0, len(SigDomain)+32)
	m = append(m, SigDomain...)
	return append(m, id[:]...)
}

// AccountOf gives the account of an Ed25519 key.
func AccountOf(priv ed25519.PrivateKey) Account {
	var a Account
	copy(a[:], priv.Public().(ed25519.PublicKey))
	return a
}

// Seal encodes body with payload p, signs it with priv and returns the envelope.
// It fills Author and Kind from the key and payload; lamport and the chain links
// are the caller's.
func Seal(priv ed25519.PrivateKey, b Body, p Payload) (*Envelope, error) {
	var err error
	b.Version = Version
	b.Author = AccountOf(priv)
	b.Kind = p.Kind()
	if b.Payload, err = EncodePayload(p); err != nil {
		return nil, err
	}
	if err := b.check(b.Network); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	body, err := encMode.Marshal(&b)
	if err != nil {
		return nil, fmt.Errorf("seal: encode body: %w", err)
	}
	id := ID(blake3.Sum256(body))
	sig := ed25519.Sign(priv, SignedMessage(id))
	raw := make([]byte, 0, len(body)+80)
	raw = append(raw, 0x82)
	raw = appendHead(raw, 2, uint64(len(body)))
	raw = append(raw, body...)
	raw = append(raw, 0x58, 64)
	raw = append(raw, sig...)
	// Whatever Seal emits must pass Decode, or an honest author would publish a
	// message every peer rejects (e.g. a title that is not UTF-8).
	e, err := Decode(raw, Options{Network: b.Network, MaxBytes: math.MaxInt, SkipVerify: true})
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return e, nil
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
