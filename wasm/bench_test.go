package wasm

import (
	"context"
	"testing"
	"time"
)

// BenchmarkMeteredOverhead runs the hashing example's _start (20000 SHA-256
// rounds) fully instrumented and un-instrumented under the same runtime config
// with a warm compile cache, and un-instrumented under WithCloseOnContextDone.
// x-unmetered = metered / plain time; x-close-on-done = close-on-done / plain.
func BenchmarkMeteredOverhead(b *testing.B) {
	r := NewRunnerOrFatal(b, Config{CacheDir: sharedCacheDir})
	job := Job{Module: example(b, "hashpipe"), Input: exampleInput(b, "hashpipe"), Args: []string{"20000"},
		Fuel: 1e12, Pages: 512}
	a, err := Admit(job.Module, job.Pages)
	if err != nil {
		b.Fatal(err)
	}
	metered, plain := a.Instrument(), a.uninstrumented()
	ctx := context.Background()
	variants := []struct {
		bin         []byte
		metered     bool
		closeOnDone bool
	}{{metered, true, false}, {plain, false, false}, {plain, false, true}}
	var total [3]time.Duration
	for i, v := range variants { // warm the compile cache
		o, err := r.execute(ctx, job, v.bin, v.metered, v.closeOnDone)
		if err != nil || o.Class != ClassExit {
			b.Fatalf("variant %d: class %d err %v", i, o.Class, err)
		}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i, v := range variants {
			start := time.Now()
			if _, err := r.execute(ctx, job, v.bin, v.metered, v.closeOnDone); err != nil {
				b.Fatal(err)
			}
			total[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(total[0])/float64(total[1]), "x-unmetered")
	b.ReportMetric(float64(total[2])/float64(total[1]), "x-close-on-done")
	b.ReportMetric(float64(total[0].Milliseconds())/float64(b.N), "ms-metered")
	b.ReportMetric(float64(total[1].Milliseconds())/float64(b.N), "ms-plain")
}

// BenchmarkInstantiateCached measures instantiating and running the JSON
// example's _start with a warm compile cache (admission and instrumentation
// included, as in Runner.Run).
func BenchmarkInstantiateCached(b *testing.B) {
	r := NewRunnerOrFatal(b, Config{CacheDir: sharedCacheDir})
	job := Job{Module: example(b, "jsonnorm"), Input: exampleInput(b, "jsonnorm"), Fuel: 1e10, Pages: 512}
	run(b, r, job)
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		run(b, r, job)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms")
}
