package msg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// The codec is RFC 8949 core deterministic encoding, with integer map keys and no
// null, undefined, floats, tags or indefinite lengths (WIRE §1). Decoding is strict,
// and a value is accepted only when encoding it again yields the same bytes, so
// every value has exactly one byte form and one id.
var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		MaxNestedLevels:   8,
		MaxArrayElements:  65536,
		MaxMapPairs:       1024,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v in the canonical form.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// unmarshalCanonical decodes data into v and insists that re-encoding v gives data back.
func unmarshalCanonical(data []byte, v any, field string) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		var ufe *cbor.UnknownFieldError
		var dke *cbor.DupMapKeyError
		var ute *cbor.UnmarshalTypeError
		var re *RejectError
		switch {
		case errors.As(err, &re):
			return reject(re.Reason, field, "%s", re.Detail)
		case errors.As(err, &ufe), errors.As(err, &ute):
			return reject(ErrSchema, field, "%v", err)
		case errors.As(err, &dke):
			return reject(ErrNonCanonical, field, "%v", err)
		}
		return reject(ErrMalformed, field, "%v", err)
	}
	again, err := encMode.Marshal(v)
	if err != nil {
		return reject(ErrMalformed, field, "re-encode: %v", err)
	}
	if !bytes.Equal(again, data) {
		return reject(ErrNonCanonical, field, "re-encoding differs")
	}
	return nil
}

// head reads one CBOR item head: major type, argument, header length.
func head(b []byte) (major byte, arg uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, ErrTruncated
	}
	major, ai := b[0]>>5, b[0]&0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), 1, nil
	case ai == 24:
		if len(b) < 2 {
			return 0, 0, 0, ErrTruncated
		}
		return major, uint64(b[1]), 2, nil
	case ai == 25:
		if len(b) < 3 {
			return 0, 0, 0, ErrTruncated
		}
		return major, uint64(binary.BigEndian.Uint16(b[1:])), 3, nil
	case ai == 26:
		if len(b) < 5 {
			return 0, 0, 0, ErrTruncated
		}
		return major, uint64(binary.BigEndian.Uint32(b[1:])), 5, nil
	case ai == 27:
		if len(b) < 9 {
			return 0, 0, 0, ErrTruncated
		}
		return major, binary.BigEndian.Uint64(b[1:]), 9, nil
	}
	return 0, 0, 0, ErrMalformed
}

// skip returns the length of the complete item at the start of b.
func skip(b []byte, depth int) (int, error) {
	if depth > 8 {
		return 0, ErrMalformed
	}
	major, arg, n, err := head(b)
	if err != nil {
		return 0, err
	}
	switch major {
	case 0, 1, 7:
		return n, nil
	case 2, 3:
		if arg > uint64(len(b)-n) {
			return 0, ErrTruncated
		}
		return n + int(arg), nil
	case 4, 5:
		items := arg
		if major == 5 {
			if arg > math.MaxUint32 {
				return 0, ErrMalformed
			}
			items *= 2
		}
		if items > uint64(len(b)) {
			return 0, ErrTruncated
		}
		off := n
		for i := uint64(0); i < items; i++ {
			m, err := skip(b[off:], depth+1)
			if err != nil {
				return 0, err
			}
			off += m
		}
		return off, nil
	}
	return 0, ErrMalformed // tags (6)
}

// checkKeys scans the top-level map of data and checks that its keys are unsigned
// integers drawn from allowed and that every key of required is present. Key sets
// are bit masks (bit k for key k); every key in v1 is below 64.
func checkKeys(data []byte, allowed, required uint64, field string) error {
	major, pairs, n, err := head(data)
	if err != nil {
		return reject(ErrTruncated, field, "%v", err)
	}
	if major != 5 {
		return reject(ErrSchema, field, "want a map, got major type %d", major)
	}
	if pairs > 64 {
		return reject(ErrSchema, field, "%d keys", pairs)
	}
	off := n
	var seen uint64
	for i := uint64(0); i < pairs; i++ {
		km, key, kn, err := head(data[off:])
		if err != nil {
			return reject(ErrTruncated, field, "%v", err)
		}
		if km != 0 {
			return reject(ErrSchema, field, "map key of major type %d", km)
		}
		if key >= 64 || allowed&(1<<key) == 0 {
			return reject(ErrSchema, field, "unknown key %d", key)
		}
		if seen&(1<<key) != 0 {
			return reject(ErrNonCanonical, field, "duplicate key %d", key)
		}
		seen |= 1 << key
		off += kn
		vn, err := skip(data[off:], 1)
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return reject(ErrTruncated, field, "value of key %d", key)
			}
			return reject(ErrMalformed, field, "value of key %d: %v", key, err)
		}
		off += vn
	}
	if off != len(data) {
		return reject(ErrMalformed, field, "%d trailing bytes", len(data)-off)
	}
	if missing := required &^ seen; missing != 0 {
		for k := 0; k < 64; k++ {
			if missing&(1<<k) != 0 {
				return reject(ErrSchema, field, "missing key %d", k)
			}
		}
	}
	return nil
}

func keys(ks ...int) uint64 {
	var m uint64
	for _, k := range ks {
		m |= 1 << k
	}
	return m
}

// Fixed-size byte strings decode through these methods so that a wrong length is a
// schema error naming the field rather than a silent truncation.

func marshalFixed(b []byte) []byte {
	out := make([]byte, 0, len(b)+2)
	out = append(out, 0x58, byte(len(b)))
	return append(out, b...)
}

func unmarshalFixed(dst []byte, data []byte) error {
	if len(data) != len(dst)+2 || data[0] != 0x58 || int(data[1]) != len(dst) {
		return &RejectError{Reason: ErrSchema, Detail: fmt.Sprintf("want a %d-byte string", len(dst))}
	}
	copy(dst, data[2:])
	return nil
}

func (id ID) MarshalCBOR() ([]byte, error)      { return marshalFixed(id[:]), nil }
func (id *ID) UnmarshalCBOR(data []byte) error  { return unmarshalFixed(id[:], data) }
func (a Account) MarshalCBOR() ([]byte, error)  { return marshalFixed(a[:]), nil }
func (a *Account) UnmarshalCBOR(b []byte) error { return unmarshalFixed(a[:], b) }
func (s Salt) MarshalCBOR() ([]byte, error)     { return marshalFixed(s[:]), nil }
func (s *Salt) UnmarshalCBOR(data []byte) error { return unmarshalFixed(s[:], data) }
