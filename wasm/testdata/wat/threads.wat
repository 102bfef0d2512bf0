;; Uses threads (shared memory, atomics): class 4 code 2.
(module
  (memory 1 1 shared)
  (func (export "_start")
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
