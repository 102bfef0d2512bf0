package msg

import (
	"errors"
	"fmt"
)

// Reasons an envelope is rejected before it can reach any state. Every one is
// stateless: a node decides it from the bytes, the network id and the fixed
// ceilings of WIRE §3, so a pubsub validator may Reject (and score down) the
// sender. Each rejection carries exactly one of them:
//
//   - ErrOversized: more than envelope_max_bytes.
//   - ErrTruncated: the bytes end inside an item; every proper prefix of a valid
//     envelope gets this reason.
//   - ErrMalformed: not well-formed CBOR (reserved head values, a stray break,
//     text that is not UTF-8) or bytes after the last item.
//   - ErrNonCanonical: a valid value in a byte form other than its one canonical
//     form: an integer or length not in its shortest head, map keys out of order
//     or repeated, an indefinite length, a tag, a float, a boolean, null or
//     undefined, or a present key holding its default (an empty list, empty text,
//     zero, empty map) where WIRE §1 omits the key.
//   - ErrSchema: canonical CBOR that breaks WIRE §2–§3: a missing, unknown or
//     mistyped key, an id that is not 32 bytes, a list out of order, a fixed
//     ceiling exceeded, seq 0, prev present iff seq > 1 violated.
//   - ErrVersion, ErrUnknownKind: a body version or kind that v1 does not know.
//   - ErrWrongNetwork: the body names another network.
//   - ErrLamport: a lamport that no set of ancestors can give (WIRE §2).
//   - ErrBadSignature: the signature does not verify (ZIP-215).
var (
	ErrOversized    = errors.New("envelope larger than envelope_max_bytes")
	ErrTruncated    = errors.New("truncated envelope")
	ErrMalformed    = errors.New("malformed CBOR")
	ErrNonCanonical = errors.New("non-canonical encoding")
	ErrSchema       = errors.New("schema violation")
	ErrVersion      = errors.New("unsupported version")
	ErrWrongNetwork = errors.New("wrong network")
	ErrBadSignature = errors.New("bad signature")
	ErrLamport      = errors.New("wrong lamport")
	ErrUnknownKind  = errors.New("unknown kind")
)

// RejectError says why an envelope was rejected and where in it.
type RejectError struct {
	Reason error  // one of the Err… sentinels above
	Field  string // e.g. "body.parents", "payload(POST).title"; empty when the whole envelope is at fault
	Detail string
}

func (e *RejectError) Error() string {
	s := e.Reason.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *RejectError) Unwrap() error { return e.Reason }

func reject(reason error, field, format string, args ...any) error {
	return &RejectError{Reason: reason, Field: field, Detail: fmt.Sprintf(format, args...)}
}
