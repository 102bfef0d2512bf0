package wasm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/guild-net/guild/msg"
)

// abortFuel is the counter value the safety net writes: far below zero, yet far
// from wrapping when the guest keeps subtracting block costs.
const abortFuel = ^uint64(1<<62 - 1) // -2^62 in two's complement

// MaxFuel bounds a run's fuel so the signed 64-bit counter can never wrap.
const MaxFuel = 1 << 62

// DefaultStderrCap bounds the diagnostics kept from stderr; it never affects an outcome.
const DefaultStderrCap = 64 << 10

// Config holds the local settings of a Runner. None of them changes an outcome
// except OutputCap, which must be the network's output_cap_bytes.
type Config struct {
	// CacheDir holds compiled modules on disk, keyed by the instrumented module's
	// hash (which covers the module and the instrumentation) under a directory
	// per runtime id. Empty keeps compiled code in memory only.
	CacheDir string
	// OutputCap is output_cap_bytes; 0 means DefaultOutputCap.
	OutputCap uint64
	// Timeout is the wall-clock safety net; 0 disables it. A run it stops returns
	// ErrTimeout, never an outcome.
	Timeout time.Duration
	// StderrCap bounds the kept stderr; 0 means DefaultStderrCap.
	StderrCap int
}

// Job is one execution: a module, its input and the request it belongs to.
type Job struct {
	Module []byte
	Input  []byte
	Args   []string
	Fuel   uint64
	Pages  uint32
	// Request and Run select the random stream and GUILD_RUN; local runs use the
	// zero request and run 0.
	Request msg.ID
	Run     uint32
}

// Outcome is the result of a run (WIRE §6). Hash is what members commit to.
type Outcome struct {
	Class    uint8
	Code     uint32
	FuelUsed uint64
	Output   []byte // stdout, at most the output cap
	OutputID msg.ID // BLAKE3(stdout), the output blob id
	Hash     msg.ID
	// Stderr is kept for diagnostics only; it is not part of the outcome.
	Stderr []byte
	// Refusal explains a class 4 outcome.
	Refusal *AdmissionError
}

// Runner executes jobs. It is safe for concurrent use; each run gets a fresh
// wazero runtime that shares the compile cache.
type Runner struct {
	cfg   Config
	cache wazero.CompilationCache

	// prepared keeps the instrumented bytes of recently run modules: admission
	// and instrumentation of a multi-megabyte Go module cost more than loading
	// its compiled code from the cache.
	mu       sync.Mutex
	prepared map[preparedKey][]byte
	order    []preparedKey
}

type preparedKey struct {
	module msg.ID
	pages  uint32
}

// maxPrepared bounds the in-memory cache of instrumented modules.
const maxPrepared = 16

// cacheKey names the compile-cache directory of this runtime and instrumentation.
func cacheKey() string { return RuntimeID + "-instr" + strconv.Itoa(InstrumentationVersion) }

