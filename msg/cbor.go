package msg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The codec is RFC 8949 core deterministic encoding, with integer map keys and no
// null, undefined, floats, tags or indefinite lengths (WIRE §1). Decoding is in two
// steps: a strict scanner first checks the byte form (well-formed, shortest heads,
// sorted unique keys, none of the forbidden items) and gives each fault its own
// reason; only then are the values decoded, and a value is accepted only when
// encoding it again yields the same bytes, so every value has one byte form and
// one id.
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
		MaxNestedLevels:   maxDepth,
		MaxArrayElements:  65536,
		MaxMapPairs:       1024,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// maxDepth bounds nesting. The deepest v1 value is a payload map holding a list of
// two-element lists (depth 3), so 8 leaves room and still stops a stack of arrays.
const maxDepth = 8

// Marshal encodes v in the canonical form.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

// unmarshalCanonical checks the byte form of data, decodes it into v and insists
// that re-encoding v gives data back.
func unmarshalCanonical(data []byte, v any, field string) error {
	if err := scanOne(data, field); err != nil {
		return err
	}
	return unmarshalScanned(data, v, field)
}

// unmarshalScanned decodes data, whose byte form scanOne has accepted, and
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

// decodeError types an error of the reflection decoder. The scanner has already
// vouched for the byte form, so what is left is a value of the wrong type or range.
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

func withField(err error, field string) error {
	if re, ok := err.(*RejectError); ok && re.Field == "" {
		re.Field = field
	}
	return err
}

// readHead reads one item head strictly. It returns the major type, the argument
// (a length, count or integer value) and the head's length. Faults: a reserved
// additional-information value or a stray break is malformed; an indefinite
// length, a tag or any major-type-7 item (false, true, null, undefined, simple
// values, floats) is non-canonical under WIRE §1, as is an argument not written in
// the fewest bytes; running out of bytes is truncation.
func readHead(b []byte) (major byte, arg uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, errTruncated()
	}
	major, ai := b[0]>>5, b[0]&0x1f
	switch {
	case ai >= 28 && ai <= 30:
		return 0, 0, 0, &RejectError{Reason: ErrMalformed, Detail: "reserved additional information"}
	case ai == 31:
		if major >= 2 && major <= 5 {
			return 0, 0, 0, &RejectError{Reason: ErrNonCanonical, Detail: "indefinite length"}
		}
		return 0, 0, 0, &RejectError{Reason: ErrMalformed, Detail: "unexpected break or indefinite item"}
	case major == 6:
		return 0, 0, 0, &RejectError{Reason: ErrNonCanonical, Detail: "tag"}
	case major == 7:
		return 0, 0, 0, &RejectError{Reason: ErrNonCanonical, Detail: simpleName(ai)}
	}
	switch ai {
	case 24:
		if len(b) < 2 {
			return 0, 0, 0, errTruncated()
		}
		arg, n = uint64(b[1]), 2
		if arg < 24 {
			return 0, 0, 0, errLongHead()
		}
	case 25:
		if len(b) < 3 {
			return 0, 0, 0, errTruncated()
		}
		arg, n = uint64(binary.BigEndian.Uint16(b[1:])), 3
		if arg <= 0xff {
			return 0, 0, 0, errLongHead()
		}
	case 26:
		if len(b) < 5 {
			return 0, 0, 0, errTruncated()
		}
		arg, n = uint64(binary.BigEndian.Uint32(b[1:])), 5
		if arg <= 0xffff {
			return 0, 0, 0, errLongHead()
		}
	case 27:
		if len(b) < 9 {
			return 0, 0, 0, errTruncated()
		}
		arg, n = binary.BigEndian.Uint64(b[1:]), 9
		if arg <= 0xffffffff {
			return 0, 0, 0, errLongHead()
		}
	default:
		arg, n = uint64(ai), 1
	}
	return major, arg, n, nil
}

func simpleName(ai byte) string {
	switch ai {
	case 20, 21:
		return "boolean (booleans are integers 0/1)"
	case 22:
		return "null (omit the key instead)"
	case 23:
		return "undefined"
	case 25, 26, 27:
		return "float"
	}
	return "simple value"
}

func errTruncated() error {
	return &RejectError{Reason: ErrTruncated, Detail: "input ends inside an item"}
}

func errLongHead() error {
	return &RejectError{Reason: ErrNonCanonical, Detail: "integer or length not in its shortest form"}
}

