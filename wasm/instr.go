package wasm

import (
	"encoding/binary"
	"fmt"
)

// Op is an instruction opcode: one byte, or 0xFC00|n for the 0xFC-prefixed
// operations (saturating truncation, bulk memory and table operations).
type Op uint16

// Opcodes of WebAssembly 2.0 without SIMD.
const (
	opUnreachable   Op = 0x00
	opNop           Op = 0x01
	opBlock         Op = 0x02
	opLoop          Op = 0x03
	opIf            Op = 0x04
	opElse          Op = 0x05
	opEnd           Op = 0x0B
	opBr            Op = 0x0C
	opBrIf          Op = 0x0D
	opBrTable       Op = 0x0E
	opReturn        Op = 0x0F
	opCall          Op = 0x10
	opCallIndirect  Op = 0x11
	opDrop          Op = 0x1A
	opSelect        Op = 0x1B
	opSelectT       Op = 0x1C
	opLocalGet      Op = 0x20
	opLocalSet      Op = 0x21
	opLocalTee      Op = 0x22
	opGlobalGet     Op = 0x23
	opGlobalSet     Op = 0x24
	opTableGet      Op = 0x25
	opTableSet      Op = 0x26
	opI32Load       Op = 0x28
	opI64Store32    Op = 0x3E
	opMemorySize    Op = 0x3F
	opMemoryGrow    Op = 0x40
	opI32Const      Op = 0x41
	opI64Const      Op = 0x42
	opF32Const      Op = 0x43
	opF64Const      Op = 0x44
	opI32Eqz        Op = 0x45
	opI32Add        Op = 0x6A
	opI32Sub        Op = 0x6B
	opI32GtU        Op = 0x4B
	opI64LtS        Op = 0x53
	opI64GtS        Op = 0x55
	opI64Add        Op = 0x7C
	opI64Sub        Op = 0x7D
	opI64Mul        Op = 0x7E
	opI64ShrU       Op = 0x88
	opF32Eq         Op = 0x5B
	opF64Eq         Op = 0x61
	opI64ExtendI32U Op = 0xAD
	opRefNull       Op = 0xD0
	opRefIsNull     Op = 0xD1
	opRefFunc       Op = 0xD2

	opPrefixFC   Op = 0xFC00
	opMemoryInit Op = 0xFC08
	opDataDrop   Op = 0xFC09
	opMemoryCopy Op = 0xFC0A
	opMemoryFill Op = 0xFC0B
	opTableInit  Op = 0xFC0C
	opElemDrop   Op = 0xFC0D
	opTableCopy  Op = 0xFC0E
	opTableGrow  Op = 0xFC0F
	opTableSize  Op = 0xFC10
	opTableFill  Op = 0xFC11
	maxFCSub        = 17
)

// Instr is one decoded instruction. The meaning of A, B and List depends on Op:
//   - block, loop, if: A = the block type as a signed 33-bit value (−64 empty,
//     −1…−16 a value type, ≥ 0 a type index);
//   - br, br_if: A = label; br_table: List = labels, default last;
//   - call: A = function; call_indirect: A = type, B = table;
//   - local.*, global.*, table.get/set/grow/size/fill: A = index;
//   - loads and stores: A = offset, B = alignment exponent;
//   - i32/i64.const: A = the value's two's-complement bits; f32/f64.const: A = raw bits;
//   - ref.null: A = reference type; ref.func: A = function; select t*: List = types;
//   - memory.init: A = data segment; data.drop: A = data segment;
//   - table.init: A = element segment, B = table; elem.drop: A = element segment;
//   - table.copy: A = destination table, B = source table.
type Instr struct {
	Op   Op
	A    uint64
	B    uint32
	List []uint32
}

type immKind uint8