// NewRunner prepares a runner and its compile cache.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.OutputCap == 0 {
		cfg.OutputCap = DefaultOutputCap
	}
	if cfg.StderrCap == 0 {
		cfg.StderrCap = DefaultStderrCap
	}
	r := &Runner{cfg: cfg}
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(filepath.Join(cfg.CacheDir, cacheKey()))
		if err != nil {
			return nil, fmt.Errorf("open compile cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = c
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

// Close releases the compile cache's in-memory part.
func (r *Runner) Close() error { return r.cache.Close(context.Background()) }

func (r *Runner) runtimeConfig(pages uint32, closeOnDone bool) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfigCompiler().
		WithCoreFeatures(api.CoreFeaturesV2 &^ api.CoreFeatureSIMD).
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(closeOnDone).
		WithCustomSections(false)
}

func finish(o Outcome) Outcome {
	o.OutputID = msg.BlobID(o.Output)
	o.Hash = msg.OutcomeHash(o.Class, o.Code, o.FuelUsed, o.OutputID)
	return o
}

// RefusalOutcome is the outcome of an admission refusal: class 4, the refusal's
// code, fuel 0 and empty output.
func RefusalOutcome(ae *AdmissionError) Outcome { return refused(ae) }

func refused(ae *AdmissionError) Outcome {
	return finish(Outcome{Class: ClassRefused, Code: ae.Code, Refusal: ae})
}

// Run admits, instruments and executes a job. The error is non-nil only when no
// outcome exists (bad arguments, the safety-net timeout, a host failure); a
// refusal is an outcome of class 4.
func (r *Runner) Run(ctx context.Context, job Job) (Outcome, error) {
	if job.Fuel > MaxFuel {
		return Outcome{}, fmt.Errorf("run job: fuel %d above the maximum %d", job.Fuel, uint64(MaxFuel))
	}
	if len(job.Module) > MaxModuleSize {
		_, err := Admit(job.Module, job.Pages) // refuses by size before touching the bytes
		var ae *AdmissionError
		errors.As(err, &ae)
		return refused(ae), nil
	}
	key := preparedKey{module: msg.BlobID(job.Module), pages: job.Pages}
	r.mu.Lock()
	bin, ok := r.prepared[key]
	r.mu.Unlock()
	if !ok {
		a, err := Admit(job.Module, job.Pages)
		if err != nil {
			var ae *AdmissionError
			if errors.As(err, &ae) {
				return refused(ae), nil
			}
			return Outcome{}, fmt.Errorf("run job: %w", err)
		}
		bin = a.Instrument()
		r.mu.Lock()
		if r.prepared == nil {
			r.prepared = map[preparedKey][]byte{}
		}
		if _, dup := r.prepared[key]; !dup {
			if len(r.order) == maxPrepared {
				delete(r.prepared, r.order[0])
				r.order = r.order[1:]
			}
			r.prepared[key] = bin
			r.order = append(r.order, key)
		}
		r.mu.Unlock()
	}
	return r.execute(ctx, job, bin, true, false)
}

// execute runs an instrumented (or, for benchmarks, plain) module. With a
// timeout configured the run happens on its own goroutine: when the safety net
// fires, Run returns ErrTimeout at once and the counter is driven below zero so
// the guest stops at its next check point. Compiled code may keep the counter in
// a register inside a call-free loop, so that stop is best effort; the fuel limit
// still bounds how long the abandoned goroutine can run.
func (r *Runner) execute(ctx context.Context, job Job, bin []byte, metered, closeOnDone bool) (Outcome, error) {
	if r.cfg.Timeout <= 0 {
		return r.executeNow(ctx, job, bin, metered, closeOnDone, nil)
	}
	type result struct {
		o   Outcome
		err error
	}
	done := make(chan result, 1)
	p := &poker{}
	go func() {
		o, err := r.executeNow(ctx, job, bin, metered, closeOnDone, p)
		done <- result{o, err}
	}()
	t := time.NewTimer(r.cfg.Timeout)
	defer t.Stop()
	select {
	case res := <-done:
		return res.o, res.err
	case <-t.C:
		p.abort()
		return Outcome{}, ErrTimeout
	}
}

// poker lets the safety net reach the fuel counter of a running guest.
type poker struct {
	mu      sync.Mutex
	fuel    api.MutableGlobal
	aborted bool
}

func (p *poker) set(g api.MutableGlobal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fuel = g
	if p.aborted {
		g.Set(abortFuel)
	}
}

func (p *poker) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = true
	if p.fuel != nil {
		p.fuel.Set(abortFuel)
	}
}

