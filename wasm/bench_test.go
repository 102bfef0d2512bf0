package wasm

import (
	"context"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// BenchmarkMeteredOverhead runs the hashing example's _start (20000 SHA-256
// rounds, instantiation included) from compiled code kept in a runtime, in four
// variants interleaved so that load on the machine hits them alike: Instrument's
// code, the reference instrumentation (one charge per basic block, no
// optimisation: the code before the optimisations of docs/perf.md (wasm)), the
// un-instrumented module, and the un-instrumented module in a runtime with
// WithCloseOnContextDone.
//
// Each iteration runs the four once; x-unmetered is the median over iterations
// of metered / plain time, which moves far less on a shared machine than the
// ratio of totals (x-unmetered-sum, the figure reported before the median).
// x-reference and x-close-on-done are the same medians for the reference
// instrumentation and for WithCloseOnContextDone.
func BenchmarkMeteredOverhead(b *testing.B) {
	r := NewRunnerOrFatal(b, Config{CacheDir: sharedCacheDir})
	job := Job{Module: example(b, "hashpipe"), Input: exampleInput(b, "hashpipe"), Args: []string{"20000"},
		Fuel: 1e12, Pages: 512}
	a, err := Admit(job.Module, job.Pages)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	compile := func(rt wazero.Runtime, bin []byte) wazero.CompiledModule {
		cm, err := rt.CompileModule(ctx, bin)
		if err != nil {
			b.Fatal(err)
		}
		return cm
	}
	closing := wazero.NewRuntimeWithConfig(ctx, r.runtimeConfig(0, true))
	defer closing.Close(ctx)
	if err := instantiateWASI(ctx, closing); err != nil {
		b.Fatal(err)
	}
	type variant struct {
		rt      wazero.Runtime
		cm      wazero.CompiledModule
		metered bool
	}
	variants := []variant{
		{r.rt, compile(r.rt, a.Instrument()), true},
		{r.rt, compile(r.rt, a.instrumentReference()), true},
		{r.rt, compile(r.rt, a.uninstrumented()), false},
		{closing, compile(closing, a.uninstrumented()), false},
	}
	runOnce := func(v variant) time.Duration {
		// Each run leaves a 32 MiB memory behind; collect it outside the timing.
		runtime.GC()
		start := time.Now()
		o, err := runInstance(ctx, v.rt, v.cm, r.newRunState(job), job, v.metered, nil)
		d := time.Since(start)
		if err != nil || o.Class != ClassExit {
			b.Fatalf("class %d err %v", o.Class, err)
		}
		return d
	}
	for _, v := range variants { // warm up
		runOnce(v)
	}
	var total [4]time.Duration
	var perRun [4][]float64 // per-iteration ratio to the plain run of the same iteration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		var d [4]time.Duration
		for k := range variants {
			i := (n + k) % len(variants) // rotate the order: no variant always follows another
			d[i] = runOnce(variants[i])
			total[i] += d[i]
		}
		for i := range d {
			perRun[i] = append(perRun[i], float64(d[i])/float64(d[2]))
		}
	}
	median := func(xs []float64) float64 {
		sort.Float64s(xs)
		return xs[len(xs)/2]
	}
	b.ReportMetric(median(perRun[0]), "x-unmetered")
	b.ReportMetric(float64(total[0])/float64(total[2]), "x-unmetered-sum")
	b.ReportMetric(median(perRun[1]), "x-reference")
	b.ReportMetric(median(perRun[3]), "x-close-on-done")
	b.ReportMetric(float64(total[2].Microseconds())/1000/float64(b.N), "ms-plain")
}

// BenchmarkInstantiateCached measures Runner.Run of the JSON example with a warm
// runner (admission, instrumentation and compiled code kept in memory: a fresh
// module instance per run), and, as ms-fresh, the same run in a fresh runtime
// that loads the compiled code from the on-disk compile cache.
func BenchmarkInstantiateCached(b *testing.B) {
	r := NewRunnerOrFatal(b, Config{CacheDir: sharedCacheDir})
	job := Job{Module: example(b, "jsonnorm"), Input: exampleInput(b, "jsonnorm"), Fuel: 1e10, Pages: 512}
	a, err := Admit(job.Module, job.Pages)
	if err != nil {
		b.Fatal(err)
	}
	bin := a.Instrument()
	ctx := context.Background()
	run(b, r, job)
	if _, err := r.runFresh(ctx, job, bin); err != nil {
		b.Fatal(err)
	}
	var shared, fresh time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		start := time.Now()
		run(b, r, job)
		shared += time.Since(start)
		start = time.Now()
		if _, err := r.runFresh(ctx, job, bin); err != nil {
			b.Fatal(err)
		}
		fresh += time.Since(start)
	}
	b.ReportMetric(float64(shared.Microseconds())/1000/float64(b.N), "ms")
	b.ReportMetric(float64(fresh.Microseconds())/1000/float64(b.N), "ms-fresh")
}
