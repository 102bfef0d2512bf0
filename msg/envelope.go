package msg

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

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
}

// Options are the stateless limits of one network.
type Options struct {
	Network    ID
	MaxBytes   int  // envelope_max_bytes; 0 means DefaultEnvelopeMax
	SkipVerify bool // for replaying a log whose signatures were verified when it was stored
}

// Decode parses data and applies every stateless check of SPEC §3: size, canonical
// encoding, network, schema and fixed ceilings, and the signature. The error is a
// *RejectError whose Reason is one of the Err… sentinels.
func Decode(data []byte, o Options) (*Envelope, error) {
	max := o.MaxBytes
	if max == 0 {
		max = DefaultEnvelopeMax
	}
	if len(data) > max {
		return nil, reject(ErrOversized, "", "%d bytes > %d", len(data), max)
	}
	body, sig, err := splitEnvelope(data)
	if err != nil {
		return nil, err
	}
	e := &Envelope{Raw: data}
	copy(e.Sig[:], sig)
	if err := checkKeys(body, bodyKeys.allowed, bodyKeys.required, "body"); err != nil {
		return nil, err
	}
	if err := unmarshalCanonical(body, &e.Body, "body"); err != nil {
		return nil, err
	}
	if err := e.Body.check(o.Network); err != nil {
		return nil, err
	}
	if e.Payload, err = DecodePayload(e.Body.Kind, e.Body.Payload); err != nil {
		return nil, err
	}
	e.ID = blake3.Sum256(body)
	if !o.SkipVerify && !Verify(e.Body.Author, e.ID, e.Sig[:]) {
		return nil, reject(ErrBadSignature, "sig", "")
	}
	return e, nil
}

// BodyBytes returns the body slice of the raw envelope.
func (e *Envelope) BodyBytes() []byte {
	b, _, _ := splitEnvelope(e.Raw)
	return b
}

// splitEnvelope reads the two-element array [body bstr, sig bstr(64)].
func splitEnvelope(data []byte) (body, sig []byte, err error) {
	if len(data) == 0 {
		return nil, nil, reject(ErrTruncated, "", "empty")
	}
	if data[0] != 0x82 {
		return nil, nil, reject(ErrMalformed, "", "envelope is not a 2-element array")
	}
	major, n, hn, herr := head(data[1:])
	if herr != nil {
		return nil, nil, reject(ErrTruncated, "body", "%v", herr)
	}
	if major != 2 {
		return nil, nil, reject(ErrMalformed, "body", "not a byte string")
	}
	if !minimalHead(data[1:], n, hn) {
		return nil, nil, reject(ErrNonCanonical, "body", "length not in shortest form")
	}
	off := 1 + hn
	if n > uint64(len(data)-off) {
		return nil, nil, reject(ErrTruncated, "body", "%d of %d bytes", len(data)-off, n)
	}
	body = data[off : off+int(n)]
	off += int(n)
	rest := data[off:]
	if len(rest) < 2 {
		return nil, nil, reject(ErrTruncated, "sig", "")
	}
	if rest[0] != 0x58 || rest[1] != 64 {
		return nil, nil, reject(ErrMalformed, "sig", "want a 64-byte string")
	}
	if len(rest) < 66 {
		return nil, nil, reject(ErrTruncated, "sig", "%d of 64 bytes", len(rest)-2)
	}
	if len(rest) > 66 {
		return nil, nil, reject(ErrMalformed, "", "%d trailing bytes", len(rest)-66)
	}
	return body, rest[2:66], nil
}

func minimalHead(b []byte, arg uint64, n int) bool {
	switch n {
	case 1:
		return true
	case 2:
		return arg >= 24
	case 3:
		return arg > 0xff
	case 5:
		return arg > 0xffff
	default:
		return arg > 0xffffffff
	}
}

func (b *Body) check(network ID) error {
	if b.Version != Version {
		return reject(ErrVersion, "body.version", "%d", b.Version)
	}
	if b.Network != network {
		return reject(ErrWrongNetwork, "body.network", "%s", b.Network.Short())
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
	for i := 1; i < len(b.Parents); i++ {
		if bytes.Compare(b.Parents[i-1][:], b.Parents[i][:]) >= 0 {
			return reject(ErrSchema, "body.parents", "not sorted and unique")
		}
	}
	if b.Lamport == 0 || b.Lamport > MaxLamport {
		return reject(ErrLamport, "body.lamport", "%d outside 1–2^53", b.Lamport)
	}
	if b.Prev == nil && len(b.Parents) == 0 && b.Lamport != 1 {
		return reject(ErrLamport, "body.lamport", "%d, want 1 for a message without ancestors", b.Lamport)
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
	e := &Envelope{ID: id, Body: b, Payload: p, Raw: raw}
	copy(e.Sig[:], sig)
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