func (r *Runner) executeNow(ctx context.Context, job Job, bin []byte, metered, closeOnDone bool, poke *poker) (Outcome, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, r.runtimeConfig(job.Pages, closeOnDone))
	defer rt.Close(ctx)
	s := &runState{
		input:     job.Input,
		outCap:    r.cfg.OutputCap,
		stderrCap: r.cfg.StderrCap,
		args:      append([]string{"job"}, job.Args...),
		env:       []string{"GUILD_RUN=" + strconv.FormatUint(uint64(job.Run), 10)},
		rand:      msg.JobRandomStream(job.Request, job.Run),
	}
	if err := instantiateWASI(ctx, rt, s); err != nil {
		return Outcome{}, fmt.Errorf("run job: host functions: %w", err)
	}
	cm, err := rt.CompileModule(ctx, bin)
	if err != nil {
		// Our validator accepted the module but wazero did not: still malformed.
		return refused(&AdmissionError{Code: CodeMalformed, What: "rejected by the engine", Detail: err.Error()}), nil
	}
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("job").WithStartFunctions())
	if err != nil {
		// Active segments that do not fit trap during instantiation, before any code runs.
		if strings.Contains(err.Error(), "out of bounds") {
			return finish(Outcome{Class: ClassTrap, Code: TrapOutOfBounds}), nil
		}
		return Outcome{}, fmt.Errorf("run job: instantiate: %w", err)
	}
	var fuel, status api.MutableGlobal
	if metered {
		fuel, _ = mod.ExportedGlobal(exportFuel).(api.MutableGlobal)
		status, _ = mod.ExportedGlobal(exportStatus).(api.MutableGlobal)
		if fuel == nil || status == nil {
			return Outcome{}, errors.New("run job: instrumented module lacks its fuel globals")
		}
		fuel.Set(job.Fuel)
		s.fuel = fuel
	}

	if poke != nil && fuel != nil {
		poke.set(fuel)
	}

	var callErr error
	if f := mod.ExportedFunction(exportStart); f != nil {
		_, callErr = f.Call(ctx)
	}
	if callErr == nil {
		_, callErr = mod.ExportedFunction("_start").Call(ctx)
	}
	o := Outcome{Output: s.stdout, Stderr: s.stderr}
	var remaining int64
	if fuel != nil {
		remaining = int64(fuel.Get())
	}
	o.FuelUsed = uint64(int64(job.Fuel) - remaining)
	var exit *exitSignal
	switch {
	case callErr == nil:
		o.Class, o.Code = ClassExit, 0
	case errors.As(callErr, &exit):
		o.Class, o.Code = ClassExit, exit.code
	case errors.Is(callErr, errOutputOverflow):
		o.Class = ClassOverflow
	case status != nil && status.Get() == statusFuel:
		o.Class, o.FuelUsed = ClassOutOfFuel, job.Fuel
	case status != nil && status.Get() == statusDepth:
		o.Class, o.Code = ClassTrap, TrapCallDepth
	default:
		code, err := trapCode(callErr)
		if err != nil {
			return Outcome{}, err
		}
		o.Class, o.Code = ClassTrap, code
	}
	return finish(o), nil
}

// trapCode maps wazero's runtime errors to the class 1 codes of WIRE §6. wazero
// wraps its internal error values; the innermost error's text identifies them.
func trapCode(err error) (uint32, error) {
	inner := err
	for {
		u := errors.Unwrap(inner)
		if u == nil {
			break
		}
		inner = u
	}
	if fmt.Sprintf("%T", inner) == "*wasmruntime.Error" {
		switch inner.Error() {
		case "unreachable":
			return TrapUnreachable, nil
		case "integer divide by zero":
			return TrapDivideByZero, nil
		case "integer overflow":
			return TrapIntegerOverflow, nil
		case "invalid conversion to integer":
			return TrapInvalidConversion, nil
		case "out of bounds memory access", "invalid table access":
			return TrapOutOfBounds, nil
		case "indirect call type mismatch":
			return TrapIndirectCallType, nil
		case "stack overflow":
			return 0, fmt.Errorf("run job: %w", ErrEngineStackOverflow)
		}
	}
	return 0, fmt.Errorf("run job: unexpected engine error: %w", err)
}
