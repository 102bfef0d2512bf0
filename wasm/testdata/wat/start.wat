;; Has a start function that writes "start\n" before _start writes "main\n".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 32) "start\nmain\n")
  (func $w (param i32 i32)
    (i32.store (i32.const 0) (local.get 0))
    (i32.store (i32.const 4) (local.get 1))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $init (call $w (i32.const 32) (i32.const 6)))
  (start $init)
  (func (export "_start") (call $w (i32.const 38) (i32.const 5))))
