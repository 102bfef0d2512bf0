package wasm

import (
	"encoding/binary"
	"fmt"
)

// InstrumentationVersion changes whenever the instrumented code could behave
// differently; it is part of RuntimeID and of the compile cache key.
const InstrumentationVersion = 1

// RuntimeID names the execution rules of WIRE §6 together with this
// implementation's instrumentation version.
const RuntimeID = "wasm-wasi-v1"

// Names under which the instrumented module exports its bookkeeping. The leading
// NUL keeps them out of any toolchain's way.
const (
	exportFuel   = "\x00guild.fuel"
	exportStatus = "\x00guild.status"
	exportStart  = "\x00guild.start"
)

// Values of the status global, set just before the trap they explain.
const (
	statusDepth = 1
	statusFuel  = 2
)

// Canonical NaNs of WIRE §6.
const (
	canonNaN32 = 0x7FC00000
	canonNaN64 = 0x7FF8000000000000
)

// nanOp reports the result type of an instruction whose NaN result must be
// canonicalised: float arithmetic (add, sub, mul, div, sqrt), min/max, rounding
// (ceil, floor, trunc, nearest) and the float-to-float conversions (demote,
// promote). abs, neg and copysign only touch the sign bit and are exact in every
// engine; int-to-float conversions never produce NaN.
func nanOp(op Op) byte {
	switch {
	case op >= 0x8D && op <= 0x97: // f32.ceil … f32.max
		return tF32
	case op >= 0x9B && op <= 0xA5: // f64.ceil … f64.max
		return tF64
	case op == 0xB6: // f32.demote_f64
		return tF32
	case op == 0xBB: // f64.promote_f32
		return tF64
	}
	return 0
}

// isTerminator reports whether op ends a basic block (WIRE §6).
func isTerminator(op Op) bool {
	switch op {
	case opBlock, opLoop, opIf, opElse, opEnd, opBr, opBrIf, opBrTable, opReturn, opCall, opCallIndirect:
		return true
	}
	return false
}

// callSurcharge is the extra fuel of call and call_indirect.
const callSurcharge = 8

// layout holds the indices the instrumented code refers to.
type layout struct {
	fuel, depth, status    uint32 // globals
	oof, depthTrap         uint32 // functions
	growCharge, bulkCharge uint32
	typeVoid, typeI32I32   uint32
	resultTypes            map[int]uint32 // defined function -> wrapper block type index for multi-value results
	meter                  bool
}

// Instrument gives the module bytes that the runner compiles: metering, call-depth
// accounting and NaN canonicalisation added, the memory maximum capped at the
// admitted pages, and any start function exported instead of run at instantiation
// (so the fuel limit can be set first).
func (a *Admitted) Instrument() []byte { return a.encode(true) }

// uninstrumented gives the same module with only the memory cap and start-function
// changes; benchmarks use it to measure the metering overhead.
func (a *Admitted) uninstrumented() []byte { return a.encode(false) }

