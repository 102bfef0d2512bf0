package wasm

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

func wat(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/wat/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var voidType = funcType{}

func startExport(idx uint32) export { return export{name: "_start", kind: extFunc, idx: idx} }

func TestAdmission(t *testing.T) {
	bigLocals := func(n uint32) []byte {
		return (&testModule{types: []funcType{voidType},
			funcs:   []testFunc{{typ: 0, locals: []localDecl{{n: n, typ: tI64}}}},
			exports: []export{startExport(0)}}).bytes()
	}
	badImportAndMalformed := (&testModule{types: []funcType{voidType},
		imports: []importEntry{{module: "env", name: "x", typeIdx: 0}},
		funcs:   []testFunc{{typ: 0, body: []byte{byte(opI32Add)}}}, // type error
		exports: []export{startExport(1)}}).bytes()
	badImportAndBigMemory := (&testModule{types: []funcType{voidType},
		imports: []importEntry{{module: "env", name: "x", typeIdx: 0}},
		funcs:   []testFunc{{typ: 0}}, memory: &limits{min: 100},
		exports: []export{startExport(1)}}).bytes()
	simdAndBadImport := append([]byte(nil), wat(t, "simd")...)
	noStart := (&testModule{types: []funcType{voidType}, funcs: []testFunc{{typ: 0}}}).bytes()
	hello := wat(t, "hello")

	cases := []struct {
		name   string
		module []byte
		pages  uint32
		code   uint32
		what   string
	}{
		{"ok", hello, 16, 0, ""},
		{"size", make([]byte, MaxModuleSize+1), 16, CodeSize, "module size"},
		{"garbage", []byte("hello, world"), 16, CodeMalformed, ""},
		{"truncated", hello[:len(hello)-3], 16, CodeMalformed, ""},
		{"type error", badImportAndMalformed, 16, CodeMalformed, ""},
		{"no _start", noStart, 16, CodeMalformed, ""},
		{"frame cost at limit", bigLocals(maxFrameCost - frameBase), 16, 0, ""},
		{"frame cost above limit", bigLocals(maxFrameCost - frameBase + 1), 16, CodeMalformed, "frame cost"},
		{"locals count hostile", bigLocals(0xFFFFFFFF), 16, CodeMalformed, "frame cost"},
		{"simd", simdAndBadImport, 16, CodeFeature, "simd"},
		{"threads", wat(t, "threads"), 16, CodeFeature, "threads"},
		{"tail call", (&testModule{types: []funcType{voidType}, funcs: []testFunc{{typ: 0, body: []byte{0x12, 0x00}}},
			exports: []export{startExport(0)}}).bytes(), 16, CodeFeature, "tail-call"},
		{"exceptions", insertSection(t, (&testModule{types: []funcType{voidType}, funcs: []testFunc{{typ: 0}},
			exports: []export{startExport(0)}}).bytes(), secExport, []byte{secTag, 3, 1, 0, 0}), 16, CodeFeature, "exception-handling"},
		{"import env", wat(t, "badimport"), 16, CodeImport, "env.now"},
		{"import wasi not allowed", wat(t, "badwasi"), 16, CodeImport, "wasi_snapshot_preview1.path_open"},
		{"import before memory", badImportAndBigMemory, 16, CodeImport, "env.x"},
		{"memory minimum", wat(t, "membomb"), 0, 0, ""}, // pages 0 is an argument error
		{"memory above pages", (&testModule{types: []funcType{voidType}, funcs: []testFunc{{typ: 0}},
			memory: &limits{min: 17}, exports: []export{startExport(0)}}).bytes(), 16, CodeMemory, "memory minimum"},
		{"memory at pages", (&testModule{types: []funcType{voidType}, funcs: []testFunc{{typ: 0}},
			memory: &limits{min: 16}, exports: []export{startExport(0)}}).bytes(), 16, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Admit(c.module, c.pages)
			var ae *AdmissionError
			switch {
			case c.pages == 0:
				if err == nil || errors.As(err, &ae) {
					t.Fatalf("pages 0: got %v, want an argument error", err)
				}
			case c.code == 0:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			default:
				if !errors.As(err, &ae) {
					t.Fatalf("got %v, want a refusal with code %d", err, c.code)
				}
				if ae.Code != c.code || (c.what != "" && ae.What != c.what) {
					t.Fatalf("got code %d %q (%v), want code %d %q", ae.Code, ae.What, err, c.code, c.what)
				}
				if !strings.Contains(err.Error(), "class 4 code") {
					t.Fatalf("error text %q does not name the class-4 code", err)
				}
			}
		})
	}
}

func TestAdmissionErrorIs(t *testing.T) {
	_, err := Admit(wat(t, "badimport"), 16)
	if !errors.Is(err, ErrRefusedImport) || errors.Is(err, ErrRefusedFeature) {
		t.Fatalf("errors.Is does not match the import sentinel only: %v", err)
	}
}

// TestHugeModuleRefusedCheaply runs a 100 MB module: it must be refused by size
// without the runner copying or decoding it.
func TestHugeModuleRefusedCheaply(t *testing.T) {
	huge := make([]byte, 100<<20)
	copy(huge, wasmMagic)
	r := newTestRunner(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	o, err := r.Run(context.Background(), Job{Module: huge, Fuel: 1000, Pages: 1})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if o.Class != ClassRefused || o.Code != CodeSize || o.FuelUsed != 0 || len(o.Output) != 0 {
		t.Fatalf("outcome %d/%d fuel %d, want 4/4 fuel 0", o.Class, o.Code, o.FuelUsed)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("refusing by size allocated %d bytes", grew)
	}
}

// insertSection puts raw section bytes before the first section with id before.
func insertSection(t *testing.T, mod []byte, before byte, sec []byte) []byte {
	r := &reader{b: mod, pos: 8}
	for !r.done() {
		at := r.pos
		id, _ := r.byte()
		n, _ := r.u32()
		if id == before {
			out := append([]byte(nil), mod[:at]...)
			out = append(out, sec...)
			return append(out, mod[at:]...)
		}
		r.pos += int(n)
	}
	t.Fatalf("no section %d", before)
	return nil
}
