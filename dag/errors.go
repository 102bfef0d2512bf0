package dag

import (
	"errors"

	"github.com/guild-net/guild/msg"
)

// Status says what Ingest did with one envelope.
type Status uint8

const (
	// Accepted: the message entered the dag and is structurally valid. It is held
	// iff all its ancestors are held (see Node.Held).
	Accepted Status = iota + 1
	// Duplicate: the id is already stored (in the dag or in a buffer); nothing was done.
	Duplicate
	// Orphan: an ancestor is not in the dag yet; the message waits in the orphan
	// buffer and Result.Missing lists the ancestors to fetch.
	Orphan
	// Deferred: ts_ms lies beyond now + FutureSkewMs; Tick re-checks it later.
	Deferred
	// Rejected: the message entered the dag but is structurally invalid (Result.Reason);
	// it and its descendants are never held and are kept only as evidence.
	Rejected
	// Ignored: the author is not admitted; the message waits in the unadmitted
	// buffer until Promote or a re-ingest once the author is admitted.
	Ignored
)

var statusNames = [...]string{
	Accepted: "accepted", Duplicate: "duplicate", Orphan: "orphan",
	Deferred: "deferred", Rejected: "rejected", Ignored: "ignored",
}

func (s Status) String() string {
	if s >= Accepted && s <= Ignored {
		return statusNames[s]
	}
	return "status(?)"
}

// Reasons a message is structurally invalid (SPEC §3). Each is decided only once every
// ancestor is in the dag, so every node reaches the same verdict from the same set.
var (
	// ErrPrevMismatch: prev is not the author's message with seq−1.
	ErrPrevMismatch = errors.New("prev is not the author's seq−1 message")
	// ErrParentSameAuthor: a parent was written by the message's own author.
	ErrParentSameAuthor = errors.New("parent by the same author")
	// ErrLamport: lamport is not 1 + max(lamport of prev and parents). It is the same
	// sentinel as msg.ErrLamport so callers have one "wrong lamport" to branch on.
	ErrLamport = msg.ErrLamport
	// ErrTimestamp: ts_ms is smaller than the ts_ms of prev or of a parent.
	ErrTimestamp = errors.New("timestamp before an ancestor's")
)

// StructuralError is the reason a message in the dag is structurally invalid.
type StructuralError struct {
	Reason error  // one of the Err… sentinels above
	Detail string // which ancestor and which values
}

func (e *StructuralError) Error() string {
	if e.Detail == "" {
		return e.Reason.Error()
	}
	return e.Reason.Error() + ": " + e.Detail
}

func (e *StructuralError) Unwrap() error { return e.Reason }
