package wasm

import (
	"bytes"
	"errors"
	"fmt"
)

// Value types of the binary format.
const (
	tI32       byte = 0x7F
	tI64       byte = 0x7E
	tF32       byte = 0x7D
	tF64       byte = 0x7C
	tV128      byte = 0x7B
	tFuncref   byte = 0x70
	tExternref byte = 0x6F
	// tUnknown is the validator's polymorphic stack entry; never in a module.
	tUnknown byte = 0
)

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13 // exception handling: refused
)

// External kinds of imports and exports.
const (
	extFunc   = 0
	extTable  = 1
	extMemory = 2
	extGlobal = 3
	extTag    = 4
)

var wasmMagic = []byte{0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00}

// maxLocals bounds declared locals; any function above the frame-cost limit is
// refused anyway, and checking early avoids allocating for a hostile count.
const maxLocals = 1 << 16

type funcType struct{ params, results []byte }

func (t funcType) equal(o funcType) bool {
	return bytes.Equal(t.params, o.params) && bytes.Equal(t.results, o.results)
}

type limits struct {
	min, max uint64
	hasMax   bool
}

type tableType struct {
	elem byte
	lim  limits
}

type globalType struct {
	typ     byte
	mutable bool
}

type importEntry struct {
	module, name string
	kind         byte
	typeIdx      uint32 // functions
	table        tableType
	mem          limits
	global       globalType
}

type global struct {
	typ  globalType
	init []byte // constant expression including its end
}

type export struct {
	name string
	kind byte
	idx  uint32
}

type localDecl struct {
	n   uint32
	typ byte
}

type code struct {
	locals  []localDecl
	nLocals uint32
	body    []byte // instructions including the final end
}

// module is a decoded WebAssembly module. Sections that instrumentation never
// changes (import, table, element, data count, data) keep their raw bytes so they
// are re-emitted exactly.
type module struct {
	types     []funcType
	imports   []importEntry
	funcs     []uint32 // type index of each defined function
	tables    []tableType
	mems      []limits
	globals   []global
	exports   []export
	hasStart  bool
	start     uint32
	elemTypes []byte // element type of each element segment
	elemFuncs []uint32
	dataCount *uint32
	numData   int
	codes     []code

	// indices spaces: imports first
	funcTypes   []uint32 // all functions, imported then defined
	tableTypes  []tableType
	memLimits   []limits
	globalTypes []globalType
	declared    map[uint32]bool // functions ref.func may name

	raw [secDataCount + 1][]byte

	// feature is the first refused feature seen; decoding continues where it can so
	// that malformation anywhere in the module is still found first.
	feature *AdmissionError
}

func (m *module) noteFeature(feature, detail string) {
	if m.feature == nil {
		m.feature = featureErr(feature, detail)
	}
}

// errStop aborts decoding after a refused feature whose encoding cannot be skipped.
var errStop = errors.New("stop")

