package wasm

import (
	"encoding/binary"
	"fmt"
	"math"
)

// InstrumentationVersion changes whenever the instrumented code could behave
// differently; it is part of RuntimeID and of the compile cache key.
const InstrumentationVersion = 2

// RuntimeID names the execution rules of WIRE §6 together with this
// implementation's instrumentation version.
const RuntimeID = "wasm-wasi-v1"

// Names under which the instrumented module exports its bookkeeping. The leading
// NUL keeps them out of any toolchain's way.
const (
	exportFuel   = "\x00guild.fuel"
	exportStatus = "\x00guild.status"
	exportStart  = "\x00guild.start"
	exportLimit  = "\x00guild.limit"
	exportAbort  = "\x00guild.abort"
)

// Values of the status global, set just before the trap they explain.
const (
	statusDepth = 1
	statusFuel  = 2
	statusAbort = 3 // stopped by the safety net: never an outcome
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
	limit, abort           uint32 // globals of the check slow path (see emitCheck)
	slow, depthTrap        uint32 // functions
	growCharge, bulkCharge uint32
	typeVoid, typeI32I32   uint32
	typeI64Void            uint32
	resultTypes            map[int]uint32 // defined function -> wrapper block type index for multi-value results
	meter                  bool
	// reference turns off every optimisation below the fuel semantics (charge
	// merging, leaf call-depth checks, inline charges for memory.grow and bulk
	// memory ops): one charge per basic block, exactly as WIRE §6 words it.
	// Tests compare the two.
	reference bool
}

// Instrument gives the module bytes that the runner compiles: metering, call-depth
// accounting and NaN canonicalisation added, the memory maximum capped at the
// admitted pages, and any start function exported instead of run at instantiation
// (so the fuel limit can be set first).
func (a *Admitted) Instrument() []byte { return a.encode(true, false) }

// instrumentReference gives the module instrumented without optimisations, the
// literal reading of WIRE §6 that tests compare Instrument against.
func (a *Admitted) instrumentReference() []byte { return a.encode(true, true) }

// uninstrumented gives the same module with only the memory cap and start-function
// changes; benchmarks use it to measure the metering overhead.
func (a *Admitted) uninstrumented() []byte { return a.encode(false, false) }

