;; Hostile: an infinite loop. Must stop with class 2, fuel_used = limit.
(module
  (func (export "_start")
    (loop $l (br $l))))
