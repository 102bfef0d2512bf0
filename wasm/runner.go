package wasm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/guild-net/guild/msg"
)

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

// Runner executes jobs. It is safe for concurrent use. It keeps one wazero
// runtime holding the WASI host module and the compiled code of recently run
// modules; every run instantiates a fresh module instance (its own memory,
// globals, fuel and depth counters and WASI state) and closes it afterwards.
type Runner struct {
	cfg   Config
	cache wazero.CompilationCache
	rt    wazero.Runtime

	// prepared keeps the instrumented bytes and compiled code of recently run
	// modules: admission, instrumentation and wazero's decoding of a
	// multi-megabyte Go module cost far more than instantiating it.
	mu       sync.Mutex
	prepared map[preparedKey]*prepared
	order    []preparedKey

	// runs counts guests still executing, including those the safety net has
	// abandoned; Close waits for them before closing the runtime.
	runs sync.WaitGroup
}

type preparedKey struct {
	module msg.ID
	pages  uint32
}

// prepared is one admitted and instrumented module and, once compiled, its code
// in the shared runtime. refs counts runs using it, so eviction closes the
// compiled code only when nobody instantiates from it.
type prepared struct {
	bin     []byte
	once    sync.Once
	cm      wazero.CompiledModule
	err     error
	refs    int
	evicted bool
}

// maxPrepared bounds the modules kept prepared in memory. A compiled Go module
// of 3 MB holds about 12 MB of machine code besides its instrumented bytes, so 8
// of them stay near 130 MB.
const maxPrepared = 8

// cacheKey names the compile-cache directory of this runtime and instrumentation.
func cacheKey() string { return RuntimeID + "-instr" + strconv.Itoa(InstrumentationVersion) }

// NewRunner prepares a runner, its compile cache and its runtime.
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
	// The shared runtime has wazero's default memory limit: instrumentation
	// caps every module's maximum at the job's pages, so it never binds.
	ctx := context.Background()
	r.rt = wazero.NewRuntimeWithConfig(ctx, r.runtimeConfig(0, false))
	if err := instantiateWASI(ctx, r.rt); err != nil {
		r.rt.Close(ctx)
		r.cache.Close(ctx)
		return nil, fmt.Errorf("new runner: host functions: %w", err)
	}
	return r, nil
}

// Close waits for guests still running (a guest abandoned by the safety net
// stops at its next check point) and releases the runtime and the compile
// cache's in-memory part.
func (r *Runner) Close() error {
	r.runs.Wait()
	ctx := context.Background()
	err := r.rt.Close(ctx)
	if cerr := r.cache.Close(ctx); err == nil {
		err = cerr
	}
	return err
}

func (r *Runner) runtimeConfig(pages uint32, closeOnDone bool) wazero.RuntimeConfig {
	c := wazero.NewRuntimeConfigCompiler().
		WithCoreFeatures(api.CoreFeaturesV2 &^ api.CoreFeatureSIMD).
		WithCompilationCache(r.cache).
		WithCloseOnContextDone(closeOnDone).
		WithCustomSections(false)
	if pages > 0 {
		c = c.WithMemoryLimitPages(pages)
	}
	return c
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
// outcome exists (bad arguments, the safety-net timeout, a cancelled ctx, a host
// failure); a refusal is an outcome of class 4.
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
	p, err := r.prepare(job)
	if err != nil {
		var ae *AdmissionError
		if errors.As(err, &ae) {
			return refused(ae), nil
		}
		return Outcome{}, fmt.Errorf("run job: %w", err)
	}
	return r.execute(ctx, func(ctx context.Context, poke *poker) (Outcome, error) {
		// Released by whoever runs the guest: a run abandoned by the safety
		// net keeps its compiled code alive until it has stopped.
		defer r.release(p)
		cm, o, ok := r.compiled(ctx, p)
		if !ok {
			return o, nil
		}
		return runInstance(ctx, r.rt, cm, r.newRunState(job), job, true, poke)
	})
}

// runFresh executes an instrumented module in a runtime of its own (compiled
// code from the compile cache), the way every run worked before the shared
// runtime; a test uses it to check that sharing changes nothing and a benchmark
// to compare the two.
func (r *Runner) runFresh(ctx context.Context, job Job, bin []byte) (Outcome, error) {
	return r.execute(ctx, func(ctx context.Context, poke *poker) (Outcome, error) {
		rt := wazero.NewRuntimeWithConfig(ctx, r.runtimeConfig(job.Pages, false))
		defer rt.Close(ctx)
		if err := instantiateWASI(ctx, rt); err != nil {
			return Outcome{}, fmt.Errorf("run job: host functions: %w", err)
		}
		cm, err := rt.CompileModule(ctx, bin)
		if err != nil {
			return engineRefusal(err), nil
		}
		return runInstance(ctx, rt, cm, r.newRunState(job), job, true, poke)
	})
}

// prepare admits and instruments job.Module for job.Pages, or finds it among the
// recently prepared ones, and takes a reference to it.
func (r *Runner) prepare(job Job) (*prepared, error) {
	key := preparedKey{module: msg.BlobID(job.Module), pages: job.Pages}
	r.mu.Lock()
	if p, ok := r.prepared[key]; ok {
		p.refs++
		r.mu.Unlock()
		return p, nil
	}
	r.mu.Unlock()
	a, err := Admit(job.Module, job.Pages)
	if err != nil {
		return nil, err
	}
	bin := a.Instrument()
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.prepared[key]; ok { // prepared concurrently
		p.refs++
		return p, nil
	}
	if r.prepared == nil {
		r.prepared = map[preparedKey]*prepared{}
	}
	if len(r.order) == maxPrepared {
		old := r.prepared[r.order[0]]
		delete(r.prepared, r.order[0])
		r.order = r.order[1:]
		old.evicted = true
		if old.refs == 0 {
			old.close()
		}
	}
	p := &prepared{bin: bin, refs: 1}
	r.prepared[key] = p
	r.order = append(r.order, key)
	return p, nil
}

