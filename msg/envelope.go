package msg

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"math"
	"strconv"

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
	Raw     []byte // the envelope bytes

	body []byte // the body bytes inside Raw
	prev ID     // storage Body.Prev points at, saving an allocation per decode
}

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
	max := o.MaxBytes
	if max <= 0 {
		max = DefaultEnvelopeMax
	}
	if len(data) > max {
		return nil, reject(ErrOversized, "", "%d bytes > %d", len(data), max)
	}
	body, sig, err := splitEnvelope(data)
	if err != nil {
		return nil, err
	}
	e := &Envelope{Raw: data, body: body}
	copy(e.Sig[:], sig)
	if err := decodeBody(body, &e.Body, &e.prev); err != nil {
		return nil, err
	}
	if err := e.Body.check(o.Network); err != nil {
		return nil, err
	}
	if e.Payload, err = DecodePayload(e.Body.Kind, e.Body.Payload); err != nil {
		return nil, err
	}
	e.ID = blake3.Sum256(body)
	if !o.SkipVerify {
		if err := e.VerifySignature(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// BodyBytes returns the body bytes: the preimage of the id.
func (e *Envelope) BodyBytes() []byte {
	if e.body != nil {
		return e.body
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
// that equality.
func decodeBody(b []byte, body *Body, prev *ID) error {
	major, pairs, off, err := readHead(b)
	if err != nil {
		return withField(err, "body")
	}
	if major != 5 {
		return reject(ErrSchema, "body", "want a map")
	}
	if pairs > uint64(len(bodyFields)) {
		return reject(ErrSchema, "body", "%d keys", pairs)
	}
	var seen uint64
	last := uint64(0)
	for i := uint64(0); i < pairs; i++ {
		km, key, kn, err := readHead(b[off:])
		if err != nil {
			return withField(err, "body")
		}
		if km != 0 {
			return reject(ErrSchema, "body", "map key is not an unsigned integer")
		}
		if key <= last {
			if key == last {
				return reject(ErrNonCanonical, "body", "duplicate map key %d", key)
			}
			return reject(ErrNonCanonical, "body", "map keys out of order at %d", key)
		}
		if key >= uint64(len(bodyFields)) || bodyKeys.allowed&(1<<key) == 0 {
			return reject(ErrSchema, "body", "unknown key %d", key)
		}
		last = key
		seen |= 1 << key
		off += kn
		v := b[off:]
		var n int
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
			if n, err = readFixed(v, prev[:]); err == nil {
				body.Prev = prev
			}
		case 6:
			body.Parents, n, err = readIDList(v, MaxParents)
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
		if err != nil {
			return withField(err, bodyFields[key])
		}
		off += n
	}
	if off != len(b) {
		return reject(ErrMalformed, "body", "%d trailing bytes", len(b)-off)
	}
	if missing := bodyKeys.required &^ seen; missing != 0 {
		for k := range bodyFields {
			if missing&(1<<k) != 0 {
				return reject(ErrSchema, bodyFields[k], "missing")
			}
		}
	}
	return nil
}

func readUint(b []byte) (uint64, int, error) {
	major, v, n, err := readHead(b)
	if err != nil {
		return 0, 0, err
	}
	if major != 0 {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: "want an unsigned integer, got " + majorName(major)}
	}
	return v, n, nil
}

func readBytes(b []byte) ([]byte, int, error) {
	major, l, n, err := readHead(b)
	if err != nil {
		return nil, 0, err
	}
	if major != 2 {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: "want a byte string, got " + majorName(major)}
	}
	if l > uint64(len(b)-n) {
		return nil, 0, errTruncated()
	}
	return b[n : n+int(l) : n+int(l)], n + int(l), nil
}

func readFixed(b []byte, dst []byte) (int, error) {
	v, n, err := readBytes(b)
	if err != nil {
		return 0, err
	}
	if len(v) != len(dst) {
		return 0, &RejectError{Reason: ErrSchema, Detail: "want " + strconv.Itoa(len(dst)) + " bytes, got " + strconv.Itoa(len(v))}
	}
	copy(dst, v)
	return n, nil
}

// readIDList reads a non-empty list of at most max ids. An empty list is not its
// canonical form: WIRE §1 omits the key instead.
func readIDList(b []byte, max int) ([]ID, int, error) {
	major, count, off, err := readHead(b)
	if err != nil {
		return nil, 0, err
	}
	if major != 4 {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: "want a list, got " + majorName(major)}
	}
	if count == 0 {
		return nil, 0, &RejectError{Reason: ErrNonCanonical, Detail: "empty list (omit the key instead)"}
	}
	if count > uint64(max) {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: strconv.FormatUint(count, 10) + " entries > " + strconv.FormatUint(uint64(max), 10)}
	}
	ids := make([]ID, count)
	for i := range ids {
		n, err := readFixed(b[off:], ids[i][:])
		if err != nil {
			return nil, 0, err
		}
		off += n
	}
	return ids, off, nil
}

func majorName(m byte) string {
	return [...]string{"unsigned integer", "negative integer", "byte string", "text", "list", "map", "tag", "simple value"}[m&7]
}

func (b *Body) check(network ID) error {
	if b.Version != Version {
		return reject(ErrVersion, "body.version", "%d", b.Version)
	}
	if b.Network != network {
		return reject(ErrWrongNetwork, "body.network", "%s, want %s", b.Network.Short(), network.Short())
	}
	if b.Seq == 0 {
		return reject(ErrSchema, "body.seq", "must be ≥ 1")
	}
	if (b.Seq == 1) != (b.Prev == nil) {
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
		if b.Prev != nil && b.Parents[i] == *b.Prev {
			return reject(ErrSchema, "body.parents", "lists prev")
		}
	}
	// lamport = 1 + max(lamport of prev and parents). Without the ancestors only
	// these bounds are decidable: exactly 1 with no ancestors, at least 2 with
	// some, at least seq (each earlier message of the chain adds one), at most 2^53.
	if b.Lamport > MaxLamport {
		return reject(ErrLamport, "body.lamport", "%d > 2^53", b.Lamport)
	}
	if b.Prev == nil && len(b.Parents) == 0 {
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
