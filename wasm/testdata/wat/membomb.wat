;; Hostile: grows memory one page at a time until memory.grow returns -1, then
;; exits with the final memory size in pages as its exit status.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1 65536)
  (func (export "_start")
    (block $done
      (loop $grow
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (call $exit (memory.size))))
