package wasm

// A minimal module builder for tests that need modules too large or too
// parameterised to keep as .wat files.

type testFunc struct {
	typ    uint32
	locals []localDecl
	body   []byte // without the final end
}

type testModule struct {
	types   []funcType
	imports []importEntry // functions only
	funcs   []testFunc
	memory  *limits
	exports []export
	table   uint32 // funcref table size with all functions in order, 0 for none
}

func (t *testModule) bytes() []byte {
	out := append([]byte(nil), wasmMagic...)
	sec := func(id byte, b []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	var b []byte
	b = appendU32(b, uint32(len(t.types)))
	for _, ft := range t.types {
		b = append(b, 0x60)
		b = appendU32(b, uint32(len(ft.params)))
		b = append(b, ft.params...)
		b = appendU32(b, uint32(len(ft.results)))
		b = append(b, ft.results...)
	}
	sec(secType, b)
	if len(t.imports) > 0 {
		b = appendU32(nil, uint32(len(t.imports)))
		for _, im := range t.imports {
			b = appendU32(b, uint32(len(im.module)))
			b = append(b, im.module...)
			b = appendU32(b, uint32(len(im.name)))
			b = append(b, im.name...)
			b = append(b, extFunc)
			b = appendU32(b, im.typeIdx)
		}
		sec(secImport, b)
	}
	b = appendU32(nil, uint32(len(t.funcs)))
	for _, f := range t.funcs {
		b = appendU32(b, f.typ)
	}
	sec(secFunction, b)
	if t.table > 0 {
		b = appendU32(nil, 1)
		b = append(b, tFuncref, 0)
		b = appendU32(b, t.table)
		sec(secTable, b)
	}
	if t.memory != nil {
		b = appendU32(nil, 1)
		if t.memory.hasMax {
			b = append(b, 1)
			b = appendU32(b, uint32(t.memory.min))
			b = appendU32(b, uint32(t.memory.max))
		} else {
			b = append(b, 0)
			b = appendU32(b, uint32(t.memory.min))
		}
		sec(secMemory, b)
	}
	b = appendU32(nil, uint32(len(t.exports)))
	for _, e := range t.exports {
		b = appendU32(b, uint32(len(e.name)))
		b = append(b, e.name...)
		b = append(b, e.kind)
		b = appendU32(b, e.idx)
	}
	sec(secExport, b)
	if t.table > 0 {
		b = appendU32(nil, 1)
		b = append(b, 0, byte(opI32Const), 0, byte(opEnd))
		b = appendU32(b, t.table)
		for i := uint32(0); i < t.table; i++ {
			b = appendU32(b, uint32(len(t.imports))+i)
		}
		sec(secElement, b)
	}
	b = appendU32(nil, uint32(len(t.funcs)))
	for _, f := range t.funcs {
		c := appendLocals(nil, f.locals, nil)
		c = append(c, f.body...)
		c = append(c, byte(opEnd))
		b = appendU32(b, uint32(len(c)))
		b = append(b, c...)
	}
	sec(secCode, b)
	return out
}

// asm assembles instructions for a test body.
func asm(ins ...Instr) []byte { return EncodeBody(ins) }

func op(o Op) Instr            { return Instr{Op: o} }
func opA(o Op, a uint64) Instr { return Instr{Op: o, A: a} }
