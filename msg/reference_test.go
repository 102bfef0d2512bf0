package msg

import (
	"bytes"
	"errors"

	"github.com/fxamacker/cbor/v2"
)

// The reference reading of WIRE §1: the reflection decoder plus a re-encode check.
// It was the production path of payloads (and, before that, of bodies) until the
// hand decoders replaced it; it stays here as the oracle the differential fuzz
// targets compare them with. It is slow and allocates, and it is independent of
// the hand decoders: it decodes by reflection and accepts a value only when
// encoding it again yields the same bytes.

var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		MaxNestedLevels:   maxDepth,
		MaxArrayElements:  maxListItems,
		MaxMapPairs:       maxMapPairs,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// unmarshalCanonical checks the byte form of data, decodes it into v and
// insists that re-encoding v gives data back.
func unmarshalCanonical(data []byte, v any, field string) error {
	if err := scanOne(data, field); err != nil {
		return err
	}
	return unmarshalScanned(data, v, field)
}

// unmarshalScanned decodes data, whose byte form the scanner has accepted, and
// insists that re-encoding the value gives data back. That check is what catches
// a value written where the canonical form omits the key: an empty list, an
// empty text, a zero optional integer, an empty map.
func unmarshalScanned(data []byte, v any, field string) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return decodeError(err, field)
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return reject(ErrSchema, field, "re-encode: %v", err)
	}
	if !bytes.Equal(again, data) {
		return reject(ErrNonCanonical, field, "a present key holds its default (an empty list, empty text, zero or empty map must be omitted)")
	}
	return nil
}

// decodeError types an error of the reflection decoder. The scanner has
// already vouched for the byte form, so what is left is a value of the wrong type
// or range.
func decodeError(err error, field string) error {
	var re *RejectError
	var ufe *cbor.UnknownFieldError
	var ute *cbor.UnmarshalTypeError
	var mme *cbor.MaxMapPairsError
	var mae *cbor.MaxArrayElementsError
	var mne *cbor.MaxNestedLevelError
	switch {
	case errors.As(err, &re):
		return reject(re.Reason, field, "%s", re.Detail)
	case errors.As(err, &ufe), errors.As(err, &ute), errors.As(err, &mme), errors.As(err, &mae), errors.As(err, &mne):
		return reject(ErrSchema, field, "%v", err)
	}
	return reject(ErrMalformed, field, "%v", err)
}

// scanOne checks that data is exactly one item in the canonical byte form.
func scanOne(data []byte, field string) error {
	n, err := scan(data, 0)
	if err != nil {
		return withField(err, field)
	}
	if n != len(data) {
		return reject(ErrMalformed, field, "%d trailing bytes", len(data)-n)
	}
	return nil
}

func newPayload(k Kind) Payload {
	switch k {
	case KindPost:
		return new(Post)
	case KindPoolOpen:
		return new(PoolOpen)
	case KindVote:
		return new(Vote)
	case KindAvailability:
		return new(Availability)
	case KindUnstake:
		return new(Unstake)
	case KindRequest:
		return new(Request)
	case KindCommit:
		return new(Commit)
	case KindReveal:
		return new(Reveal)
	case KindDeposit:
		return new(Deposit)
	case KindWithdraw:
		return new(Withdraw)
	case KindCheckpoint:
		return new(Checkpoint)
	}
	return nil
}

// refDecodePayload is DecodePayload as it was before the hand decoders: the keys
// and byte form by the scanner, the values by reflection and the re-encode check,
// then the kind's ceilings.
func refDecodePayload(k Kind, data []byte) (Payload, error) {
	p := newPayload(k)
	if p == nil {
		return nil, reject(ErrUnknownKind, "body.kind", "%d", uint64(k))
	}
	field := "payload(" + k.String() + ")"
	ks := payloadKeys[k]
	if err := checkKeys(data, ks.allowed, ks.required, field); err != nil {
		return nil, err
	}
	if err := unmarshalScanned(data, p, field); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		if re, ok := err.(*RejectError); ok {
			re.Field = field + "." + re.Field
		}
		return nil, err
	}
	return p, nil
}
