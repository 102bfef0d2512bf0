package wasm

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// errEOF marks a read past the end of the bytes being decoded.
var errEOF = errors.New("unexpected end")

// reader decodes the primitive encodings of the binary format over a byte slice.
// Every length read from the input is checked against the bytes left before
// anything is allocated, so a hostile count cannot cause a large allocation.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) left() int  { return len(r.b) - r.pos }
func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errEOF
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, errEOF
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes whose value fits in 32 bits.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c&0xF0 != 0 {
			return 0, errors.New("integer too large")
		}
		v |= uint32(c&0x7F) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errors.New("integer representation too long")
}

// s32 reads a signed LEB128 of at most 5 bytes.
func (r *reader) s32() (int32, error) {
	v, err := r.sleb(32)
	return int32(v), err
}

// s64 reads a signed LEB128 of at most 10 bytes.
func (r *reader) s64() (int64, error) { return r.sleb(64) }

// s33 reads the signed 33-bit block type index.
func (r *reader) s33() (int64, error) { return r.sleb(33) }

func (r *reader) sleb(bits int) (int64, error) {
	var v int64
	shift := 0
	maxBytes := (bits + 6) / 7
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == maxBytes-1 {
			if c&0x80 != 0 {
				break
			}
			// The payload bits above the value's width must repeat its sign bit.
			used := uint(bits - 7*(maxBytes-1))
			payload := c & 0x7F
			high := payload >> used
			want := byte(0)
			if (payload>>(used-1))&1 == 1 {
				want = byte(1)<<(7-used) - 1
			}
			if high != want {
				return 0, errors.New("integer too large")
			}
		}
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, errors.New("integer representation too long")
}

// count reads a vector length and checks that at least min bytes per element remain.
func (r *reader) count(minBytesEach int) (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if minBytesEach > 0 && uint64(n)*uint64(minBytesEach) > uint64(r.left()) {
		return 0, fmt.Errorf("vector length %d exceeds the remaining %d bytes", n, r.left())
	}
	return int(n), nil
}

func (r *reader) name() (string, error) {
	n, err := r.count(1)
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", errors.New("name is not valid UTF-8")
	}
	return string(b), nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