func (r *Runner) release(p *prepared) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.refs--
	if p.refs == 0 && p.evicted {
		p.close()
	}
}

func (p *prepared) close() {
	if p.cm != nil {
		p.cm.Close(context.Background())
	}
}

// compiled gives p's code in the shared runtime, compiling it on first use. When
// wazero refuses the module, ok is false and o is the refusal outcome.
func (r *Runner) compiled(ctx context.Context, p *prepared) (cm wazero.CompiledModule, o Outcome, ok bool) {
	p.once.Do(func() {
		// Compiled code outlives this run, so it must not carry its context.
		p.cm, p.err = r.rt.CompileModule(context.WithoutCancel(ctx), p.bin)
	})
	if p.err != nil {
		return nil, engineRefusal(p.err), false
	}
	return p.cm, Outcome{}, true
}

// engineRefusal is the outcome of a module our validator accepted and wazero
// did not: still malformed.
func engineRefusal(err error) Outcome {
	return refused(&AdmissionError{Code: CodeMalformed, What: "rejected by the engine", Detail: err.Error()})
}

func (r *Runner) newRunState(job Job) *runState {
	return &runState{
		input:     job.Input,
		outCap:    r.cfg.OutputCap,
		stderrCap: r.cfg.StderrCap,
		args:      append([]string{"job"}, job.Args...),
		env:       []string{"GUILD_RUN=" + strconv.FormatUint(uint64(job.Run), 10)},
		rand:      msg.JobRandomStream(job.Request, job.Run),
	}
}

// execute applies the safety net to one run. Without a timeout and with a ctx
// that cannot be cancelled the guest runs on the calling goroutine. Otherwise it
// runs on its own goroutine: when the timeout fires or ctx is done, execute
// sets the guest's abort flag (see poker) and returns at once with ErrTimeout
// (or ctx's error), never an outcome; the guest traps in its check slow path,
// within about 2^20 fuel of work (see emitCheck), not when its fuel runs out.
func (r *Runner) execute(ctx context.Context, fn func(context.Context, *poker) (Outcome, error)) (Outcome, error) {
	r.runs.Add(1)
	if r.cfg.Timeout <= 0 && ctx.Done() == nil {
		defer r.runs.Done()
		return fn(ctx, nil)
	}
	type result struct {
		o   Outcome
		err error
	}
	done := make(chan result, 1)
	p := &poker{}
	go func() {
		defer r.runs.Done()
		o, err := fn(context.WithoutCancel(ctx), p)
		done <- result{o, err}
	}()
	var timeout <-chan time.Time
	if r.cfg.Timeout > 0 {
		t := time.NewTimer(r.cfg.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case res := <-done:
		return res.o, res.err
	case <-timeout:
		p.abortRun()
		return Outcome{}, ErrTimeout
	case <-ctx.Done():
		p.abortRun()
		return Outcome{}, fmt.Errorf("run job: %w", ctx.Err())
	}
}

// poker lets the safety net stop a running guest: it sets the abort global,
// which the guest only reads, in its check slow path, and raises the limit
// global so that the next check point takes the slow path. The guest also
// writes the limit, so that raise can be lost; then the slow path comes within
// yieldInterval of fuel anyway (see emitCheck).
type poker struct {
	mu           sync.Mutex
	limit, abort api.MutableGlobal
	aborted      bool
}

func (p *poker) set(limit, abort api.MutableGlobal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limit, p.abort = limit, abort
	if p.aborted {
		p.stop()
	}
}

func (p *poker) abortRun() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted = true
	if p.abort != nil {
		p.stop()
	}
}

func (p *poker) stop() {
	p.abort.Set(1)
	p.limit.Set(math.MaxInt64)
}

// runInstance instantiates cm in rt and runs its start function and _start.
func runInstance(ctx context.Context, rt wazero.Runtime, cm wazero.CompiledModule, s *runState, job Job, metered bool, poke *poker) (Outcome, error) {
	ctx = withRunState(ctx, s)
	// Anonymous instances: any number of them may live in one runtime at once.
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		// Active segments that do not fit trap during instantiation, before any code runs.
		if strings.Contains(err.Error(), "out of bounds") {
			return finish(Outcome{Class: ClassTrap, Code: TrapOutOfBounds}), nil
		}
		return Outcome{}, fmt.Errorf("run job: instantiate: %w", err)
	}
	defer mod.Close(ctx)
	var fuel, status api.MutableGlobal
	if metered {
		fuel, _ = mod.ExportedGlobal(exportFuel).(api.MutableGlobal)
		status, _ = mod.ExportedGlobal(exportStatus).(api.MutableGlobal)
		limit, _ := mod.ExportedGlobal(exportLimit).(api.MutableGlobal)
		abort, _ := mod.ExportedGlobal(exportAbort).(api.MutableGlobal)
		if fuel == nil || status == nil || limit == nil || abort == nil {
			return Outcome{}, errors.New("run job: instrumented module lacks its fuel globals")
		}
		fuel.Set(job.Fuel)
		s.fuel = fuel
		if poke != nil {
			poke.set(limit, abort)
		}
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
	case status != nil && status.Get() == statusAbort:
		return Outcome{}, errAborted
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
