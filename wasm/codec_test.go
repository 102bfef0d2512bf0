package wasm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestInstrEncoding(t *testing.T) {
	cases := []struct {
		in   Instr
		want []byte
	}{
		{Instr{Op: opI32Const, A: minus(1)}, []byte{0x41, 0x7F}},
		{Instr{Op: opI32Const, A: 0x80000000 | 0xFFFFFFFF00000000}, []byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x78}},
		{Instr{Op: opI64Const, A: 1 << 63}, []byte{0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}},
		{Instr{Op: opI32Const, A: 64}, []byte{0x41, 0xC0, 0x00}},
		{Instr{Op: opBlock, A: minus(64)}, []byte{0x02, 0x40}},
		{Instr{Op: opLoop, A: minus(1)}, []byte{0x03, 0x7F}},
		{Instr{Op: opIf, A: 130}, []byte{0x04, 0x82, 0x01}},
		{Instr{Op: opBrTable, List: []uint32{0, 1, 2}}, []byte{0x0E, 0x02, 0x00, 0x01, 0x02}},
		{Instr{Op: opCallIndirect, A: 3, B: 0}, []byte{0x11, 0x03, 0x00}},
		{Instr{Op: 0x29, A: 16, B: 3}, []byte{0x29, 0x03, 0x10}},
		{Instr{Op: opMemoryGrow}, []byte{0x40, 0x00}},
		{Instr{Op: opMemoryCopy}, []byte{0xFC, 0x0A, 0x00, 0x00}},
		{Instr{Op: opMemoryFill}, []byte{0xFC, 0x0B, 0x00}},
		{Instr{Op: opMemoryInit, A: 2}, []byte{0xFC, 0x08, 0x02, 0x00}},
		{Instr{Op: opTableInit, A: 1, B: 0}, []byte{0xFC, 0x0C, 0x01, 0x00}},
		{Instr{Op: opTableCopy, A: 0, B: 1}, []byte{0xFC, 0x0E, 0x00, 0x01}},
		{Instr{Op: opPrefixFC + 7}, []byte{0xFC, 0x07}},
		{Instr{Op: opF32Const, A: 0x7FC00000}, []byte{0x43, 0x00, 0x00, 0xC0, 0x7F}},
		{Instr{Op: opF64Const, A: 0x7FF8000000000000}, []byte{0x44, 0, 0, 0, 0, 0, 0, 0xF8, 0x7F}},
		{Instr{Op: opSelectT, List: []uint32{uint32(tF64)}}, []byte{0x1C, 0x01, 0x7C}},
		{Instr{Op: opRefNull, A: uint64(tExternref)}, []byte{0xD0, 0x6F}},
		{Instr{Op: opRefFunc, A: 300}, []byte{0xD2, 0xAC, 0x02}},
	}
	for _, c := range cases {
		got := appendInstr(nil, &c.in)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%s: encoded % x, want % x", c.in.Op, got, c.want)
			continue
		}
		var back Instr
		if err := decodeInstr(&reader{b: got}, &back); err != nil {
			t.Errorf("%s: decode: %v", c.in.Op, err)
			continue
		}
		if back.Op != c.in.Op || back.A != c.in.A || back.B != c.in.B || len(back.List) != len(c.in.List) {
			t.Errorf("%s: decoded %+v, want %+v", c.in.Op, back, c.in)
		}
	}
}

func TestDecodeRefusesAndRejects(t *testing.T) {
	cases := []struct {
		body    []byte
		feature string // "" means malformed
	}{
		{[]byte{0xFD, 0x0C}, "simd"},
		{[]byte{0xFE, 0x00}, "threads"},
		{[]byte{0x12, 0x00}, "tail-call"},
		{[]byte{0x06, 0x40}, "exception-handling"},
		{[]byte{0xFB, 0x00}, "gc"},
		{[]byte{0x28, 0x40, 0x01, 0x00}, "multi-memory"},
		{[]byte{0x40, 0x01}, "multi-memory"},
		{[]byte{0x27}, ""},
		{[]byte{0xFC, 0x12}, ""},
		{[]byte{0x41, 0x80, 0x80, 0x80, 0x80, 0x10}, ""}, // i32.const too large
		{[]byte{0x41}, ""},
	}
	for _, c := range cases {
		var in Instr
		err := decodeInstr(&reader{b: c.body}, &in)
		if err == nil {
			t.Errorf("% x: decoded", c.body)
			continue
		}
		ae, isFeature := err.(*AdmissionError)
		if c.feature == "" && isFeature {
			t.Errorf("% x: %v, want a malformed error", c.body, err)
		}
		if c.feature != "" && (!isFeature || ae.What != c.feature) {
			t.Errorf("% x: %v, want feature %s", c.body, err, c.feature)
		}
	}
}

func TestSignedLEB(t *testing.T) {
	cases := []struct {
		b    []byte
		bits int
		want int64
		ok   bool
	}{
		{[]byte{0x7F}, 32, -1, true},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, 32, -1, true},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x07}, 32, 0x7FFFFFFF, true},
		{[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, 32, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x70}, 32, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, 0, false},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F}, 64, -1 << 63, true},
		{[]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 64, 0, false},
		{[]byte{0x40}, 33, -64, true},
	}
	for _, c := range cases {
		r := &reader{b: c.b}
		v, err := r.sleb(c.bits)
		if (err == nil) != c.ok || (c.ok && v != c.want) {
			t.Errorf("% x as s%d: %d, %v; want %d ok=%v", c.b, c.bits, v, err, c.want, c.ok)
		}
	}
}

// TestBodyRoundTrip decodes and re-encodes every function body of the example
// jobs and the .wat corpus; decoding the re-encoding must give the same
// instructions (the bytes may differ where a producer padded its LEB128s).
func TestBodyRoundTrip(t *testing.T) {
	files, _ := filepath.Glob("testdata/wat/*.wasm")
	ex, _ := filepath.Glob("../examples/jobs/*/*.wasm")
	files = append(files, ex...)
	total := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeModule(b)
		if err != nil {
			continue // the refused feature modules
		}
		for i, c := range m.codes {
			ins, err := DecodeBody(c.body)
			if err != nil {
				var ae *AdmissionError
				if errors.As(err, &ae) && ae.Code == CodeFeature {
					continue
				}
				t.Fatalf("%s function %d: %v", f, i, err)
			}
			enc := EncodeBody(ins)
			again, err := DecodeBody(enc)
			if err != nil {
				t.Fatalf("%s function %d: re-decode: %v", f, i, err)
			}
			if !reflect.DeepEqual(normalise(ins), normalise(again)) {
				t.Fatalf("%s function %d: round trip changed the instructions", f, i)
			}
			if len(enc) > len(c.body) {
				t.Fatalf("%s function %d: canonical encoding longer than the original", f, i)
			}
			total += len(ins)
		}
	}
	if total < 100000 {
		t.Fatalf("only %d instructions decoded; the examples are missing?", total)
	}
}

func normalise(ins []Instr) []Instr {
	for i := range ins {
		if len(ins[i].List) == 0 {
			ins[i].List = nil
		}
	}
	return ins
}

// minus gives the two's-complement bits of -v.
func minus(v uint64) uint64 { return -v }
