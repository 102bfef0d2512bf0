;; Reads one byte of input and runs the trap it selects: '1' unreachable,
;; '2' integer divide by zero, '3' integer overflow, '4' invalid conversion,
;; '5' out-of-bounds memory, '6' indirect call type mismatch, '7' out-of-bounds
;; table, anything else exits 0. Expected outcome: class 1 with that code (7 → 5).
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (table 2 funcref)
  (type $v (func))
  (type $i (func (param i32)))
  (elem (i32.const 0) $nop)
  (func $nop)
  (func (export "_start")
    (local $sel i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $sel (i32.load8_u (i32.const 16)))
    (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $none
      (br_table $none $b1 $b2 $b3 $b4 $b5 $b6 $b7 $none (i32.sub (local.get $sel) (i32.const 48))))
      return)
      unreachable)
      (drop (i32.div_u (i32.const 1) (i32.const 0))) return)
      (drop (i32.div_s (i32.const 0x80000000) (i32.const -1))) return)
      (drop (i32.trunc_f32_s (f32.const nan))) return)
      (drop (i32.load (i32.const 65536))) return)
      (call_indirect (type $i) (i32.const 1) (i32.const 0)) return)
      (call_indirect (type $v) (i32.const 5))))