// decodeModule parses and structurally checks a module. The error is always an
// *AdmissionError: malformed (code 5), or a feature (code 2) that prevented decoding
// the rest. A feature refusal that did not prevent decoding is left in m.feature.
func decodeModule(b []byte) (*module, error) {
	m := &module{declared: map[uint32]bool{}}
	if len(b) < 8 || !bytes.Equal(b[:4], wasmMagic[:4]) {
		return nil, malformed("not a WebAssembly binary (bad magic)")
	}
	if !bytes.Equal(b[4:8], wasmMagic[4:]) {
		return nil, malformed("unsupported binary version %x", b[4:8])
	}
	r := &reader{b: b, pos: 8}
	last := 0
	// Required section order; the tag section sits between memory and global.
	order := map[byte]int{secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
		secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11,
		secCode: 12, secData: 13}
	for !r.done() {
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, malformed("section %d size: %v", id, err)
		}
		content, err := r.bytes(int(size))
		if err != nil {
			return nil, malformed("section %d: length %d past the end of the module", id, size)
		}
		if id != secCustom {
			pos, ok := order[id]
			if !ok {
				return nil, malformed("unknown section id %d", id)
			}
			if pos <= last {
				return nil, malformed("section %d out of order or repeated", id)
			}
			last = pos
		}
		if id == secTag {
			m.noteFeature("exception-handling", "tag section")
			continue
		}
		if id <= secDataCount {
			m.raw[id] = content
		}
		sr := &reader{b: content}
		if err := m.decodeSection(id, sr); err != nil {
			if errors.Is(err, errStop) {
				return nil, m.feature
			}
			var ae *AdmissionError
			if errors.As(err, &ae) {
				return nil, ae
			}
			return nil, malformed("%s section: %v", sectionName(id), err)
		}
		if !sr.done() {
			return nil, malformed("%s section: %d trailing bytes", sectionName(id), sr.left())
		}
	}
	if len(m.funcs) != len(m.codes) {
		return nil, malformed("function section declares %d functions, code section has %d", len(m.funcs), len(m.codes))
	}
	if m.dataCount != nil && int(*m.dataCount) != m.numData {
		return nil, malformed("data count %d differs from %d data segments", *m.dataCount, m.numData)
	}
	for _, ti := range m.funcs {
		m.funcTypes = append(m.funcTypes, ti)
	}
	m.tableTypes = append(m.tableTypes, m.tables...)
	m.memLimits = append(m.memLimits, m.mems...)
	for _, g := range m.globals {
		m.globalTypes = append(m.globalTypes, g.typ)
	}
	if len(m.memLimits) > 1 {
		m.noteFeature("multi-memory", fmt.Sprintf("%d memories", len(m.memLimits)))
	}
	if err := m.checkIndices(); err != nil {
		return nil, err
	}
	return m, nil
}

