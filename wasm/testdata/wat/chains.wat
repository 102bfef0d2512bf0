;; Shapes that the optimised instrumentation charges differently from the
;; reference one (merged charge chains, checks with fuel charged ahead, leaf
;; functions, inline memory.grow / memory.fill charges). The first input byte
;; selects a scenario; TestInstrumentMatchesReference runs each one under both
;; instrumentations at many fuel limits and wants identical outcomes.
;;   '0' Go-style dispatch loop (loop, nested blocks, br_table) writing a byte per round
;;   '1' trap at the end of a chain of nested blocks
;;   '2' trap after the end of a block no branch targets
;;   '3' trap after the end of a block a branch targets
;;   '4' trap after the end of a loop
;;   '5' divide by zero inside a chain
;;   '6' trap in a chain that starts at a loop header
;;   '7' recursion where a leaf function with a large frame hits the call-depth limit
;;   '8' memory.grow and memory.fill in a loop, a byte written per round
;;   '9' a leaf function with a loop called in a loop, a byte written per round
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 1 8)

  (func $out (param $v i32)
    (i32.store8 (i32.const 32) (local.get $v))
    (i32.store (i32.const 0) (i32.const 32))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $dispatch (param $n i32)
    (local $pc i32) (local $acc i32)
    (loop $top
      (block $b3 (block $b2 (block $b1 (block $b0
        (br_table $b0 $b1 $b2 $b3 (local.get $pc)))
        (local.set $acc (i32.add (local.get $acc) (i32.const 3)))
        (local.set $pc (i32.const 1))
        (br $top))
        (call $out (i32.add (i32.const 65) (i32.rem_u (local.get $acc) (i32.const 26))))
        (local.set $pc (i32.const 2))
        (br $top))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (local.set $pc (select (i32.const 3) (i32.const 0) (i32.eqz (local.get $n))))
        (br $top))
      (call $out (i32.const 10))))

  (func $chain (param $x i32)
    (block
      (local.set $x (i32.add (local.get $x) (i32.const 1)))
      (block
        (local.set $x (i32.mul (local.get $x) (i32.const 3)))
        (block
          (drop (i32.load (i32.add (local.get $x) (i32.const 0x7fff0000))))))))

  (func $untargeted (param $x i32)
    (block
      (local.set $x (i32.add (local.get $x) (i32.const 1))))
    (local.set $x (i32.xor (local.get $x) (i32.const 5)))
    (drop (i32.load (i32.add (local.get $x) (i32.const 0x7fff0000)))))

  (func $targeted (param $x i32)
    (block
      (br_if 0 (i32.eqz (local.get $x)))
      (local.set $x (i32.add (local.get $x) (i32.const 1))))
    (local.set $x (i32.xor (local.get $x) (i32.const 5)))
    (drop (i32.load (i32.add (local.get $x) (i32.const 0x7fff0000)))))

  (func $loopend (param $x i32)
    (local $i i32)
    (loop
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get $i) (i32.const 4))))
    (local.set $x (i32.add (local.get $x) (local.get $i)))
    (drop (i32.load (i32.add (local.get $x) (i32.const 0x7fff0000)))))

  (func $divchain (param $x i32)
    (block
      (local.set $x (i32.sub (local.get $x) (local.get $x)))
      (block
        (drop (i32.div_u (i32.const 7) (local.get $x))))))

  (func $loopchain (param $x i32)
    (loop
      (block
        (local.set $x (i32.add (local.get $x) (i32.const 2)))
        (block
          (drop (i32.load (i32.add (local.get $x) (i32.const 0x7fff0000))))))))

  (func $bigleaf (result i64)
    (local i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64
           i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64)
    (local.set 3 (i64.const 9))
    (i64.add (local.get 3) (local.get 31)))

  (func $rec
    (drop (call $bigleaf))
    (call $rec))

  (func $growfill
    (local $i i32)
    (loop $l
      (drop (memory.grow (i32.const 1)))
      (memory.fill (i32.const 64) (i32.const 7) (i32.mul (local.get $i) (i32.const 1000)))
      (call $out (i32.add (i32.const 97) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 12)))))

  (func $smallleaf (param $x i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (i32.const 7)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (local.get $x))

  (func $leaves
    (local $i i32) (local $x i32)
    (loop $l
      (local.set $x (call $smallleaf (local.get $x)))
      (call $out (i32.add (i32.const 48) (i32.and (local.get $x) (i32.const 15))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))))

  (func (export "_start")
    (local $sel i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $sel (i32.load8_u (i32.const 16)))
    (block $s9 (block $s8 (block $s7 (block $s6 (block $s5 (block $s4 (block $s3 (block $s2 (block $s1 (block $s0
      (br_table $s0 $s1 $s2 $s3 $s4 $s5 $s6 $s7 $s8 $s9 $s0 (i32.sub (local.get $sel) (i32.const 48))))
      (call $dispatch (i32.const 12)) return)
      (call $chain (i32.const 1)) return)
      (call $untargeted (i32.const 1)) return)
      (call $targeted (i32.const 1)) return)
      (call $loopend (i32.const 1)) return)
      (call $divchain (i32.const 1)) return)
      (call $loopchain (i32.const 1)) return)
      (call $rec) return)
      (call $growfill) return)
      (call $leaves)))
