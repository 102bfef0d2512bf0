package wasm

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// TestChargePlan pins where the optimised instrumentation charges fuel, with
// exact numbers, for the shapes chargePlan merges and the ones it must not.
func TestChargePlan(t *testing.T) {
	load := opA(opI32Load, 0)
	cases := []struct {
		name      string
		body      []Instr
		plan      []int64 // per instruction index (plus one past the end); -1 = merged
		ahead     []int64
		reference []int64
	}{{
		// Go-style dispatch: entry [block] [block] [local.get br_table], nothing
		// can observe between them: one charge of 4 at entry, 3 of it ahead of
		// the entry check. [end] of the targeted inner block starts a charge;
		// [nop end] closes the outer block, which no branch targets, so the
		// [load end] after it is charged with it.
		name: "dispatch",
		body: []Instr{op(opBlock), op(opBlock), opA(opLocalGet, 0), {Op: opBrTable, List: []uint32{0, 0}},
			op(opEnd), op(opNop), op(opEnd), load, op(opEnd)},
		plan:      []int64{4, -1, -1, -1, 1, 4, -1, -1, -1, -1},
		ahead:     []int64{3, 0, 0, 0, 0, 2, 0, 0, 0, 0},
		reference: []int64{1, 1, 2, -1, 1, 2, -1, 2, -1, -1},
	}, {
		// A loop header's chain: [block] after the loop, [nop end] closing the
		// untargeted block, [end] closing the loop (left only by falling out)
		// and [nop end]: 6, of which 5 are ahead of the header's check.
		name:      "loop header and loop end",
		body:      []Instr{op(opLoop), op(opBlock), op(opNop), op(opEnd), op(opEnd), op(opNop), op(opEnd)},
		plan:      []int64{1, 6, -1, -1, -1, -1, -1, -1},
		ahead:     []int64{0, 5, 0, 0, 0, 0, 0, 0},
		reference: []int64{1, 1, 2, -1, 1, 2, -1, -1},
	}, {
		// A trap in the head stops the chain; a call (cost 1 + 8) ends one:
		// the callee observes the counter. The three ends after the call
		// close untargeted blocks and form one chain of 3.
		name:      "observing head, call",
		body:      []Instr{load, op(opBlock), op(opBlock), opA(opCall, 0), op(opEnd), op(opEnd), op(opEnd)},
		plan:      []int64{2, -1, 10, -1, 3, -1, -1, -1},
		ahead:     []int64{0, 0, 9, 0, 2, 0, 0, 0},
		reference: []int64{2, -1, 1, 9, 1, 1, 1, -1},
	}, {
		// if / else successors are entered conditionally: never merged.
		name:      "if else",
		body:      []Instr{op(opIf), op(opNop), op(opElse), op(opNop), op(opEnd), op(opEnd)},
		plan:      []int64{1, 2, -1, 2, -1, 1, -1},
		ahead:     []int64{0, 0, 0, 0, 0, 0, 0},
		reference: []int64{1, 2, -1, 2, -1, 1, -1},
	}}
	for _, c := range cases {
		for _, ref := range []bool{false, true} {
			plan, ahead := chargePlan(c.body, ref)
			want, wantAhead := c.plan, c.ahead
			if ref {
				want, wantAhead = c.reference, make([]int64, len(c.body)+1)
			}
			if fmt.Sprint(plan) != fmt.Sprint(want) || fmt.Sprint(ahead) != fmt.Sprint(wantAhead) {
				t.Errorf("%s (reference %v): plan %v ahead %v, want %v %v", c.name, ref, plan, ahead, want, wantAhead)
			}
		}
	}
}

// TestInstrumentMatchesReference runs modules under Instrument and under the
// reference instrumentation (one charge per basic block, helper calls, plain
// call-depth accounting) at many fuel limits, including every limit up to the
// full run for the small ones: class, code, fuel used and output must be the
// same. Out-of-fuel outcomes show where the check fired through the output
// written before it, and traps show the exact counter.
func TestInstrumentMatchesReference(t *testing.T) {
	r := newTestRunner(t)
	ctx := context.Background()
	type tc struct {
		name   string
		module []byte
		input  string
		args   []string
		pages  uint32
		fuel   uint64 // enough for the whole run, or the limit of one that never ends
	}
	var cases []tc
	for s := '0'; s <= '9'; s++ {
		cases = append(cases, tc{"chains", wat(t, "chains"), string(s), nil, 16, 1e7})
	}
	for _, w := range []string{"hello", "loop", "membomb", "nomax", "recurse", "nan", "start", "multivalue", "exitcode"} {
		cases = append(cases, tc{w, wat(t, w), "in", nil, 16, 1e7})
	}
	for i := 0; i <= 7; i++ {
		cases = append(cases, tc{"traps", wat(t, "traps"), fmt.Sprint(i), nil, 16, 1e7})
	}
	if !testing.Short() {
		// One Go program: compiling the reference instrumentation of each
		// example costs seconds, and they share the runtime's code shapes.
		cases = append(cases, tc{"hashpipe", example(t, "hashpipe"), "abc", []string{"3"}, 512, 1e9})
	}
	compiled := map[string][2]func(Job) Outcome{}
	for _, c := range cases {
		if _, ok := compiled[c.name]; ok {
			continue
		}
		a, err := Admit(c.module, c.pages)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var fns [2]func(Job) Outcome
		for i, bin := range [][]byte{a.Instrument(), a.instrumentReference()} {
			cm, err := r.rt.CompileModule(ctx, bin)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			t.Cleanup(func() { cm.Close(ctx) })
			fns[i] = func(job Job) Outcome {
				o, err := runInstance(ctx, r.rt, cm, r.newRunState(job), job, true, nil)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				return o
			}
		}
		compiled[c.name] = fns
	}
	for _, c := range cases {
		began := time.Now()
		fns := compiled[c.name]
		job := Job{Module: c.module, Input: []byte(c.input), Args: c.args, Fuel: c.fuel, Pages: c.pages}
		full := fns[0](job)
		limits := []uint64{0, 1, 2, full.FuelUsed - 1, full.FuelUsed, full.FuelUsed + 1}
		if full.FuelUsed <= 5000 {
			for f := uint64(3); f < full.FuelUsed-1; f++ {
				limits = append(limits, f)
			}
		} else {
			for k := uint64(1); k < 30; k++ {
				limits = append(limits, full.FuelUsed*k/30, full.FuelUsed*k/30+1)
			}
		}
		for _, f := range limits {
			job.Fuel = f
			got, want := fns[0](job), fns[1](job)
			if got.Class != want.Class || got.Code != want.Code || got.FuelUsed != want.FuelUsed || !bytes.Equal(got.Output, want.Output) {
				t.Fatalf("%s(%q) fuel %d: class %d code %d fuel %d output %q; reference %d %d %d %q",
					c.name, c.input, f, got.Class, got.Code, got.FuelUsed, got.Output, want.Class, want.Code, want.FuelUsed, want.Output)
			}
		}
		t.Logf("%s(%.8q): class %d code %d fuel %d, %d limits %v", c.name, c.input, full.Class, full.Code, full.FuelUsed, len(limits), time.Since(began))
	}
}