func sectionName(id byte) string {
	names := []string{"custom", "type", "import", "function", "table", "memory", "global",
		"export", "start", "element", "code", "data", "data count"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("section %d", id)
}

func (m *module) decodeSection(id byte, r *reader) error {
	switch id {
	case secCustom:
		_, err := r.name()
		if err != nil {
			return err
		}
		r.pos = len(r.b)
		return nil
	case secType:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			form, err := r.byte()
			if err != nil {
				return err
			}
			if form != 0x60 {
				switch form {
				case 0x4E, 0x4F, 0x50, 0x5E, 0x5F:
					m.noteFeature("gc", fmt.Sprintf("type %d has form %#x", i, form))
					return errStop
				}
				return fmt.Errorf("type %d: bad form %#x", i, form)
			}
			var ft funcType
			if ft.params, err = m.valTypes(r); err != nil {
				return fmt.Errorf("type %d params: %w", i, err)
			}
			if ft.results, err = m.valTypes(r); err != nil {
				return fmt.Errorf("type %d results: %w", i, err)
			}
			m.types = append(m.types, ft)
		}
	case secImport:
		n, err := r.count(4)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			var im importEntry
			if im.module, err = r.name(); err != nil {
				return err
			}
			if im.name, err = r.name(); err != nil {
				return err
			}
			if im.kind, err = r.byte(); err != nil {
				return err
			}
			switch im.kind {
			case extFunc:
				if im.typeIdx, err = r.u32(); err != nil {
					return err
				}
				if int(im.typeIdx) >= len(m.types) {
					return fmt.Errorf("import %s.%s: type %d out of range", im.module, im.name, im.typeIdx)
				}
				m.funcTypes = append(m.funcTypes, im.typeIdx)
			case extTable:
				if im.table, err = m.tableType(r); err != nil {
					return err
				}
				m.tableTypes = append(m.tableTypes, im.table)
			case extMemory:
				if im.mem, err = m.memType(r); err != nil {
					return err
				}
				m.memLimits = append(m.memLimits, im.mem)
			case extGlobal:
				if im.global, err = m.globalType(r); err != nil {
					return err
				}
				m.globalTypes = append(m.globalTypes, im.global)
			case extTag:
				m.noteFeature("exception-handling", "tag import "+im.module+"."+im.name)
				return errStop
			default:
				return fmt.Errorf("import %s.%s: bad kind %d", im.module, im.name, im.kind)
			}
			m.imports = append(m.imports, im)
		}
	case secFunction:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			ti, err := r.u32()
			if err != nil {
				return err
			}
			if int(ti) >= len(m.types) {
				return fmt.Errorf("function %d: type %d out of range", i, ti)
			}
			m.funcs = append(m.funcs, ti)
		}
	case secTable:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			t, err := m.tableType(r)
			if err != nil {
				return err
			}
			m.tables = append(m.tables, t)
		}
	case secMemory:
		n, err := r.count(2)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			l, err := m.memType(r)
			if err != nil {
				return err
			}
			m.mems = append(m.mems, l)
		}
	case secGlobal:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			gt, err := m.globalType(r)
			if err != nil {
				return err
			}
			// Globals may only read imported globals in their initialisers.
			init, err := m.constExpr(r, gt.typ, len(m.globalTypes))
			if err != nil {
				return fmt.Errorf("global %d: %w", i, err)
			}
			m.globals = append(m.globals, global{typ: gt, init: init})
		}
	case secExport:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for i := 0; i < n; i++ {
			var e export
			if e.name, err = r.name(); err != nil {
				return err
			}
			if seen[e.name] {
				return fmt.Errorf("duplicate export %q", e.name)
			}
			seen[e.name] = true
			if e.kind, err = r.byte(); err != nil {
				return err
			}
			if e.kind > extGlobal {
				if e.kind == extTag {
					m.noteFeature("exception-handling", "tag export "+e.name)
				} else {
					return fmt.Errorf("export %q: bad kind %d", e.name, e.kind)
				}
			}
			if e.idx, err = r.u32(); err != nil {
				return err
			}
			m.exports = append(m.exports, e)
		}
	case secStart:
		s, err := r.u32()
		if err != nil {
			return err
		}
		m.hasStart, m.start = true, s
	case secElement:
		return m.decodeElements(r)
	case secCode:
		n, err := r.count(2)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			size, err := r.u32()
			if err != nil {
				return err
			}
			body, err := r.bytes(int(size))
			if err != nil {
				return fmt.Errorf("code %d: %w", i, err)
			}
			c, err := m.decodeCode(body)
			if err != nil {
				return fmt.Errorf("code %d: %w", i, err)
			}
			m.codes = append(m.codes, c)
		}
	case secData:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			flag, err := r.u32()
			if err != nil {
				return err
			}
			switch flag {
			case 0, 2:
				mem := uint32(0)
				if flag == 2 {
					if mem, err = r.u32(); err != nil {
						return err
					}
				}
				if mem != 0 {
					m.noteFeature("multi-memory", fmt.Sprintf("data %d targets memory %d", i, mem))
				}
				if _, err := m.constExpr(r, tI32, len(m.globalTypes)); err != nil {
					return fmt.Errorf("data %d offset: %w", i, err)
				}
			case 1:
			default:
				return fmt.Errorf("data %d: bad flags %d", i, flag)
			}
			ln, err := r.count(1)
			if err != nil {
				return err
			}
			if _, err := r.bytes(ln); err != nil {
				return err
			}
		}
		m.numData = n
	case secDataCount:
		c, err := r.u32()
		if err != nil {
			return err
		}
		m.dataCount = &c
	}
	return nil
}

func (m *module) decodeCode(b []byte) (code, error) {
	r := &reader{b: b}
	var c code
	groups, err := r.count(2)
	if err != nil {
		return c, err
	}
	total := uint64(0)
	for j := 0; j < groups; j++ {
		n, err := r.u32()
		if err != nil {
			return c, err
		}
		t, err := r.byte()
		if err != nil {
			return c, err
		}
		if err := m.checkValType(t); err != nil {
			return c, err
		}
		total += uint64(n)
		if total > maxLocals {
			return c, &AdmissionError{Code: CodeMalformed, What: "frame cost",
				Detail: fmt.Sprintf("%d locals exceed the frame-cost limit %d", total, maxFrameCost)}
		}
		if n > 0 {
			c.locals = append(c.locals, localDecl{n: n, typ: t})
		}
	}
	c.nLocals = uint32(total)
	c.body = r.b[r.pos:]
	if len(c.body) == 0 || c.body[len(c.body)-1] != byte(opEnd) {
		return c, errors.New("body does not end with end")
	}
	return c, nil
}

