package wasm

import (
	"errors"
	"fmt"
)

// Call-depth constants of WIRE §6.
const (
	frameBase    = 4
	maxFrameCost = 65536
	maxCallDepth = 1 << 20
)

type ctrlFrame struct {
	op          Op
	start, end  []byte
	height      int
	unreachable bool
}

// validator type-checks one function body and measures its maximum operand-stack
// height, which the frame cost of WIRE §6 needs.
type validator struct {
	m         *module
	locals    []byte
	results   []byte
	vals      []byte
	ctrls     []ctrlFrame
	maxHeight int
	in        Instr
}

var errStack = errors.New("operand stack underflow")

func (v *validator) push(t byte) {
	v.vals = append(v.vals, t)
	if len(v.vals) > v.maxHeight {
		v.maxHeight = len(v.vals)
	}
}

func (v *validator) pop() (byte, error) {
	top := &v.ctrls[len(v.ctrls)-1]
	if len(v.vals) == top.height {
		if top.unreachable {
			return tUnknown, nil
		}
		return 0, errStack
	}
	t := v.vals[len(v.vals)-1]
	v.vals = v.vals[:len(v.vals)-1]
	return t, nil
}

func (v *validator) popExpect(want byte) (byte, error) {
	t, err := v.pop()
	if err != nil {
		return 0, err
	}
	if t != want && t != tUnknown && want != tUnknown {
		return 0, fmt.Errorf("type mismatch: have %s, want %s", typeName(t), typeName(want))
	}
	return t, nil
}

