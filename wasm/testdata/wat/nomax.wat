;; A memory without a maximum: instrumentation caps it at the request's pages.
;; Asks for 1000 pages at once, then page by page, and exits with the size.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "_start")
    (drop (memory.grow (i32.const 1000)))
    (block $done
      (loop $grow
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (call $exit (memory.size))))