const (
	immNone immKind = iota
	immBlock
	immIndex     // one u32
	immBrTable   // vec(label) label
	immTwo       // two u32
	immMemarg    // align, offset
	immZeroByte  // memory.size/grow: one reserved 0x00 (memory index)
	immI32       // s32
	immI64       // s64
	immF32       // 4 bytes
	immF64       // 8 bytes
	immRefType   // one byte
	immSelectT   // vec(valtype)
	immIndexZero // memory.init: u32 then 0x00
	immZeroZero  // memory.copy: 0x00 0x00
	immInvalid
)

// opInfo describes the immediates and, for plain numeric and memory operations,
// the operand types popped and pushed.
type opInfo struct {
	name string
	imm  immKind
	pop  []byte
	push []byte
}

var (
	singleOps = buildSingleOps()
	fcOps     = buildFCOps()
)

func info(op Op) *opInfo {
	if op >= opPrefixFC {
		sub := int(op - opPrefixFC)
		if sub <= maxFCSub {
			return &fcOps[sub]
		}
		return nil
	}
	if op > 0xFF || singleOps[op].imm == immInvalid {
		return nil
	}
	return &singleOps[op]
}

// Name gives the text-format name of an opcode.
func (op Op) String() string {
	if in := info(op); in != nil {
		return in.name
	}
	if op >= opPrefixFC {
		return fmt.Sprintf("0xfc %d", op-opPrefixFC)
	}
	return fmt.Sprintf("%#02x", uint16(op))
}