func (a *Admitted) encode(meter bool) []byte {
	m := a.m
	types := append([]funcType(nil), m.types...)
	typeIndex := func(ft funcType) uint32 {
		for i, t := range types {
			if t.equal(ft) {
				return uint32(i)
			}
		}
		types = append(types, ft)
		return uint32(len(types) - 1)
	}
	nf := uint32(len(m.funcTypes))
	ng := uint32(len(m.globalTypes))
	lay := layout{meter: meter, fuel: ng, depth: ng + 1, status: ng + 2,
		oof: nf, depthTrap: nf + 1, growCharge: nf + 2, bulkCharge: nf + 3,
		resultTypes: map[int]uint32{}}
	if meter {
		lay.typeVoid = typeIndex(funcType{})
		lay.typeI32I32 = typeIndex(funcType{params: []byte{tI32}, results: []byte{tI32}})
		for fi, ti := range m.funcs {
			if res := m.types[ti].results; len(res) > 1 {
				lay.resultTypes[fi] = typeIndex(funcType{results: res})
			}
		}
	}

	out := append([]byte(nil), wasmMagic...)
	section := func(id byte, content []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(content)))
		out = append(out, content...)
	}

	// type
	var b []byte
	b = appendU32(b, uint32(len(types)))
	for _, t := range types {
		b = append(b, 0x60)
		b = appendU32(b, uint32(len(t.params)))
		b = append(b, t.params...)
		b = appendU32(b, uint32(len(t.results)))
		b = append(b, t.results...)
	}
	section(secType, b)
	if m.raw[secImport] != nil {
		section(secImport, m.raw[secImport])
	}
	// function
	b = nil
	nHelpers := 0
	if meter {
		nHelpers = 4
	}
	b = appendU32(b, uint32(len(m.funcs)+nHelpers))
	for _, ti := range m.funcs {
		b = appendU32(b, ti)
	}
	if meter {
		b = appendU32(b, lay.typeVoid)
		b = appendU32(b, lay.typeVoid)
		b = appendU32(b, lay.typeI32I32)
		b = appendU32(b, lay.typeI32I32)
	}
	section(secFunction, b)
	if m.raw[secTable] != nil {
		section(secTable, m.raw[secTable])
	}
	// memory: the maximum is capped at the admitted pages.
	if len(m.mems) > 0 {
		l := m.mems[0]
		max := uint64(a.pages)
		if l.hasMax && l.max < max {
			max = l.max
		}
		b = appendU32(nil, 1)
		b = append(b, 0x01)
		b = appendU32(b, uint32(l.min))
		b = appendU32(b, uint32(max))
		section(secMemory, b)
	}
	// global
	b = nil
	nGlobals := len(m.globals)
	if meter {
		nGlobals += 3
	}
	b = appendU32(b, uint32(nGlobals))
	for _, g := range m.globals {
		b = append(b, g.typ.typ, boolByte(g.typ.mutable))
		b = append(b, g.init...)
	}
	if meter {
		b = append(b, tI64, 1, byte(opI64Const), 0, byte(opEnd))
		b = append(b, tI32, 1, byte(opI32Const), 0, byte(opEnd))
		b = append(b, tI32, 1, byte(opI32Const), 0, byte(opEnd))
	}
	if nGlobals > 0 {
		section(secGlobal, b)
	}
	// export
	exports := append([]export(nil), m.exports...)
	if meter {
		exports = append(exports, export{name: exportFuel, kind: extGlobal, idx: lay.fuel},
			export{name: exportStatus, kind: extGlobal, idx: lay.status})
	}
	if m.hasStart {
		exports = append(exports, export{name: exportStart, kind: extFunc, idx: m.start})
	}
	b = appendU32(nil, uint32(len(exports)))
	for _, e := range exports {
		b = appendU32(b, uint32(len(e.name)))
		b = append(b, e.name...)
		b = append(b, e.kind)
		b = appendU32(b, e.idx)
	}
	section(secExport, b)
	if m.raw[secElement] != nil {
		section(secElement, m.raw[secElement])
	}
	if m.raw[secDataCount] != nil {
		section(secDataCount, m.raw[secDataCount])
	}
	// code
	b = appendU32(nil, uint32(len(m.codes)+nHelpers))
	var body []byte
	var instrs []Instr
	for fi := range m.codes {
		body = body[:0]
		if meter {
			body, instrs = lay.instrumentFunc(m, fi, a.frameCosts[fi], body, instrs)
		} else {
			body = appendLocals(body, m.codes[fi].locals, 0, 0)
			body = append(body, m.codes[fi].body...)
		}
		b = appendU32(b, uint32(len(body)))
		b = append(b, body...)
	}
	if meter {
		for _, h := range lay.helpers() {
			b = appendU32(b, uint32(len(h)))
			b = append(b, h...)
		}
	}
	section(secCode, b)
	if m.raw[secData] != nil {
		section(secData, m.raw[secData])
	}
	return out
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendLocals(b []byte, locals []localDecl, extraF32, extraF64 uint32) []byte {
	n := len(locals)
	if extraF32 > 0 {
		n++
	}
	if extraF64 > 0 {
		n++
	}
	b = appendU32(b, uint32(n))
	for _, d := range locals {
		b = appendU32(b, d.n)
		b = append(b, d.typ)
	}
	if extraF32 > 0 {
		b = append(appendU32(b, extraF32), tF32)
	}
	if extraF64 > 0 {
		b = append(appendU32(b, extraF64), tF64)
	}
	return b
}

