package msg

import (
	"errors"
	"fmt"
)

// Reasons an envelope is rejected before it can reach any state. Every one is
// stateless: a node can decide it from the bytes, the network id and the fixed
// ceilings of WIRE §3, so a pubsub validator may punish the sender for it.
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