func buildSingleOps() [256]opInfo {
	var t [256]opInfo
	for i := range t {
		t[i].imm = immInvalid
	}
	set := func(op Op, name string, imm immKind, pop, push []byte) {
		t[op] = opInfo{name: name, imm: imm, pop: pop, push: push}
	}
	i32, i64, f32, f64 := []byte{tI32}, []byte{tI64}, []byte{tF32}, []byte{tF64}
	ii := []byte{tI32, tI32}
	ll := []byte{tI64, tI64}
	ff := []byte{tF32, tF32}
	dd := []byte{tF64, tF64}
	set(0x00, "unreachable", immNone, nil, nil)
	set(0x01, "nop", immNone, nil, nil)
	set(0x02, "block", immBlock, nil, nil)
	set(0x03, "loop", immBlock, nil, nil)
	set(0x04, "if", immBlock, nil, nil)
	set(0x05, "else", immNone, nil, nil)
	set(0x0B, "end", immNone, nil, nil)
	set(0x0C, "br", immIndex, nil, nil)
	set(0x0D, "br_if", immIndex, nil, nil)
	set(0x0E, "br_table", immBrTable, nil, nil)
	set(0x0F, "return", immNone, nil, nil)
	set(0x10, "call", immIndex, nil, nil)
	set(0x11, "call_indirect", immTwo, nil, nil)
	set(0x1A, "drop", immNone, nil, nil)
	set(0x1B, "select", immNone, nil, nil)
	set(0x1C, "select", immSelectT, nil, nil)
	set(0x20, "local.get", immIndex, nil, nil)
	set(0x21, "local.set", immIndex, nil, nil)
	set(0x22, "local.tee", immIndex, nil, nil)
	set(0x23, "global.get", immIndex, nil, nil)
	set(0x24, "global.set", immIndex, nil, nil)
	set(0x25, "table.get", immIndex, nil, nil)
	set(0x26, "table.set", immIndex, nil, nil)
	loads := []struct {
		name string
		t    []byte
	}{{"i32.load", i32}, {"i64.load", i64}, {"f32.load", f32}, {"f64.load", f64},
		{"i32.load8_s", i32}, {"i32.load8_u", i32}, {"i32.load16_s", i32}, {"i32.load16_u", i32},
		{"i64.load8_s", i64}, {"i64.load8_u", i64}, {"i64.load16_s", i64}, {"i64.load16_u", i64},
		{"i64.load32_s", i64}, {"i64.load32_u", i64}}
	for k, l := range loads {
		set(Op(0x28+k), l.name, immMemarg, i32, l.t)
	}
	stores := []struct {
		name string
		t    byte
	}{{"i32.store", tI32}, {"i64.store", tI64}, {"f32.store", tF32}, {"f64.store", tF64},
		{"i32.store8", tI32}, {"i32.store16", tI32}, {"i64.store8", tI64}, {"i64.store16", tI64},
		{"i64.store32", tI64}}
	for k, s := range stores {
		set(Op(0x36+k), s.name, immMemarg, []byte{tI32, s.t}, nil)
	}
	set(0x3F, "memory.size", immZeroByte, nil, i32)
	set(0x40, "memory.grow", immZeroByte, i32, i32)
	set(0x41, "i32.const", immI32, nil, i32)
	set(0x42, "i64.const", immI64, nil, i64)
	set(0x43, "f32.const", immF32, nil, f32)
	set(0x44, "f64.const", immF64, nil, f64)
	set(0x45, "i32.eqz", immNone, i32, i32)
	for k, n := range []string{"eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"} {
		set(Op(0x46+k), "i32."+n, immNone, ii, i32)
		set(Op(0x51+k), "i64."+n, immNone, ll, i32)
	}
	set(0x50, "i64.eqz", immNone, i64, i32)
	for k, n := range []string{"eq", "ne", "lt", "gt", "le", "ge"} {
		set(Op(0x5B+k), "f32."+n, immNone, ff, i32)
		set(Op(0x61+k), "f64."+n, immNone, dd, i32)
	}
	for k, n := range []string{"clz", "ctz", "popcnt"} {
		set(Op(0x67+k), "i32."+n, immNone, i32, i32)
		set(Op(0x79+k), "i64."+n, immNone, i64, i64)
	}
	for k, n := range []string{"add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"} {
		set(Op(0x6A+k), "i32."+n, immNone, ii, i32)
		set(Op(0x7C+k), "i64."+n, immNone, ll, i64)
	}
	for k, n := range []string{"abs", "neg", "ceil", "floor", "trunc", "nearest", "sqrt"} {
		set(Op(0x8B+k), "f32."+n, immNone, f32, f32)
		set(Op(0x99+k), "f64."+n, immNone, f64, f64)
	}
	for k, n := range []string{"add", "sub", "mul", "div", "min", "max", "copysign"} {
		set(Op(0x92+k), "f32."+n, immNone, ff, f32)
		set(Op(0xA0+k), "f64."+n, immNone, dd, f64)
	}
	conv := []struct {
		name     string
		from, to []byte
	}{
		{"i32.wrap_i64", i64, i32}, {"i32.trunc_f32_s", f32, i32}, {"i32.trunc_f32_u", f32, i32},
		{"i32.trunc_f64_s", f64, i32}, {"i32.trunc_f64_u", f64, i32}, {"i64.extend_i32_s", i32, i64},
		{"i64.extend_i32_u", i32, i64}, {"i64.trunc_f32_s", f32, i64}, {"i64.trunc_f32_u", f32, i64},
		{"i64.trunc_f64_s", f64, i64}, {"i64.trunc_f64_u", f64, i64}, {"f32.convert_i32_s", i32, f32},
		{"f32.convert_i32_u", i32, f32}, {"f32.convert_i64_s", i64, f32}, {"f32.convert_i64_u", i64, f32},
		{"f32.demote_f64", f64, f32}, {"f64.convert_i32_s", i32, f64}, {"f64.convert_i32_u", i32, f64},
		{"f64.convert_i64_s", i64, f64}, {"f64.convert_i64_u", i64, f64}, {"f64.promote_f32", f32, f64},
		{"i32.reinterpret_f32", f32, i32}, {"i64.reinterpret_f64", f64, i64},
		{"f32.reinterpret_i32", i32, f32}, {"f64.reinterpret_i64", i64, f64},
		{"i32.extend8_s", i32, i32}, {"i32.extend16_s", i32, i32}, {"i64.extend8_s", i64, i64},
		{"i64.extend16_s", i64, i64}, {"i64.extend32_s", i64, i64},
	}
	for k, c := range conv {
		set(Op(0xA7+k), c.name, immNone, c.from, c.to)
	}
	set(0xD0, "ref.null", immRefType, nil, nil)
	set(0xD1, "ref.is_null", immNone, nil, i32)
	set(0xD2, "ref.func", immIndex, nil, []byte{tFuncref})
	return t
}