// asm helpers for the few instructions the instrumentation emits.
func emitOp(b []byte, op Op) []byte            { return append(b, byte(op)) }
func emitIdx(b []byte, op Op, i uint32) []byte { return appendU32(append(b, byte(op)), i) }
func emitI64(b []byte, v int64) []byte         { return appendS64(append(b, byte(opI64Const)), v) }
func emitI32(b []byte, v int32) []byte         { return appendS64(append(b, byte(opI32Const)), int64(v)) }

// emitCharge subtracts cost from the fuel counter.
func (l *layout) emitCharge(b []byte, cost int64) []byte {
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitI64(b, cost)
	b = emitOp(b, opI64Sub)
	return emitIdx(b, opGlobalSet, l.fuel)
}

// emitCheck stops the run when the counter is below zero.
func (l *layout) emitCheck(b []byte) []byte {
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitI64(b, 0)
	b = emitOp(b, opI64LtS)
	b = append(b, byte(opIf), 0x40)
	b = emitIdx(b, opCall, l.oof)
	return emitOp(b, opEnd)
}

func (l *layout) helpers() [][]byte {
	var hs [][]byte
	trap := func(status int32) []byte {
		b := []byte{0}
		b = emitI32(b, status)
		b = emitIdx(b, opGlobalSet, l.status)
		b = emitOp(b, opUnreachable)
		return emitOp(b, opEnd)
	}
	hs = append(hs, trap(statusFuel), trap(statusDepth))
	// growCharge(pages) = pages, after charging 1024 per page.
	b := []byte{0}
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitIdx(b, opLocalGet, 0)
	b = emitOp(b, opI64ExtendI32U)
	b = emitI64(b, 1024)
	b = emitOp(b, opI64Mul)
	b = emitOp(b, opI64Sub)
	b = emitIdx(b, opGlobalSet, l.fuel)
	b = l.emitCheck(b)
	b = emitIdx(b, opLocalGet, 0)
	hs = append(hs, emitOp(b, opEnd))
	// bulkCharge(n) = n, after charging 1 per started 64 bytes.
	b = []byte{0}
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitIdx(b, opLocalGet, 0)
	b = emitOp(b, opI64ExtendI32U)
	b = emitI64(b, 63)
	b = emitOp(b, opI64Add)
	b = emitI64(b, 6)
	b = emitOp(b, opI64ShrU)
	b = emitOp(b, opI64Sub)
	b = emitIdx(b, opGlobalSet, l.fuel)
	b = l.emitCheck(b)
	b = emitIdx(b, opLocalGet, 0)
	hs = append(hs, emitOp(b, opEnd))
	return hs
}