func (m *module) decodeElements(r *reader) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return fmt.Errorf("element %d: bad flags %d", i, flags)
		}
		passiveOrDecl := flags&1 != 0
		explicitTable := flags&2 != 0
		exprs := flags&4 != 0
		if !passiveOrDecl {
			if explicitTable {
				if _, err := r.u32(); err != nil {
					return err
				}
			}
			if _, err := m.constExpr(r, tI32, len(m.globalTypes)); err != nil {
				return fmt.Errorf("element %d offset: %w", i, err)
			}
		}
		typ := tFuncref
		if passiveOrDecl || explicitTable {
			k, err := r.byte()
			if err != nil {
				return err
			}
			if exprs {
				if k != tFuncref && k != tExternref {
					return fmt.Errorf("element %d: bad reference type %#x", i, k)
				}
				typ = k
			} else if k != 0 {
				return fmt.Errorf("element %d: bad element kind %#x", i, k)
			}
		}
		cnt, err := r.count(1)
		if err != nil {
			return err
		}
		for j := 0; j < cnt; j++ {
			if exprs {
				e, err := m.constExpr(r, typ, len(m.globalTypes))
				if err != nil {
					return fmt.Errorf("element %d item %d: %w", i, j, err)
				}
				if e[0] == byte(opRefFunc) {
					fr := &reader{b: e[1:]}
					f, _ := fr.u32()
					m.elemFuncs = append(m.elemFuncs, f)
				}
			} else {
				f, err := r.u32()
				if err != nil {
					return err
				}
				m.elemFuncs = append(m.elemFuncs, f)
			}
		}
		m.elemTypes = append(m.elemTypes, typ)
	}
	return nil
}

// checkValType accepts the number and reference types of WebAssembly 2.0; v128 and
// the typed references of later proposals are recorded as refused features.
func (m *module) checkValType(t byte) error {
	switch t {
	case tI32, tI64, tF32, tF64, tFuncref, tExternref:
		return nil
	case tV128:
		m.noteFeature("simd", "v128 value type")
		return nil
	case 0x63, 0x64:
		m.noteFeature("gc", fmt.Sprintf("typed reference %#x", t))
		return errStop
	case 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x71, 0x72, 0x73, 0x74:
		m.noteFeature("gc", fmt.Sprintf("reference type %#x", t))
		return nil
	}
	return fmt.Errorf("bad value type %#x", t)
}

