;; Imports a WASI function that is not among the 16 allowed: class 4 code 1.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (func (export "_start")))