func buildFCOps() [maxFCSub + 1]opInfo {
	i32, i64, f32, f64 := []byte{tI32}, []byte{tI64}, []byte{tF32}, []byte{tF64}
	iii := []byte{tI32, tI32, tI32}
	return [maxFCSub + 1]opInfo{
		{"i32.trunc_sat_f32_s", immNone, f32, i32},
		{"i32.trunc_sat_f32_u", immNone, f32, i32},
		{"i32.trunc_sat_f64_s", immNone, f64, i32},
		{"i32.trunc_sat_f64_u", immNone, f64, i32},
		{"i64.trunc_sat_f32_s", immNone, f32, i64},
		{"i64.trunc_sat_f32_u", immNone, f32, i64},
		{"i64.trunc_sat_f64_s", immNone, f64, i64},
		{"i64.trunc_sat_f64_u", immNone, f64, i64},
		{"memory.init", immIndexZero, iii, nil},
		{"data.drop", immIndex, nil, nil},
		{"memory.copy", immZeroZero, iii, nil},
		{"memory.fill", immZeroByte, iii, nil},
		{"table.init", immTwo, iii, nil},
		{"elem.drop", immIndex, nil, nil},
		{"table.copy", immTwo, iii, nil},
		{"table.grow", immIndex, nil, nil},
		{"table.size", immIndex, nil, i32},
		{"table.fill", immIndex, nil, nil},
	}
}

// refusedOpcode names the proposal of a single-byte or prefix opcode that is not
// part of WebAssembly 2.0 (or is SIMD), or "" if the byte is simply unknown.
func refusedOpcode(b byte) string {
	switch b {
	case 0xFD:
		return "simd"
	case 0xFE:
		return "threads"
	case 0xFB:
		return "gc"
	case 0x06, 0x07, 0x08, 0x09, 0x0A, 0x18, 0x19, 0x1F:
		return "exception-handling"
	case 0x12, 0x13:
		return "tail-call"
	case 0x14, 0x15, 0xD3, 0xD4, 0xD5, 0xD6:
		return "function-references"
	}
	return ""
}

// decodeInstr reads one instruction. A refused proposal's opcode gives a feature
// *AdmissionError; anything else unknown or truncated gives a plain error.
func decodeInstr(r *reader, in *Instr) error {
	b, err := r.byte()
	if err != nil {
		return err
	}
	in.Op, in.A, in.B, in.List = Op(b), 0, 0, in.List[:0]
	var kind immKind
	if b == 0xFC {
		sub, err := r.u32()
		if err != nil {
			return err
		}
		if sub > maxFCSub {
			return fmt.Errorf("unknown opcode 0xfc %d", sub)
		}
		in.Op = opPrefixFC + Op(sub)
		kind = fcOps[sub].imm
	} else {
		if p := refusedOpcode(b); p != "" {
			return featureErr(p, fmt.Sprintf("opcode %#02x", b))
		}
		kind = singleOps[b].imm
	}
	switch kind {
	case immNone:
	case immInvalid:
		return fmt.Errorf("unknown opcode %#02x", b)
	case immBlock:
		v, err := r.s33()
		if err != nil {
			return err
		}
		in.A = uint64(v)
	case immIndex:
		v, err := r.u32()
		in.A = uint64(v)
		return err
	case immTwo:
		v, err := r.u32()
		if err != nil {
			return err
		}
		in.A = uint64(v)
		in.B, err = r.u32()
		return err
	case immBrTable:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		for i := 0; i <= n; i++ {
			l, err := r.u32()
			if err != nil {
				return err
			}
			in.List = append(in.List, l)
		}
	case immMemarg:
		align, err := r.u32()
		if err != nil {
			return err
		}
		if align&0x40 != 0 {
			return featureErr("multi-memory", "memory index in a memarg")
		}
		in.B = align
		off, err := r.u32()
		in.A = uint64(off)
		return err
	case immZeroByte, immZeroZero, immIndexZero:
		if kind == immIndexZero {
			v, err := r.u32()
			if err != nil {
				return err
			}
			in.A = uint64(v)
		}
		n := 1
		if kind == immZeroZero {
			n = 2
		}
		for i := 0; i < n; i++ {
			z, err := r.byte()
			if err != nil {
				return err
			}
			if z != 0 {
				return featureErr("multi-memory", fmt.Sprintf("%s names memory %d", in.Op, z))
			}
		}
	case immI32:
		v, err := r.s32()
		in.A = uint64(int64(v))
		return err
	case immI64:
		v, err := r.s64()
		in.A = uint64(v)
		return err
	case immF32:
		v, err := r.bytes(4)
		if err != nil {
			return err
		}
		in.A = uint64(binary.LittleEndian.Uint32(v))
	case immF64:
		v, err := r.bytes(8)
		if err != nil {
			return err
		}
		in.A = binary.LittleEndian.Uint64(v)
	case immRefType:
		t, err := r.byte()
		if err != nil {
			return err
		}
		in.A = uint64(t)
	case immSelectT:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			t, err := r.byte()
			if err != nil {
				return err
			}
			in.List = append(in.List, uint32(t))
		}
	}
	return nil
}