// instrumentFunc rewrites defined function fi. The original body is wrapped in a
// block so that every way out of the function (falling off the end, return, a
// branch to the function's label) passes the call-depth epilogue; return becomes
// a branch to that block.
func (l *layout) instrumentFunc(m *module, fi int, frameCost uint32, out []byte, instrs []Instr) ([]byte, []Instr) {
	c := &m.codes[fi]
	ft := m.types[m.funcs[fi]]
	instrs = instrs[:0]
	r := &reader{b: c.body}
	for !r.done() {
		var in Instr
		if err := decodeInstr(r, &in); err != nil {
			panic(fmt.Sprintf("wasm: instrument admitted function %d: %v", fi, err)) // admission decoded it already
		}
		instrs = append(instrs, in)
	}
	// Block costs, indexed by the first instruction of each block.
	costs := make([]int64, len(instrs)+1)
	start, needF32, needF64 := 0, false, false
	for i := range instrs {
		op := instrs[i].Op
		switch nanOp(op) {
		case tF32:
			needF32 = true
		case tF64:
			needF64 = true
		}
		if isTerminator(op) {
			cost := int64(i - start + 1)
			if op == opCall || op == opCallIndirect {
				cost += callSurcharge
			}
			costs[start] = cost
			start = i + 1
		}
	}
	scratch := uint32(len(ft.params)) + c.nLocals
	var f32Local, f64Local uint32
	var nF32, nF64 uint32
	if needF32 {
		f32Local, nF32 = scratch, 1
		scratch++
	}
	if needF64 {
		f64Local, nF64 = scratch, 1
	}
	out = appendLocals(out, c.locals, nF32, nF64)

	// Prologue: call depth, then the entry block's fuel and the entry check.
	out = emitIdx(out, opGlobalGet, l.depth)
	out = emitI32(out, int32(frameCost))
	out = emitOp(out, opI32Add)
	out = emitIdx(out, opGlobalSet, l.depth)
	out = emitIdx(out, opGlobalGet, l.depth)
	out = emitI32(out, maxCallDepth)
	out = emitOp(out, opI32GtU)
	out = append(out, byte(opIf), 0x40)
	out = emitIdx(out, opCall, l.depthTrap)
	out = emitOp(out, opEnd)
	out = l.emitCharge(out, costs[0])
	out = l.emitCheck(out)

	// Wrapper block with the function's results.
	out = append(out, byte(opBlock))
	switch len(ft.results) {
	case 0:
		out = append(out, 0x40)
	case 1:
		out = append(out, ft.results[0])
	default:
		out = appendS64(out, int64(l.resultTypes[fi]))
	}
	depth := uint32(0)
	for i := range instrs {
		in := &instrs[i]
		switch in.Op {
		case opMemoryGrow:
			out = emitIdx(out, opCall, l.growCharge)
		case opMemoryCopy, opMemoryFill, opMemoryInit:
			out = emitIdx(out, opCall, l.bulkCharge)
		}
		switch in.Op {
		case opReturn:
			out = emitIdx(out, opBr, depth)
		case opBlock, opLoop, opIf:
			depth++
			out = appendInstr(out, in)
		case opEnd:
			depth--
			out = appendInstr(out, in)
		default:
			out = appendInstr(out, in)
		}
		switch nanOp(in.Op) {
		case tF32:
			out = emitIdx(out, opLocalTee, f32Local)
			out = append(out, byte(opF32Const))
			out = binary.LittleEndian.AppendUint32(out, canonNaN32)
			out = emitIdx(out, opLocalGet, f32Local)
			out = emitIdx(out, opLocalGet, f32Local)
			out = emitOp(out, opF32Eq)
			out = emitOp(out, opSelect)
		case tF64:
			out = emitIdx(out, opLocalTee, f64Local)
			out = append(out, byte(opF64Const))
			out = binary.LittleEndian.AppendUint64(out, canonNaN64)
			out = emitIdx(out, opLocalGet, f64Local)
			out = emitIdx(out, opLocalGet, f64Local)
			out = emitOp(out, opF64Eq)
			out = emitOp(out, opSelect)
		}
		if isTerminator(in.Op) && i+1 < len(instrs) {
			out = l.emitCharge(out, costs[i+1])
			if in.Op == opLoop {
				out = l.emitCheck(out)
			}
		}
	}
	// The original final end closed the wrapper block; the epilogue follows.
	out = emitIdx(out, opGlobalGet, l.depth)
	out = emitI32(out, int32(frameCost))
	out = emitOp(out, opI32Sub)
	out = emitIdx(out, opGlobalSet, l.depth)
	out = emitOp(out, opEnd)
	return out, instrs
}
