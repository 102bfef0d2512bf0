package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Stable error codes. A client branches on Code; Message is for people.
const (
	CodeBadRequest  = "bad_request"  // the HTTP request itself is malformed
	CodeNotFound    = "not_found"    // no such epoch, blob, account row, post or pool
	CodeNotComputed = "not_computed" // no epoch computed yet
	CodeUnavailable = "unavailable"  // the node is starting, stopping or overloaded; retry
	CodeStorage     = "storage"      // the store failed; nothing was acknowledged
	CodeInternal    = "internal"
	// CodeOwnAccount: an envelope signed by the node's own account was submitted. The
	// node alone signs on its account's chain (a second signer forks it); use
	// POST /v1/publish to have the node sign a payload.
	CodeOwnAccount = "own_account"
	// CodeKeyInUse: the node stopped signing because a message of its own account
	// that it did not write appeared (another node uses the key, or the store was
	// restored from a stale copy). See docs/operations.md.
	CodeKeyInUse = "key_in_use"
	// CodeBadPayload: POST /v1/publish or /v1/check got a payload that does not decode
	// for its kind.
	CodeBadPayload = "bad_payload"

	// Stateless envelope rejections (SPEC §3), one per msg.Err… reason.
	CodeOversized    = "envelope_oversized"
	CodeTruncated    = "envelope_truncated"
	CodeMalformed    = "envelope_malformed"
	CodeNonCanonical = "envelope_non_canonical"
	CodeSchema       = "envelope_schema"
	CodeVersion      = "envelope_version"
	CodeWrongNetwork = "envelope_wrong_network"
	CodeBadSignature = "envelope_bad_signature"
	CodeLamport      = "envelope_lamport"
	CodeUnknownKind  = "envelope_unknown_kind"
	// Structural invalidity found once the ancestors are present (SPEC §3). The
	// envelope is stored as evidence but will never be held.
	CodePrevMismatch     = "structure_prev_mismatch"
	CodeParentSameAuthor = "structure_parent_same_author"
	CodeStructLamport    = "structure_lamport"
	CodeTimestamp        = "structure_timestamp"
)

// Error is a typed API error: an HTTP status, a stable code and a message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the envelope field at fault, for envelope rejections.
	Field string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Errorf builds an *Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a CodeNotFound error.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, format, args...)
}

// asError maps any error to an *Error (internal when untyped).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Status == 0 {
			e.Status = http.StatusInternalServerError
		}
		return e
	}
	return Errorf(http.StatusInternalServerError, CodeInternal, "%v", err)
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
