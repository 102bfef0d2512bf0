package wasm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/guild-net/guild/msg"
)

func run(t testing.TB, r *Runner, job Job) Outcome {
	t.Helper()
	o, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestHostileCorpus runs each hand-written module and checks its exact outcome.
func TestHostileCorpus(t *testing.T) {
	r := newTestRunner(t)
	cases := []struct {
		name   string
		input  string
		fuel   uint64
		pages  uint32
		class  uint8
		code   uint32
		used   uint64
		outLen int
	}{
		// hello: block [10 instrs + call] = 11 + 8, block [drop end] = 2, fd_write 64 + 1.
		{"hello", "", 1e6, 16, ClassExit, 0, 86, 6},
		{"loop", "", 1e6, 16, ClassOutOfFuel, 0, 1e6, 0},
		{"loop", "", 12345, 16, ClassOutOfFuel, 0, 12345, 0},
		// Grows page by page to the request's 16 pages (64 pages declared).
		{"membomb", "", 1e7, 16, ClassExit, 16, 16555, 0},
		// No maximum: the 1000-page request fails (charged anyway), then 15 pages.
		{"nomax", "", 1e7, 16, ClassExit, 16, 1040558, 0},
		// 2^20 / frame cost 4 = 262144 calls of 9 fuel each.
		{"recurse", "", 1e8, 16, ClassTrap, TrapCallDepth, 262144 * 9, 0},
		{"flood", "", 1e8, 16, ClassOverflow, 0, 19801, 1 << 20},
		{"nan", "", 1e6, 16, ClassExit, 0, 488, 112},
		{"traps", "0", 1e6, 16, ClassExit, 0, 101, 0},
		{"traps", "1", 1e6, 16, ClassTrap, TrapUnreachable, 102, 0},
		{"traps", "2", 1e6, 16, ClassTrap, TrapDivideByZero, 105, 0},
		{"traps", "3", 1e6, 16, ClassTrap, TrapIntegerOverflow, 105, 0},
		{"traps", "4", 1e6, 16, ClassTrap, TrapInvalidConversion, 104, 0},
		{"traps", "5", 1e6, 16, ClassTrap, TrapOutOfBounds, 104, 0},
		{"traps", "6", 1e6, 16, ClassTrap, TrapIndirectCallType, 111, 0},
		{"traps", "7", 1e6, 16, ClassTrap, TrapOutOfBounds, 110, 0},
		{"start", "", 1e6, 16, ClassExit, 0, 196, 11},
		{"multivalue", "", 1e6, 16, ClassExit, 0, 201, 3},
		{"exitcode", "in", 1e6, 16, ClassExit, 3, 935, 34},
		{"badimport", "", 1e6, 16, ClassRefused, CodeImport, 0, 0},
		{"badwasi", "", 1e6, 16, ClassRefused, CodeImport, 0, 0},
		{"simd", "", 1e6, 16, ClassRefused, CodeFeature, 0, 0},
		{"threads", "", 1e6, 16, ClassRefused, CodeFeature, 0, 0},
		{"hello", "", 0, 16, ClassOutOfFuel, 0, 0, 0},
	}
	big := NewRunnerOrFatal(t, Config{CacheDir: sharedCacheDir, OutputCap: 1 << 20})
	for _, c := range cases {
		rr := r
		if c.name == "flood" {
			rr = big
		}
		o := run(t, rr, Job{Module: wat(t, c.name), Input: []byte(c.input), Fuel: c.fuel, Pages: c.pages})
		if o.Class != c.class || o.Code != c.code || o.FuelUsed != c.used || len(o.Output) != c.outLen {
			t.Errorf("%s(%q): class %d code %d fuel %d output %d bytes; want %d %d %d %d",
				c.name, c.input, o.Class, o.Code, o.FuelUsed, len(o.Output), c.class, c.code, c.used, c.outLen)
		}
		if want := msg.OutcomeHash(o.Class, o.Code, o.FuelUsed, msg.BlobID(o.Output)); o.Hash != want || o.OutputID != msg.BlobID(o.Output) {
			t.Errorf("%s: outcome hash or output id inconsistent", c.name)
		}
	}
}

func NewRunnerOrFatal(t testing.TB, cfg Config) *Runner {
	r, err := NewRunner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestNaNCanonical(t *testing.T) {
	o := run(t, newTestRunner(t), Job{Module: wat(t, "nan"), Fuel: 1e6, Pages: 1})
	out := o.Output
	if len(out) != 12*4+8*8 {
		t.Fatalf("output %d bytes", len(out))
	}
	for i := 0; i < 12; i++ {
		if v := binary.LittleEndian.Uint32(out[4*i:]); v != canonNaN32 {
			t.Errorf("f32 result %d = %#08x, want %#08x", i, v, uint32(canonNaN32))
		}
	}
	for i := 0; i < 8; i++ {
		if v := binary.LittleEndian.Uint64(out[48+8*i:]); v != canonNaN64 {
			t.Errorf("f64 result %d = %#016x, want %#016x", i, v, uint64(canonNaN64))
		}
	}
}

func TestFloodKeepsFirstCapBytes(t *testing.T) {
	r := NewRunnerOrFatal(t, Config{OutputCap: 100000})
	o := run(t, r, Job{Module: wat(t, "flood"), Fuel: 1e8, Pages: 2})
	if o.Class != ClassOverflow || len(o.Output) != 100000 || !bytes.Equal(o.Output, bytes.Repeat([]byte("x"), 100000)) {
		t.Fatalf("class %d, %d bytes", o.Class, len(o.Output))
	}
}

func TestArgsEnvRandom(t *testing.T) {
	r := newTestRunner(t)
	job := Job{Module: wat(t, "exitcode"), Input: []byte("in"), Args: []string{"x"}, Fuel: 1e6, Pages: 1}
	o := run(t, r, job)
	want := []byte("injob\x00x\x00GUILD_RUN=0\x00")
	rnd := make([]byte, 16)
	_, _ = msg.JobRandomStream(msg.ID{}, 0).Read(rnd)
	want = append(want, rnd...)
	if !bytes.Equal(o.Output, want) {
		t.Fatalf("output %q, want %q", o.Output, want)
	}
	job.Run = 7
	job.Request = msg.ID{1}
	o7 := run(t, r, job)
	_, _ = msg.JobRandomStream(msg.ID{1}, 7).Read(rnd)
	if !bytes.Contains(o7.Output, []byte("GUILD_RUN=7\x00")) || !bytes.HasSuffix(o7.Output, rnd) {
		t.Fatalf("run 7 output %q", o7.Output)
	}
}

// TestSameOutcome100Times runs one module and input 100 times through Run (a
// fresh instance of the Runner's compiled code each time): one outcome hash, one
// fuel figure. TestSharedAndFreshAgree mixes in fresh runtimes.
func TestSameOutcome100Times(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	jobs := map[string]Job{
		"jsonnorm": {Module: example(t, "jsonnorm"), Input: exampleInput(t, "jsonnorm"), Fuel: 1e10, Pages: 512},
		"loop":     {Module: wat(t, "loop"), Fuel: 5e6, Pages: 1},
	}
	for name, job := range jobs {
		r := newTestRunner(t)
		first := run(t, r, job)
		for i := 1; i < 100; i++ {
			o := run(t, r, job)
			if o.Hash != first.Hash || o.FuelUsed != first.FuelUsed {
				t.Fatalf("%s run %d: hash %s fuel %d, first %s fuel %d", name, i, o.Hash, o.FuelUsed, first.Hash, first.FuelUsed)
			}
		}
		t.Logf("%s: 100 runs, outcome %s, fuel %d", name, first.Hash, first.FuelUsed)
	}
}

// TestWorstFrameShapes drives recursion with the frame shapes that cost wazero
// the most native stack per unit of frame cost to the call-depth limit: it must
// always be our limit (class 1 code 7) and never wazero's stack overflow.
func TestWorstFrameShapes(t *testing.T) {
	const n = 1000
	i64s := func(k int) []byte { return bytes.Repeat([]byte{tI64}, k) }
	var liveLocals, liveStack, params []Instr
	for i := 0; i < n; i++ {
		liveLocals = append(liveLocals, opA(opI64Const, uint64(i)), opA(opLocalSet, uint64(i)))
	}
	liveLocals = append(liveLocals, opA(opCall, 0))
	liveLocals = append(liveLocals, opA(opLocalGet, 0))
	for i := 1; i < n; i++ {
		liveLocals = append(liveLocals, opA(opLocalGet, uint64(i)), op(opI64Add))
	}
	liveLocals = append(liveLocals, op(opDrop))
	for i := 0; i < n; i++ {
		liveStack = append(liveStack, opA(opI64Const, uint64(i)))
	}
	liveStack = append(liveStack, opA(opCall, 0))
	for i := 1; i < n; i++ {
		liveStack = append(liveStack, op(opI64Add))
	}
	liveStack = append(liveStack, op(opDrop))
	for i := 0; i < n; i++ {
		params = append(params, opA(opLocalGet, uint64(i)))
	}
	params = append(params, opA(opCall, 0))
	var callParams []Instr
	for i := 0; i < n; i++ {
		callParams = append(callParams, opA(opI64Const, uint64(i)))
	}
	callParams = append(callParams, opA(opCall, 0))

	shapes := []struct {
		name string
		mod  testModule
	}{
		{"empty frames", testModule{types: []funcType{voidType},
			funcs: []testFunc{{typ: 0, body: asm(opA(opCall, 0))}, {typ: 0, body: asm(opA(opCall, 0))}}}},
		{"live locals", testModule{types: []funcType{voidType},
			funcs: []testFunc{{typ: 0, locals: []localDecl{{n: n, typ: tI64}}, body: asm(liveLocals...)},
				{typ: 0, body: asm(opA(opCall, 0))}}}},
		{"live operand stack", testModule{types: []funcType{voidType},
			funcs: []testFunc{{typ: 0, body: asm(liveStack...)}, {typ: 0, body: asm(opA(opCall, 0))}}}},
		{"many params", testModule{types: []funcType{{params: i64s(n)}, voidType},
			funcs: []testFunc{{typ: 0, body: asm(params...)}, {typ: 1, body: asm(callParams...)}}}},
		{"indirect", testModule{types: []funcType{voidType}, table: 2,
			funcs: []testFunc{{typ: 0, body: asm(opA(opI32Const, 1), Instr{Op: opCallIndirect})},
				{typ: 0, body: asm(opA(opI32Const, 0), Instr{Op: opCallIndirect})}}}},
	}
	r := newTestRunner(t)
	for _, s := range shapes {
		s.mod.exports = []export{startExport(1)}
		o, err := r.Run(context.Background(), Job{Module: s.mod.bytes(), Fuel: 1e9, Pages: 1})
		if errors.Is(err, ErrEngineStackOverflow) {
			t.Fatalf("%s: wazero's stack overflowed first", s.name)
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if o.Class != ClassTrap || o.Code != TrapCallDepth {
			t.Fatalf("%s: class %d code %d (%v), want 1/7", s.name, o.Class, o.Code, o.Refusal)
		}
	}
}

// TestTimeoutStopsGuest stops endless guests with the safety net: Run must return
// ErrTimeout (or the context's error) and no outcome, and the abandoned guest
// must stop. Its fuel is MaxFuel (years of work), so the runner's goroutine can
// only end because the safety net stopped the guest at a check point. A
// goroutine keeps collecting garbage meanwhile: Go cannot preempt compiled wasm
// code, so unless the guest leaves it now and then (the check slow path's
// memory.grow 0), a stop-the-world waits for the guest, which waits for the
// safety net's timer, which cannot run: the process livelocks and the test
// hangs until the test timeout.
func TestTimeoutStopsGuest(t *testing.T) {
	stopGC := make(chan struct{})
	defer close(stopGC)
	go func() {
		for {
			select {
			case <-stopGC:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	cases := []struct {
		name string
		job  Job
	}{
		{"loop", Job{Module: wat(t, "loop"), Fuel: MaxFuel, Pages: 1}},
		{"spin (counter kept in a register between blocks)", Job{Module: wat(t, "spin"), Fuel: MaxFuel, Pages: 1}},
		{"hashpipe (Go)", Job{Module: example(t, "hashpipe"), Args: []string{"1000000000000"}, Fuel: MaxFuel, Pages: 512}},
	}
	for _, c := range cases {
		for _, viaCtx := range []bool{false, true} {
			cfg := Config{CacheDir: sharedCacheDir, Timeout: 200 * time.Millisecond}
			ctx := context.Background()
			want := ErrTimeout
			if viaCtx {
				cfg.Timeout = 0
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(200*time.Millisecond, cancel)
				want = context.Canceled
			}
			// Not NewRunnerOrFatal: its cleanup's Close would wait for a guest
			// that does not stop, instead of letting the test fail.
			r, err := NewRunner(cfg)
			if err != nil {
				t.Fatal(err)
			}
			o, err := r.Run(ctx, c.job)
			if !errors.Is(err, want) {
				t.Fatalf("%s (ctx %v): got %v, want %v", c.name, viaCtx, err, want)
			}
			if o.Class != 0 || o.FuelUsed != 0 || o.Hash != (msg.ID{}) || o.Output != nil {
				t.Fatalf("%s: an outcome came with the error: %+v", c.name, o)
			}
			stopped := make(chan struct{})
			go func() {
				r.runs.Wait()
				close(stopped)
			}()
			select {
			case <-stopped:
				r.Close()
			case <-time.After(2 * time.Minute): // a hang guard, not a timing assertion
				t.Fatalf("%s (ctx %v): the abandoned guest is still running", c.name, viaCtx)
			}
		}
	}
}

// TestSharedAndFreshAgree runs one job 100 times, alternating the shared
// runtime (compiled code kept by the Runner, a fresh instance per run) and a
// fresh runtime per run: one outcome hash, one fuel figure. Runs of other jobs
// in between must not leak state (memory, globals, the fuel and depth counters,
// WASI state) into the instances that follow.
func TestSharedAndFreshAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	r := newTestRunner(t)
	jobs := []Job{
		{Module: example(t, "jsonnorm"), Input: exampleInput(t, "jsonnorm"), Fuel: 1e10, Pages: 512},
		{Module: wat(t, "exitcode"), Input: []byte("in"), Args: []string{"x"}, Fuel: 1e6, Pages: 1},
		{Module: wat(t, "chains"), Input: []byte("7"), Fuel: 1e8, Pages: 16}, // ends at the call-depth limit
	}
	ctx := context.Background()
	for _, job := range jobs {
		a, err := Admit(job.Module, job.Pages)
		if err != nil {
			t.Fatal(err)
		}
		bin := a.Instrument()
		first := run(t, r, job)
		for i := 1; i < 100; i++ {
			var o Outcome
			if i%2 == 0 {
				o = run(t, r, job)
			} else if o, err = r.runFresh(ctx, job, bin); err != nil {
				t.Fatal(err)
			}
			if o.Hash != first.Hash || o.FuelUsed != first.FuelUsed {
				t.Fatalf("run %d (fresh %v): hash %s fuel %d, first %s fuel %d", i, i%2 == 1, o.Hash, o.FuelUsed, first.Hash, first.FuelUsed)
			}
			if i%10 == 0 { // another module in the same runtime in between
				run(t, r, Job{Module: wat(t, "membomb"), Fuel: 1e7, Pages: 16})
			}
		}
		t.Logf("100 runs, outcome %s, fuel %d", first.Hash, first.FuelUsed)
	}
}

// TestConcurrentRunsIsolated runs jobs concurrently on one Runner (one runtime,
// one compiled module per job, many live instances) and wants each outcome to
// equal the same job's outcome run alone.
func TestConcurrentRunsIsolated(t *testing.T) {
	r := newTestRunner(t)
	var jobs []Job
	for _, in := range []string{"0", "1", "4", "7", "8", "9"} {
		jobs = append(jobs, Job{Module: wat(t, "chains"), Input: []byte(in), Fuel: 1e8, Pages: 16})
	}
	jobs = append(jobs, Job{Module: wat(t, "exitcode"), Input: []byte("in"), Args: []string{"x"}, Fuel: 1e6, Pages: 1, Run: 3},
		Job{Module: wat(t, "membomb"), Fuel: 1e7, Pages: 16})
	want := make([]Outcome, len(jobs))
	for i, job := range jobs {
		want[i] = run(t, r, job)
	}
	errs := make(chan error, 4*len(jobs))
	for g := 0; g < 4; g++ {
		go func() {
			for k := range jobs {
				i := (k + g) % len(jobs)
				o, err := r.Run(context.Background(), jobs[i])
				if err == nil && (o.Hash != want[i].Hash || o.FuelUsed != want[i].FuelUsed) {
					err = fmt.Errorf("job %d: hash %s fuel %d, alone %s fuel %d", i, o.Hash, o.FuelUsed, want[i].Hash, want[i].FuelUsed)
				}
				errs <- err
			}
		}()
	}
	for n := 0; n < 4*len(jobs); n++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
