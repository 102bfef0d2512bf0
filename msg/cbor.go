package msg

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The codec is RFC 8949 core deterministic encoding, with integer map keys and no
// null, undefined, floats, tags or indefinite lengths (WIRE §1). Encoding goes
// through the reflection encoder. Decoding is by hand, with the strict readers
// below: each reads one item in its one canonical form and gives each fault its
// own reason, so every accepted value has one byte form and one id. The scanner
// (scan, checkKeys) checks a byte form without decoding it; a payload the hand
// decoder refuses is scanned to find the fault its reason names (DecodePayload).
var encMode cbor.EncMode

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
}

// maxDepth bounds nesting. The deepest v1 value is a payload map holding a list of
// two-element lists (depth 3), so 8 leaves room and still stops a stack of arrays.
const maxDepth = 8

// The ceilings on any list and any map inside a payload. They were the reflection
// decoder's limits when payloads were decoded by reflection, and a longer list or
// a larger map is still a schema error, whatever the kind's own ceilings.
const (
	maxListItems = 65536
	maxMapPairs  = 1024
)

// Marshal encodes v in the canonical form.
func Marshal(v any) ([]byte, error) { return encMode.Marshal(v) }

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
	// Most heads (map keys, small integers, short lengths) hold their argument in
	// the first byte: they take the short path, without the checks of the others.
	if len(b) > 0 && b[0] < 0xc0 && b[0]&0x1f < 24 {
		return b[0] >> 5, uint64(b[0] & 0x1f), 1, nil
	}
	return readLongHead(b)
}

// readLongHead is readHead for the other heads, and for every fault.
func readLongHead(b []byte) (major byte, arg uint64, n int, err error) {
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

// The strict readers. Each reads one item of one type at the start of b and
// returns it with its length in bytes. A fault of the byte form gets the reason
// readHead gives it; an item of another type or size is a schema error. The
// returned errors carry no field: the caller names it.

// fieldFunc decodes the value of map key k at the start of v and returns its length.
type fieldFunc func(k uint64, v []byte) (int, error)

// walkMap reads a map whose keys are unsigned integers in ascending order, drawn
// from allowed (bit k for key k, every key below 64), and hands each value to f.
// It returns the keys seen and leaves the required ones to the caller. A key 0,
// which no v1 map allows, is refused as a repeat of the key before the first.
func walkMap(b []byte, maxPairs int, allowed uint64, f fieldFunc) (uint64, error) {
	major, pairs, off, err := readHead(b)
	if err != nil {
		return 0, err
	}
	if major != 5 {
		return 0, &RejectError{Reason: ErrSchema, Detail: "want a map, got " + majorName(major)}
	}
	if pairs > uint64(maxPairs) {
		return 0, &RejectError{Reason: ErrSchema, Detail: strconv.FormatUint(pairs, 10) + " keys"}
	}
	var seen, last uint64
	for range pairs {
		key, kn, err := readKey(b[off:], last, true)
		if err != nil {
			return 0, err
		}
		if key >= 64 || allowed&(1<<key) == 0 {
			return 0, &RejectError{Reason: ErrSchema, Detail: "unknown key " + strconv.FormatUint(key, 10)}
		}
		last = key
		seen |= 1 << key
		off += kn
		n, err := f(key, b[off:])
		if err != nil {
			return 0, err
		}
		off += n
	}
	if off != len(b) {
		return 0, &RejectError{Reason: ErrMalformed, Detail: strconv.Itoa(len(b)-off) + " trailing bytes"}
	}
	return seen, nil
}

// readKey reads a map key: an unsigned integer, above last when later is set.
func readKey(b []byte, last uint64, later bool) (uint64, int, error) {
	major, key, n, err := readHead(b)
	if err != nil {
		return 0, 0, err
	}
	if major != 0 {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: "map key is not an unsigned integer"}
	}
	if later && key <= last {
		if key == last {
			return 0, 0, &RejectError{Reason: ErrNonCanonical, Detail: "duplicate map key " + strconv.FormatUint(key, 10)}
		}
		return 0, 0, &RejectError{Reason: ErrNonCanonical, Detail: "map keys out of order at " + strconv.FormatUint(key, 10)}
	}
	return key, n, nil
}

// missingKey gives the least key of required that seen lacks.
func missingKey(required, seen uint64) (int, bool) {
	if m := required &^ seen; m != 0 {
		return bits.TrailingZeros64(m), true
	}
	return 0, false
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

// readInt reads a signed integer that fits 64 bits.
func readInt(b []byte) (int64, int, error) {
	major, v, n, err := readHead(b)
	if err != nil {
		return 0, 0, err
	}
	if major > 1 {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: "want an integer, got " + majorName(major)}
	}
	if v > math.MaxInt64 {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: "integer overflows 64 bits"}
	}
	if major == 1 {
		return -1 - int64(v), n, nil
	}
	return int64(v), n, nil
}