// scan checks one item at the start of b, recursively, and returns its length.
// Map keys must be unsigned integers in strictly ascending order (the canonical
// order for integer keys, which makes a duplicate a non-canonical form too).
func scan(b []byte, depth int) (int, error) {
	if depth >= maxDepth {
		return 0, &RejectError{Reason: ErrSchema, Detail: "nested too deep"}
	}
	major, arg, n, err := readHead(b)
	if err != nil {
		return 0, err
	}
	switch major {
	case 0, 1:
		return n, nil
	case 2, 3:
		if arg > uint64(len(b)-n) {
			return 0, errTruncated()
		}
		end := n + int(arg)
		if major == 3 && !utf8.Valid(b[n:end]) {
			return 0, &RejectError{Reason: ErrMalformed, Detail: "text is not UTF-8"}
		}
		return end, nil
	case 4:
		// Every item takes at least one byte, so a count above the bytes left is
		// truncation, and the loop below is bounded by the input length.
		if arg > uint64(len(b)-n) {
			return 0, errTruncated()
		}
		off := n
		for i := uint64(0); i < arg; i++ {
			m, err := scan(b[off:], depth+1)
			if err != nil {
				return 0, err
			}
			off += m
		}
		return off, nil
	default: // 5: map
		if arg > uint64(len(b)-n)/2 {
			return 0, errTruncated()
		}
		off := n
		var last uint64
		for i := uint64(0); i < arg; i++ {
			km, key, kn, err := readHead(b[off:])
			if err != nil {
				return 0, err
			}
			if km != 0 {
				return 0, &RejectError{Reason: ErrSchema, Detail: "map key is not an unsigned integer"}
			}
			if i > 0 && key <= last {
				if key == last {
					return 0, &RejectError{Reason: ErrNonCanonical, Detail: "duplicate map key " + strconv.FormatUint(key, 10)}
				}
				return 0, &RejectError{Reason: ErrNonCanonical, Detail: "map keys out of order at " + strconv.FormatUint(key, 10)}
			}
			last = key
			off += kn
			m, err := scan(b[off:], depth+1)
			if err != nil {
				return 0, err
			}
			off += m
		}
		return off, nil
	}
}

// checkKeys checks that data is one canonical map whose keys are drawn from
// allowed and include every key of required, scanning each value strictly on the
// way. Key sets are bit masks (bit k for key k); every key in v1 is below 64.
func checkKeys(data []byte, allowed, required uint64, field string) error {
	major, pairs, off, err := readHead(data)
	if err != nil {
		return withField(err, field)
	}
	if major != 5 {
		return reject(ErrSchema, field, "want a map, got %s", majorName(major))
	}
	if pairs > uint64(len(data)-off)/2 {
		return withField(errTruncated(), field)
	}
	var seen, last uint64
	for i := uint64(0); i < pairs; i++ {
		km, key, kn, err := readHead(data[off:])
		if err != nil {
			return withField(err, field)
		}
		if km != 0 {
			return reject(ErrSchema, field, "map key is not an unsigned integer")
		}
		if i > 0 && key <= last {
			if key == last {
				return reject(ErrNonCanonical, field, "duplicate map key %d", key)
			}
			return reject(ErrNonCanonical, field, "map keys out of order at %d", key)
		}
		if key >= 64 || allowed&(1<<key) == 0 {
			return reject(ErrSchema, field, "unknown key %d", key)
		}
		last = key
		seen |= 1 << key
		off += kn
		vn, err := scan(data[off:], 1)
		if err != nil {
			return withField(err, field)
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
	major, n, hn, err := readHead(data)
	if err != nil {
		return err
	}
	if major != 2 || n != uint64(len(dst)) || len(data) != hn+len(dst) {
		return &RejectError{Reason: ErrSchema, Detail: "want a " + strconv.Itoa(len(dst)) + "-byte string"}
	}
	copy(dst, data[hn:])
	return nil
}

func (id ID) MarshalCBOR() ([]byte, error)      { return marshalFixed(id[:]), nil }
func (id *ID) UnmarshalCBOR(data []byte) error  { return unmarshalFixed(id[:], data) }
func (a Account) MarshalCBOR() ([]byte, error)  { return marshalFixed(a[:]), nil }
func (a *Account) UnmarshalCBOR(b []byte) error { return unmarshalFixed(a[:], b) }
func (s Salt) MarshalCBOR() ([]byte, error)     { return marshalFixed(s[:]), nil }
func (s *Salt) UnmarshalCBOR(data []byte) error { return unmarshalFixed(s[:], data) }
