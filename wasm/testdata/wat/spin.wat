;; Hostile: an infinite call-free loop of several basic blocks, so that compiled
;; code can carry the fuel counter in a register from block to block. The
;; safety net must still stop it (TestTimeoutStopsGuest).
(module
  (func (export "_start")
    (local $i i32) (local $x i32)
    (loop $l
      (block $odd
        (br_if $odd (i32.and (local.get $i) (i32.const 1)))
        (local.set $x (i32.add (local.get $x) (i32.const 3))))
      (local.set $x (i32.xor (local.get $x) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
