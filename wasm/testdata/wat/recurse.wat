;; Hostile: unbounded recursion. Must trap with class 1 code 7 (call depth).
(module
  (func $f (call $f))
  (func (export "_start") (call $f)))