func (v *validator) popAll(ts []byte) error {
	for i := len(ts) - 1; i >= 0; i-- {
		if _, err := v.popExpect(ts[i]); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) pushAll(ts []byte) {
	for _, t := range ts {
		v.push(t)
	}
}

func (v *validator) pushCtrl(op Op, start, end []byte) {
	v.ctrls = append(v.ctrls, ctrlFrame{op: op, start: start, end: end, height: len(v.vals)})
	v.pushAll(start)
}

func (v *validator) popCtrl() (ctrlFrame, error) {
	if len(v.ctrls) == 0 {
		return ctrlFrame{}, errors.New("end without a block")
	}
	f := v.ctrls[len(v.ctrls)-1]
	if err := v.popAll(f.end); err != nil {
		return f, err
	}
	if len(v.vals) != f.height {
		return f, fmt.Errorf("%d values left on the stack at the end of a block", len(v.vals)-f.height)
	}
	v.ctrls = v.ctrls[:len(v.ctrls)-1]
	return f, nil
}

func (v *validator) setUnreachable() {
	top := &v.ctrls[len(v.ctrls)-1]
	v.vals = v.vals[:top.height]
	top.unreachable = true
}

func (v *validator) labelTypes(l uint64) ([]byte, error) {
	if l >= uint64(len(v.ctrls)) {
		return nil, fmt.Errorf("branch to label %d, only %d open", l, len(v.ctrls))
	}
	f := &v.ctrls[len(v.ctrls)-1-int(l)]
	if f.op == opLoop {
		return f.start, nil
	}
	return f.end, nil
}

func typeName(t byte) string {
	switch t {
	case tI32:
		return "i32"
	case tI64:
		return "i64"
	case tF32:
		return "f32"
	case tF64:
		return "f64"
	case tFuncref:
		return "funcref"
	case tExternref:
		return "externref"
	case tUnknown:
		return "any"
	}
	return fmt.Sprintf("type %#x", t)
}

func isRef(t byte) bool { return t == tFuncref || t == tExternref }

// blockType resolves a block type to its parameter and result types.
func (m *module) blockType(bt uint64) ([]byte, []byte, error) {
	s := int64(bt)
	switch {
	case s == -64:
		return nil, nil, nil
	case s < 0:
		t := byte(s & 0x7F)
		switch t {
		case tI32, tI64, tF32, tF64, tFuncref, tExternref:
			return nil, []byte{t}, nil
		case tV128:
			return nil, nil, featureErr("simd", "v128 block type")
		}
		return nil, nil, fmt.Errorf("bad block type %d", s)
	default:
		if s >= int64(len(m.types)) {
			return nil, nil, fmt.Errorf("block type index %d out of range", s)
		}
		return m.types[s].params, m.types[s].results, nil
	}
}

// naturalAlign is log2 of the access width of each load and store.
var naturalAlign = [...]uint32{2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 2, 3, 2, 3, 0, 1, 0, 1, 2}

// validateFunc checks defined function fi and returns its frame cost.
func (m *module) validateFunc(fi int) (uint32, error) {
	ft := m.types[m.funcs[fi]]
	c := &m.codes[fi]
	v := &validator{m: m, results: ft.results}
	v.locals = append(v.locals, ft.params...)
	for _, d := range c.locals {
		for k := uint32(0); k < d.n; k++ {
			v.locals = append(v.locals, d.typ)
		}
	}
	v.ctrls = append(v.ctrls, ctrlFrame{op: opBlock, end: ft.results})
	r := &reader{b: c.body}
	for !r.done() {
		if len(v.ctrls) == 0 {
			return 0, fmt.Errorf("instructions after the final end at offset %d", r.pos)
		}
		at := r.pos
		if err := decodeInstr(r, &v.in); err != nil {
			return 0, fmt.Errorf("offset %d: %w", at, err)
		}
		if err := v.step(); err != nil {
			var ae *AdmissionError
			if errors.As(err, &ae) {
				return 0, err
			}
			return 0, fmt.Errorf("offset %d (%s): %w", at, v.in.Op, err)
		}
	}
	if len(v.ctrls) != 0 {
		return 0, errors.New("body ends inside a block")
	}
	cost := uint64(frameBase) + uint64(len(v.locals)) + uint64(v.maxHeight)
	if cost > maxFrameCost {
		return 0, &AdmissionError{Code: CodeMalformed, What: "frame cost",
			Detail: fmt.Sprintf("function %d has frame cost %d (4 + %d params and locals + %d stack), above %d",
				len(m.imports)+fi, cost, len(v.locals), v.maxHeight, maxFrameCost)}
	}
	return uint32(cost), nil
}

func (v *validator) step() error {
	m := v.m
	in := &v.in
	switch in.Op {
	case opUnreachable:
		v.setUnreachable()
	case opNop:
	case opBlock, opLoop, opIf:
		params, results, err := m.blockType(in.A)
		if err != nil {
			return err
		}
		if in.Op == opIf {
			if _, err := v.popExpect(tI32); err != nil {
				return err
			}
		}
		if err := v.popAll(params); err != nil {
			return err
		}
		v.pushCtrl(in.Op, params, results)
	case opElse:
		f, err := v.popCtrl()
		if err != nil {
			return err
		}
		if f.op != opIf {
			return errors.New("else without if")
		}
		v.pushCtrl(opElse, f.start, f.end)
	case opEnd:
		f, err := v.popCtrl()
		if err != nil {
			return err
		}
		if f.op == opIf && string(f.start) != string(f.end) {
			return errors.New("if without else must have matching parameter and result types")
		}
		if len(v.ctrls) > 0 {
			v.pushAll(f.end)
		}
	case opBr:
		ts, err := v.labelTypes(in.A)
		if err != nil {
			return err
		}
		if err := v.popAll(ts); err != nil {
			return err
		}
		v.setUnreachable()
	case opBrIf:
		if _, err := v.popExpect(tI32); err != nil {
			return err
		}
		ts, err := v.labelTypes(in.A)
		if err != nil {
			return err
		}
		if err := v.popAll(ts); err != nil {
			return err
		}
		v.pushAll(ts)
	case opBrTable:
		if _, err := v.popExpect(tI32); err != nil {
			return err
		}
		def, err := v.labelTypes(uint64(in.List[len(in.List)-1]))
		if err != nil {
			return err
		}
		for _, l := range in.List[:len(in.List)-1] {
			ts, err := v.labelTypes(uint64(l))
			if err != nil {
				return err
			}
			if len(ts) != len(def) {
				return errors.New("br_table targets of differing arity")
			}
			// Check the operands against each target without consuming them.
			saved := append([]byte(nil), v.vals...)
			if err := v.popAll(ts); err != nil {
				return err
			}
			v.vals = saved
		}
		if err := v.popAll(def); err != nil {
			return err
		}
		v.setUnreachable()
	case opReturn:
		if err := v.popAll(v.results); err != nil {
			return err
		}
		v.setUnreachable()
	case opCall:
		if in.A >= uint64(len(m.funcTypes)) {
			return fmt.Errorf("call to function %d out of range", in.A)
		}
		t := m.types[m.funcTypes[in.A]]
		if err := v.popAll(t.params); err != nil {
			return err
		}
		v.pushAll(t.results)
	case opCallIndirect:
		if in.A >= uint64(len(m.types)) {
			return fmt.Errorf("type %d out of range", in.A)
		}
		if int(in.B) >= len(m.tableTypes) || m.tableTypes[in.B].elem != tFuncref {
			return fmt.Errorf("call_indirect through table %d, not a funcref table", in.B)
		}
		if _, err := v.popExpect(tI32); err != nil {
			return err
		}
		t := m.types[in.A]
		if err := v.popAll(t.params); err != nil {
			return err
		}
		v.pushAll(t.results)
	case opDrop:
		if _, err := v.pop(); err != nil {
			return err
		}
	case opSelect, opSelectT:
		if _, err := v.popExpect(tI32); err != nil {
			return err
		}
		if in.Op == opSelectT {
			if len(in.List) != 1 {
				return errors.New("select must name exactly one type")
			}
			t := byte(in.List[0])
			if err := m.checkValType(t); err != nil {
				return err
			}
			if _, err := v.popExpect(t); err != nil {
				return err
			}
			if _, err := v.popExpect(t); err != nil {
				return err
			}
			v.push(t)
			break
		}
		t1, err := v.pop()
		if err != nil {
			return err
		}
		t2, err := v.pop()
		if err != nil {
			return err
		}
		if isRef(t1) || isRef(t2) {
			return errors.New("untyped select on references")
		}
		if t1 != t2 && t1 != tUnknown && t2 != tUnknown {
			return errors.New("select operands of differing types")
		}
		if t1 == tUnknown {
			t1 = t2
		}
		v.push(t1)
	case opLocalGet, opLocalSet, opLocalTee:
		if in.A >= uint64(len(v.locals)) {
			return fmt.Errorf("local %d out of range", in.A)
		}
		t := v.locals[in.A]
		if in.Op == opLocalGet {
			v.push(t)
			break
		}
		if _, err := v.popExpect(t); err != nil {
			return err
		}
		if in.Op == opLocalTee {
			v.push(t)
		}
	case opGlobalGet, opGlobalSet:
		if in.A >= uint64(len(m.globalTypes)) {
			return fmt.Errorf("global %d out of range", in.A)
		}
		g := m.globalTypes[in.A]
		if in.Op == opGlobalGet {
			v.push(g.typ)
			break
		}
		if !g.mutable {
			return fmt.Errorf("global %d is immutable", in.A)
		}
		if _, err := v.popExpect(g.typ); err != nil {
			return err
		}
	case opTableGet, opTableSet, opTableGrow, opTableSize, opTableFill:
		if in.A >= uint64(len(m.tableTypes)) {
			return fmt.Errorf("table %d out of range", in.A)
		}
		et := m.tableTypes[in.A].elem
		var pops, pushes []byte
		switch in.Op {
		case opTableGet:
			pops, pushes = []byte{tI32}, []byte{et}
		case opTableSet:
			pops = []byte{tI32, et}
		case opTableGrow:
			pops, pushes = []byte{et, tI32}, []byte{tI32}
		case opTableSize:
			pushes = []byte{tI32}
		case opTableFill:
			pops = []byte{tI32, et, tI32}
		}
		if err := v.popAll(pops); err != nil {
			return err
		}
		v.pushAll(pushes)
	case opTableInit:
		if int(in.A) >= len(m.elemTypes) || int(in.B) >= len(m.tableTypes) {
			return errors.New("table.init: segment or table out of range")
		}
		if m.elemTypes[in.A] != m.tableTypes[in.B].elem {
			return errors.New("table.init: element and table types differ")
		}
		return v.popAll(fcOps[in.Op-opPrefixFC].pop)
	case opElemDrop:
		if int(in.A) >= len(m.elemTypes) {
			return fmt.Errorf("element segment %d out of range", in.A)
		}
	case opTableCopy:
		if int(in.A) >= len(m.tableTypes) || int(in.B) >= len(m.tableTypes) {
			return errors.New("table.copy: table out of range")
		}
		if m.tableTypes[in.A].elem != m.tableTypes[in.B].elem {
			return errors.New("table.copy: table types differ")
		}
		return v.popAll(fcOps[in.Op-opPrefixFC].pop)
	case opMemoryInit, opDataDrop:
		if m.dataCount == nil {
			return errors.New("data segment instruction without a data count section")
		}
		if in.A >= uint64(*m.dataCount) {
			return fmt.Errorf("data segment %d out of range", in.A)
		}
		if in.Op == opMemoryInit {
			if len(m.memLimits) == 0 {
				return errors.New("memory instruction without a memory")
			}
			return v.popAll(fcOps[in.Op-opPrefixFC].pop)
		}
	case opRefNull:
		t := byte(in.A)
		if !isRef(t) {
			return fmt.Errorf("ref.null of non-reference type %#x", t)
		}
		v.push(t)
	case opRefIsNull:
		t, err := v.pop()
		if err != nil {
			return err
		}
		if t != tUnknown && !isRef(t) {
			return errors.New("ref.is_null on a non-reference")
		}
		v.push(tI32)
	case opRefFunc:
		if in.A >= uint64(len(m.funcTypes)) {
			return fmt.Errorf("ref.func %d out of range", in.A)
		}
		if !m.declared[uint32(in.A)] {
			return fmt.Errorf("ref.func %d of an undeclared function", in.A)
		}
		v.push(tFuncref)
	default:
		inf := info(in.Op)
		if inf == nil {
			return fmt.Errorf("unknown opcode %s", in.Op)
		}
		if (in.Op >= opI32Load && in.Op <= opMemoryGrow) || in.Op == opMemoryCopy || in.Op == opMemoryFill {
			if len(m.memLimits) == 0 {
				return errors.New("memory instruction without a memory")
			}
			if in.Op <= opI64Store32 && in.B > naturalAlign[in.Op-opI32Load] {
				return fmt.Errorf("alignment 2^%d above natural", in.B)
			}
		}
		if err := v.popAll(inf.pop); err != nil {
			return err
		}
		v.pushAll(inf.push)
	}
	return nil
}