// readString reads a byte string (major 2) or a text (major 3). The result
// aliases b. A text must be UTF-8.
func readString(b []byte, want byte) ([]byte, int, error) {
	major, l, n, err := readHead(b)
	if err != nil {
		return nil, 0, err
	}
	if major != want {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: "want a " + majorName(want) + ", got " + majorName(major)}
	}
	if l > uint64(len(b)-n) {
		return nil, 0, errTruncated()
	}
	end := n + int(l)
	if want == 3 && !utf8.Valid(b[n:end]) {
		return nil, 0, &RejectError{Reason: ErrMalformed, Detail: "text is not UTF-8"}
	}
	return b[n:end:end], end, nil
}

func readBytes(b []byte) ([]byte, int, error) { return readString(b, 2) }
func readText(b []byte) ([]byte, int, error)  { return readString(b, 3) }

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

// readList reads the head of a list of at most max items and gives its count.
// Every item takes at least one byte, so a count above the bytes left is
// truncation, found before the caller allocates for it.
func readList(b []byte, max uint64) (int, int, error) {
	major, count, n, err := readHead(b)
	if err != nil {
		return 0, 0, err
	}
	if major != 4 {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: "want a list, got " + majorName(major)}
	}
	if count > uint64(len(b)-n) {
		return 0, 0, errTruncated()
	}
	if count > max {
		return 0, 0, &RejectError{Reason: ErrSchema, Detail: strconv.FormatUint(count, 10) + " entries > " + strconv.FormatUint(max, 10)}
	}
	return int(count), n, nil
}

// readTuple reads the head of a list of exactly n items: the form of a struct
// encoded as an array (an author share, a citation, a head).
func readTuple(b []byte, n uint64) (int, error) {
	major, count, hn, err := readHead(b)
	if err != nil {
		return 0, err
	}
	if major != 4 || count != n {
		return 0, &RejectError{Reason: ErrSchema, Detail: "want a list of " + strconv.FormatUint(n, 10)}
	}
	return hn, nil
}

// readIDList reads a non-empty list of at most max ids, into room from a when
// there is one. An empty list is not its canonical form: WIRE §1 omits the key
// instead.
func readIDList(b []byte, max int, a *arena) ([]ID, int, error) {
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
	var ids []ID
	if a != nil {
		ids = a.ids(int(count))
	} else {
		ids = make([]ID, count)
	}
	for i := range ids {
		n, err := readFixed(b[off:], ids[i][:])
		if err != nil {
			return nil, 0, err
		}
		off += n
	}
	return ids, off, nil
}

// readTextList reads a list of texts. Each becomes its own string: lists of
// texts (tags, arguments) are rare and short.
func readTextList(b []byte) ([]string, int, error) {
	count, off, err := readList(b, maxListItems)
	if err != nil {
		return nil, 0, err
	}
	ss := make([]string, count)
	for i := range ss {
		v, n, err := readText(b[off:])
		if err != nil {
			return nil, 0, err
		}
		ss[i] = string(v)
		off += n
	}
	return ss, off, nil
}

// readUintMap reads a map from unsigned integers to unsigned integers, keys
// ascending.
func readUintMap(b []byte) (map[uint64]uint64, int, error) {
	major, pairs, off, err := readHead(b)
	if err != nil {
		return nil, 0, err
	}
	if major != 5 {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: "want a map, got " + majorName(major)}
	}
	if pairs > uint64(len(b)-off)/2 {
		return nil, 0, errTruncated()
	}
	if pairs > maxMapPairs {
		return nil, 0, &RejectError{Reason: ErrSchema, Detail: strconv.FormatUint(pairs, 10) + " pairs > " + strconv.Itoa(maxMapPairs)}
	}
	m := make(map[uint64]uint64, pairs)
	var last uint64
	for i := range pairs {
		k, n, err := readKey(b[off:], last, i > 0)
		if err != nil {
			return nil, 0, err
		}
		off += n
		v, n, err := readUint(b[off:])
		if err != nil {
			return nil, 0, err
		}
		off += n
		m[k], last = v, k
	}
	return m, off, nil
}

func majorName(m byte) string {
	return [...]string{"unsigned integer", "negative integer", "byte string", "text", "list", "map", "tag", "simple value"}[m&7]
}