// appendInstr encodes one instruction in canonical (shortest) form.
func appendInstr(b []byte, in *Instr) []byte {
	var kind immKind
	if in.Op >= opPrefixFC {
		b = append(b, 0xFC)
		b = appendU32(b, uint32(in.Op-opPrefixFC))
		kind = fcOps[in.Op-opPrefixFC].imm
	} else {
		b = append(b, byte(in.Op))
		kind = singleOps[in.Op].imm
	}
	switch kind {
	case immBlock:
		b = appendS64(b, int64(in.A))
	case immIndex:
		b = appendU32(b, uint32(in.A))
	case immTwo:
		b = appendU32(appendU32(b, uint32(in.A)), in.B)
	case immBrTable:
		b = appendU32(b, uint32(len(in.List)-1))
		for _, l := range in.List {
			b = appendU32(b, l)
		}
	case immMemarg:
		b = appendU32(appendU32(b, in.B), uint32(in.A))
	case immZeroByte:
		b = append(b, 0)
	case immZeroZero:
		b = append(b, 0, 0)
	case immIndexZero:
		b = append(appendU32(b, uint32(in.A)), 0)
	case immI32:
		b = appendS64(b, int64(int32(uint32(in.A))))
	case immI64:
		b = appendS64(b, int64(in.A))
	case immF32:
		b = binary.LittleEndian.AppendUint32(b, uint32(in.A))
	case immF64:
		b = binary.LittleEndian.AppendUint64(b, in.A)
	case immRefType:
		b = append(b, byte(in.A))
	case immSelectT:
		b = appendU32(b, uint32(len(in.List)))
		for _, t := range in.List {
			b = append(b, byte(t))
		}
	}
	return b
}

// DecodeBody decodes a function body (instructions up to and including its final
// end) into instructions. It is the exported face of the codec for tools and tests.
func DecodeBody(body []byte) ([]Instr, error) {
	r := &reader{b: body}
	var out []Instr
	for !r.done() {
		var in Instr
		if err := decodeInstr(r, &in); err != nil {
			return out, fmt.Errorf("offset %d: %w", r.pos, err)
		}
		in.List = append([]uint32(nil), in.List...)
		out = append(out, in)
	}
	return out, nil
}

// EncodeBody is the inverse of DecodeBody.
func EncodeBody(instrs []Instr) []byte {
	var b []byte
	for i := range instrs {
		b = appendInstr(b, &instrs[i])
	}
	return b
}
