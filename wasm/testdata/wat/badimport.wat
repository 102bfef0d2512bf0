;; Imports a function outside the allowed WASI set: class 4 code 1.
(module
  (import "env" "now" (func $now (result i64)))
  (func (export "_start") (drop (call $now))))