func (a *Admitted) encode(meter, reference bool) []byte {
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
	lay := layout{meter: meter, reference: reference, fuel: ng, depth: ng + 1, status: ng + 2, limit: ng + 3, abort: ng + 4,
		slow: nf, depthTrap: nf + 1, growCharge: nf + 2, bulkCharge: nf + 3,
		resultTypes: map[int]uint32{}}
	if meter {
		lay.typeVoid = typeIndex(funcType{})
		lay.typeI64Void = typeIndex(funcType{params: []byte{tI64}})
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
		b = appendU32(b, lay.typeI64Void)
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
	} else if meter {
		// A memory of no pages, which the module cannot see (it has no memory
		// instructions), so that the check slow path can yield (emitCheck).
		section(secMemory, []byte{1, 0x01, 0, 0})
	}
	// global
	b = nil
	nGlobals := len(m.globals)
	if meter {
		nGlobals += 5
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
		b = append(b, tI64, 1)
		b = append(emitI64(b, math.MaxInt64), byte(opEnd)) // limit: the first check arms it
		b = append(b, tI32, 1, byte(opI32Const), 0, byte(opEnd))
	}
	if nGlobals > 0 {
		section(secGlobal, b)
	}
	// export
	exports := append([]export(nil), m.exports...)
	if meter {
		exports = append(exports, export{name: exportFuel, kind: extGlobal, idx: lay.fuel},
			export{name: exportStatus, kind: extGlobal, idx: lay.status},
			export{name: exportLimit, kind: extGlobal, idx: lay.limit},
			export{name: exportAbort, kind: extGlobal, idx: lay.abort})
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
			body = appendLocals(body, m.codes[fi].locals, nil)
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

// appendLocals encodes a function's local declarations followed by one local of
// each type in extra.
func appendLocals(b []byte, locals []localDecl, extra []byte) []byte {
	b = appendU32(b, uint32(len(locals)+len(extra)))
	for _, d := range locals {
		b = appendU32(b, d.n)
		b = append(b, d.typ)
	}
	for _, t := range extra {
		b = append(appendU32(b, 1), t)
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

// yieldInterval is the fuel between two visits of the check slow path.
const yieldInterval = 1 << 20

// emitCheck stops the run when the counter is below zero. ahead is fuel already
// charged for blocks after the check point (see chargePlan): the check sees the
// counter as it was before that charge.
//
// The fast path compares the counter with the limit global instead of 0. The
// limit is never below 0, so every negative counter reaches the slow path, which
// decides out of fuel by the sign alone: the outcome is exactly WIRE §6's. The
// slow path also, every yieldInterval of fuel, executes memory.grow 0, which
// leaves wazero's compiled code for Go: Go cannot preempt compiled wasm code, so
// without it a long run would hold up every stop-the-world of the process (and
// with it the safety net's own timer). And it reads the abort global, which only
// the host writes, to stop a run the safety net abandons; the host also raises
// the limit so that the slow path comes at the next check point.
func (l *layout) emitCheck(b []byte, ahead int64) []byte {
	counter := func(b []byte) []byte {
		b = emitIdx(b, opGlobalGet, l.fuel)
		if ahead != 0 {
			b = emitI64(b, ahead)
			b = emitOp(b, opI64Add)
		}
		return b
	}
	b = counter(b)
	b = emitIdx(b, opGlobalGet, l.limit)
	b = emitOp(b, opI64LtS)
	b = append(b, byte(opIf), 0x40)
	b = counter(b)
	b = emitIdx(b, opCall, l.slow)
	return emitOp(b, opEnd)
}

// slowPath is the body of the check slow path; its parameter is the counter as
// the check point sees it.
func (l *layout) slowPath() []byte {
	b := []byte{0}
	trapIf := func(b []byte, status int32) []byte {
		b = append(b, byte(opIf), 0x40)
		b = emitI32(b, status)
		b = emitIdx(b, opGlobalSet, l.status)
		b = emitOp(b, opUnreachable)
		return emitOp(b, opEnd)
	}
	b = emitIdx(b, opLocalGet, 0)
	b = emitI64(b, 0)
	b = emitOp(b, opI64LtS)
	b = trapIf(b, statusFuel)
	b = emitIdx(b, opGlobalGet, l.abort)
	b = trapIf(b, statusAbort)
	b = emitI32(b, 0)
	b = append(b, byte(opMemoryGrow), 0)
	b = emitOp(b, opDrop)
	// limit = max(counter − yieldInterval, 0)
	b = emitIdx(b, opLocalGet, 0)
	b = emitI64(b, yieldInterval)
	b = emitOp(b, opI64Sub)
	b = emitIdx(b, opLocalTee, 0)
	b = emitI64(b, 0)
	b = emitIdx(b, opLocalGet, 0)
	b = emitI64(b, 0)
	b = emitOp(b, opI64GtS)
	b = emitOp(b, opSelect)
	b = emitIdx(b, opGlobalSet, l.limit)
	return emitOp(b, opEnd)
}

// emitGrowCharge charges 1024 per requested page (the operand on top of the
// stack, kept there) and checks, using the i32 scratch local t.
func (l *layout) emitGrowCharge(b []byte, t uint32) []byte {
	b = emitIdx(b, opLocalTee, t)
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitIdx(b, opLocalGet, t)
	b = emitOp(b, opI64ExtendI32U)
	b = emitI64(b, 1024)
	b = emitOp(b, opI64Mul)
	b = emitOp(b, opI64Sub)
	b = emitIdx(b, opGlobalSet, l.fuel)
	return l.emitCheck(b, 0)
}

// emitBulkCharge charges 1 per started 64 bytes of the length operand (on top of
// the stack, kept there) and checks, using the i32 scratch local t.
func (l *layout) emitBulkCharge(b []byte, t uint32) []byte {
	b = emitIdx(b, opLocalTee, t)
	b = emitIdx(b, opGlobalGet, l.fuel)
	b = emitIdx(b, opLocalGet, t)
	b = emitOp(b, opI64ExtendI32U)
	b = emitI64(b, 63)
	b = emitOp(b, opI64Add)
	b = emitI64(b, 6)
	b = emitOp(b, opI64ShrU)
	b = emitOp(b, opI64Sub)
	b = emitIdx(b, opGlobalSet, l.fuel)
	return l.emitCheck(b, 0)
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
	hs = append(hs, l.slowPath(), trap(statusDepth))
	// growCharge(pages) = pages and bulkCharge(n) = n, after charging and
	// checking; the reference instrumentation calls them.
	param := emitIdx([]byte{0}, opLocalGet, 0)
	hs = append(hs, emitOp(l.emitGrowCharge(param, 0), opEnd))
	param = emitIdx([]byte{0}, opLocalGet, 0)
	hs = append(hs, emitOp(l.emitBulkCharge(param, 0), opEnd))
	return hs
}

// observes reports whether op, run inside a basic block, can let anything see the
// fuel counter: a trap (whose outcome reports the fuel used), a call (the callee
// checks and host calls charge), or a charge and check of its own. Everything
// else is pure computation on locals, globals and the operand stack; the list is
// explicit so that an opcode not named here counts as observing.
func observes(op Op) bool {
	switch {
	case op == opNop, op == opDrop, op == opSelect, op == opSelectT,
		op >= opLocalGet && op <= opGlobalSet,
		op == opMemorySize,
		op >= opI32Const && op <= 0x6C, // consts, comparisons, i32 clz … mul
		op >= 0x71 && op <= 0x7E,       // i32 and … rotr, i64 clz … mul
		op >= 0x83 && op <= 0xA7,       // i64 and … rotr, float arithmetic, i32.wrap_i64
		op == 0xAC, op == 0xAD,         // i64.extend_i32_s/u
		op >= 0xB2 && op <= 0xC4, // int→float, demote, promote, reinterpret, sign extension
		op == opRefNull, op == opRefIsNull, op == opRefFunc,
		op >= opPrefixFC && op <= opPrefixFC+7: // saturating truncation
		return false
	}
	return true
}

// chargePlan decides where each basic block's cost is charged. WIRE §6 charges a
// block at its entry; the fuel counter can only be seen at observation points
// (see observes), at check points and when the function is left. When block k
// always continues into block k+1 and nothing in k can observe the counter, the
// cost of k+1 can be charged together with k's: no observer can tell, and the
// counter is the same at every observation point. A block always continues into
// the next when it ends with `block` (the next instruction is reachable only by
// falling in) or with the `end` of a `loop` or of a `block` that no branch
// targets. Loop headers and `if`, `else` and `br_if` successors are entered in
// other ways too and start their own charge.
//
// plan[i] is the fuel to charge before instruction i (a block start), or -1
// when that block's cost was charged with an earlier one. ahead[i] is the part
// of plan[i] that belongs to the blocks after the first; when the chain starts
// at a check point (function entry, loop header) the check adds it back, so it
// compares the counter as WIRE §6 has it there.
func chargePlan(instrs []Instr, reference bool) (plan, ahead []int64) {
	n := len(instrs)
	plan = make([]int64, n+1)
	ahead = make([]int64, n+1)
	for i := range plan {
		plan[i] = -1
	}
	// Which structured blocks does some branch target? targeted[i] for the
	// instruction index i of a block/loop/if.
	targeted := make([]bool, n)
	closes := make([]int, n) // for an end: index of the block/loop/if it closes, -1 for the function
	stack := []int{-1}
	mark := func(depth uint64) {
		if depth < uint64(len(stack)) {
			if i := stack[len(stack)-1-int(depth)]; i >= 0 {
				targeted[i] = true
			}
		}
	}
	for i := range instrs {
		switch in := &instrs[i]; in.Op {
		case opBlock, opLoop, opIf:
			stack = append(stack, i)
		case opEnd:
			closes[i] = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		case opBr, opBrIf:
			mark(in.A)
		case opBrTable:
			for _, d := range in.List {
				mark(uint64(d))
			}
		}
	}
	fallsIn := func(t int) bool { // does the block ending with instrs[t] always continue into t+1?
		switch instrs[t].Op {
		case opBlock:
			return true
		case opEnd:
			c := closes[t]
			return c >= 0 && (instrs[c].Op == opLoop || instrs[c].Op == opBlock && !targeted[c])
		}
		return false
	}
	head, start, pure := 0, 0, true
	for i := range instrs {
		if observes(instrs[i].Op) && !isTerminator(instrs[i].Op) {
			pure = false
		}
		if !isTerminator(instrs[i].Op) {
			continue
		}
		cost := int64(i - start + 1)
		if instrs[i].Op == opCall || instrs[i].Op == opCallIndirect {
			cost += callSurcharge
		}
		if head == start {
			plan[head] = cost
		} else {
			plan[head] += cost
			ahead[head] += cost
		}
		if reference || !pure || !fallsIn(i) {
			head = i + 1
		}
		start, pure = i+1, true
	}
	return plan, ahead
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
	plan, ahead := chargePlan(instrs, l.reference)
	needF32, needF64, needI32, leaf := false, false, false, !l.reference
	for i := range instrs {
		switch op := instrs[i].Op; {
		case nanOp(op) == tF32:
			needF32 = true
		case nanOp(op) == tF64:
			needF64 = true
		case op == opMemoryGrow, op == opMemoryCopy, op == opMemoryFill, op == opMemoryInit:
			needI32 = !l.reference
		case op == opCall, op == opCallIndirect:
			leaf = false
		}
	}
	var extra []byte
	scratch := uint32(len(ft.params)) + c.nLocals
	local := func(need bool, t byte) uint32 {
		if !need {
			return 0
		}
		extra = append(extra, t)
		scratch++
		return scratch - 1
	}
	f32Local, f64Local, i32Local := local(needF32, tF32), local(needF64, tF64), local(needI32, tI32)
	out = appendLocals(out, c.locals, extra)

	// Prologue: call depth, then the entry block's fuel and the entry check.
	// A leaf function (no call, so nothing can see the counter while it runs)
	// only checks that its frame fits; the others add their frame cost and
	// subtract it on the way out.
	if leaf {
		out = emitIdx(out, opGlobalGet, l.depth)
		out = emitI32(out, int32(maxCallDepth-frameCost))
		out = emitOp(out, opI32GtU)
	} else {
		out = emitIdx(out, opGlobalGet, l.depth)
		out = emitI32(out, int32(frameCost))
		out = emitOp(out, opI32Add)
		out = emitIdx(out, opGlobalSet, l.depth)
		out = emitIdx(out, opGlobalGet, l.depth)
		out = emitI32(out, maxCallDepth)
		out = emitOp(out, opI32GtU)
	}
	out = append(out, byte(opIf), 0x40)
	out = emitIdx(out, opCall, l.depthTrap)
	out = emitOp(out, opEnd)
	out = l.emitCharge(out, plan[0])
	out = l.emitCheck(out, ahead[0])

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
			if l.reference {
				out = emitIdx(out, opCall, l.growCharge)
			} else {
				out = l.emitGrowCharge(out, i32Local)
			}
		case opMemoryCopy, opMemoryFill, opMemoryInit:
			if l.reference {
				out = emitIdx(out, opCall, l.bulkCharge)
			} else {
				out = l.emitBulkCharge(out, i32Local)
			}
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
		if isTerminator(in.Op) && i+1 < len(instrs) && plan[i+1] >= 0 {
			out = l.emitCharge(out, plan[i+1])
			if in.Op == opLoop {
				out = l.emitCheck(out, ahead[i+1])
			}
		}
	}
	// The original final end closed the wrapper block; the epilogue follows.
	if !leaf {
		out = emitIdx(out, opGlobalGet, l.depth)
		out = emitI32(out, int32(frameCost))
		out = emitOp(out, opI32Sub)
		out = emitIdx(out, opGlobalSet, l.depth)
	}
	out = emitOp(out, opEnd)
	return out, instrs
}
