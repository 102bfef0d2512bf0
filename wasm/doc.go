// Package wasm runs jobs under runtime wasm-wasi-v1 (WIRE §6): it admits a module
// (size, well-formedness, features, imports, memory), instruments it (fuel per basic
// block, call-depth accounting, NaN canonicalisation, memory maximum) with its own
// binary and instruction codec, and runs it on wazero's compiler with a
// deterministic WASI surface, producing the class, code, fuel and output of an
// outcome and its hash. A Runner keeps one runtime and the compiled code of
// recent modules, with a fresh module instance per run, and a wall-clock safety
// net that stops a guest without producing an outcome. It depends on msg for ids
// and hashes only.
package wasm