func (m *module) valTypes(r *reader) ([]byte, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	ts, err := r.bytes(n)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := m.checkValType(t); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func (m *module) limits(r *reader, what string, allowShared bool) (limits, error) {
	var l limits
	flag, err := r.byte()
	if err != nil {
		return l, err
	}
	if flag > 7 {
		return l, fmt.Errorf("%s limits: bad flags %#x", what, flag)
	}
	if flag&2 != 0 {
		if allowShared {
			m.noteFeature("threads", "shared "+what)
		} else {
			return l, fmt.Errorf("%s limits: bad flags %#x", what, flag)
		}
	}
	read := func() (uint64, error) {
		if flag&4 != 0 {
			v, err := r.s64() // memory64 limits are u64; the sign does not matter here
			return uint64(v), err
		}
		v, err := r.u32()
		return uint64(v), err
	}
	if flag&4 != 0 {
		m.noteFeature("memory64", "64-bit "+what)
	}
	if l.min, err = read(); err != nil {
		return l, err
	}
	if flag&1 != 0 {
		l.hasMax = true
		if l.max, err = read(); err != nil {
			return l, err
		}
		if l.max < l.min {
			return l, fmt.Errorf("%s limits: minimum %d above maximum %d", what, l.min, l.max)
		}
	}
	return l, nil
}

func (m *module) memType(r *reader) (limits, error) {
	l, err := m.limits(r, "memory", true)
	if err != nil {
		return l, err
	}
	if l.min > 65536 || (l.hasMax && l.max > 65536) {
		if m.feature == nil || m.feature.What != "memory64" {
			return l, fmt.Errorf("memory size above 65536 pages")
		}
	}
	return l, nil
}

func (m *module) tableType(r *reader) (tableType, error) {
	var t tableType
	var err error
	if t.elem, err = r.byte(); err != nil {
		return t, err
	}
	if t.elem != tFuncref && t.elem != tExternref {
		if err := m.checkValType(t.elem); err != nil {
			return t, err
		}
		if m.feature == nil {
			return t, fmt.Errorf("table element type %#x is not a reference", t.elem)
		}
	}
	t.lim, err = m.limits(r, "table", false)
	return t, err
}

func (m *module) globalType(r *reader) (globalType, error) {
	var g globalType
	var err error
	if g.typ, err = r.byte(); err != nil {
		return g, err
	}
	if err := m.checkValType(g.typ); err != nil {
		return g, err
	}
	mut, err := r.byte()
	if err != nil {
		return g, err
	}
	if mut > 1 {
		return g, fmt.Errorf("bad mutability %d", mut)
	}
	g.mutable = mut == 1
	return g, nil
}

// constExpr reads one constant expression of the given type; globals below
// visibleGlobals may be read. It returns the raw expression including its end.
func (m *module) constExpr(r *reader, want byte, visibleGlobals int) ([]byte, error) {
	start := r.pos
	op, err := r.byte()
	if err != nil {
		return nil, err
	}
	var got byte
	switch op {
	case byte(opI32Const):
		_, err = r.s32()
		got = tI32
	case byte(opI64Const):
		_, err = r.s64()
		got = tI64
	case byte(opF32Const):
		_, err = r.bytes(4)
		got = tF32
	case byte(opF64Const):
		_, err = r.bytes(8)
		got = tF64
	case byte(opGlobalGet):
		var g uint32
		g, err = r.u32()
		if err == nil {
			if int(g) >= visibleGlobals || int(g) >= len(m.globalTypes) {
				return nil, fmt.Errorf("constant expression reads global %d, not visible", g)
			}
			if m.globalTypes[g].mutable {
				return nil, fmt.Errorf("constant expression reads mutable global %d", g)
			}
			got = m.globalTypes[g].typ
		}
	case byte(opRefNull):
		got, err = r.byte()
		if err == nil && got != tFuncref && got != tExternref {
			return nil, fmt.Errorf("ref.null of bad type %#x", got)
		}
	case byte(opRefFunc):
		var f uint32
		f, err = r.u32()
		got = tFuncref
		m.declared[f] = true
	case 0xFD:
		m.noteFeature("simd", "v128.const in a constant expression")
		return nil, errStop
	default:
		if op >= 0x45 && op <= 0xC4 {
			m.noteFeature("extended-const", fmt.Sprintf("opcode %#x in a constant expression", op))
			return nil, errStop
		}
		return nil, fmt.Errorf("opcode %#x not allowed in a constant expression", op)
	}
	if err != nil {
		return nil, err
	}
	end, err := r.byte()
	if err != nil {
		return nil, err
	}
	if end != byte(opEnd) {
		if end >= 0x45 && end <= 0xC4 {
			m.noteFeature("extended-const", fmt.Sprintf("opcode %#x in a constant expression", end))
			return nil, errStop
		}
		return nil, fmt.Errorf("constant expression not ended (%#x)", end)
	}
	if got != want && want != tUnknown {
		return nil, fmt.Errorf("constant expression has type %#x, want %#x", got, want)
	}
	return r.b[start:r.pos], nil
}

func (m *module) checkIndices() error {
	nf := uint32(len(m.funcTypes))
	for _, e := range m.exports {
		var n int
		switch e.kind {
		case extFunc:
			n = len(m.funcTypes)
			m.declared[e.idx] = true
		case extTable:
			n = len(m.tableTypes)
		case extMemory:
			n = len(m.memLimits)
		case extGlobal:
			n = len(m.globalTypes)
		default:
			continue
		}
		if int(e.idx) >= n {
			return malformed("export %q: index %d out of range", e.name, e.idx)
		}
	}
	for _, f := range m.elemFuncs {
		if f >= nf {
			return malformed("element names function %d, out of range", f)
		}
		m.declared[f] = true
	}
	for f := range m.declared {
		if f >= nf {
			return malformed("ref.func names function %d, out of range", f)
		}
	}
	if m.hasStart {
		if m.start >= nf {
			return malformed("start function %d out of range", m.start)
		}
		t := m.types[m.funcTypes[m.start]]
		if len(t.params) != 0 || len(t.results) != 0 {
			return malformed("start function %d must take and return nothing", m.start)
		}
	}
	return nil
}
