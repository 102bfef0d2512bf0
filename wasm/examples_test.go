package wasm

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.txt")

var exampleNames = []string{"jsonnorm", "hashpipe", "wordcount"}

func example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "jobs", name, name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func exampleInput(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", "jobs", name, "input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenCases are the runs whose outcome hashes are pinned in testdata/golden.txt,
// all with the local-run request id (32 zero bytes) and run 0.
type goldenCase struct {
	name  string // example or wat module
	input string // input.txt for examples, literal for wat modules
	args  []string
	fuel  uint64
	pages uint32
}

func goldenCases() []goldenCase {
	var cs []goldenCase
	for _, n := range exampleNames {
		cs = append(cs, goldenCase{name: n, input: "input.txt", fuel: 1e11, pages: 512})
	}
	cs = append(cs, goldenCase{name: "hashpipe", input: "input.txt", args: []string{"1000"}, fuel: 1e11, pages: 512})
	for _, w := range []string{"hello", "loop", "membomb", "nomax", "recurse", "nan", "start", "multivalue",
		"exitcode", "badimport", "badwasi", "simd", "threads"} {
		cs = append(cs, goldenCase{name: w, fuel: 1e7, pages: 16})
	}
	for i := 0; i <= 7; i++ {
		cs = append(cs, goldenCase{name: "traps", input: strconv.Itoa(i), fuel: 1e7, pages: 16})
	}
	return cs
}

func (g goldenCase) key() string {
	return fmt.Sprintf("%s input=%q args=%q fuel=%d pages=%d", g.name, g.input, strings.Join(g.args, " "), g.fuel, g.pages)
}

func TestGoldenOutcomes(t *testing.T) {
	r := newTestRunner(t)
	want := map[string]string{}
	if !*update {
		f, err := os.Open("testdata/golden.txt")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, " => ")
			if !ok {
				t.Fatalf("bad golden line %q", line)
			}
			want[k] = v
		}
		f.Close()
	}
	var out bytes.Buffer
	out.WriteString("# Outcome hashes (WIRE §4) of the committed example jobs and .wat modules,\n")
	out.WriteString("# request id = 32 zero bytes, run 0. Regenerate: go test ./wasm -run TestGoldenOutcomes -update\n")
	for _, g := range goldenCases() {
		job := Job{Args: g.args, Fuel: g.fuel, Pages: g.pages}
		if strings.HasSuffix(g.input, ".txt") {
			job.Module, job.Input = example(t, g.name), exampleInput(t, g.name)
		} else {
			job.Module, job.Input = wat(t, g.name), []byte(g.input)
		}
		o := run(t, r, job)
		got := fmt.Sprintf("class=%d code=%d fuel=%d out=%d outcome=%s", o.Class, o.Code, o.FuelUsed, len(o.Output), o.Hash)
		fmt.Fprintf(&out, "%s => %s\n", g.key(), got)
		if !*update && want[g.key()] != got {
			t.Errorf("%s\n got  %s\n want %s", g.key(), got, want[g.key()])
		}
	}
	if *update {
		if err := os.WriteFile("testdata/golden.txt", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExamplesRebuild rebuilds the example jobs and checks the committed bytes.
// The bytes depend on the Go toolchain, so it runs only with the noted version.
func TestExamplesRebuild(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	noted, err := os.ReadFile("../examples/jobs/GO_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Skip("no go command")
	}
	if strings.TrimSpace(string(v)) != strings.TrimSpace(string(noted)) {
		t.Skipf("go version %s, examples built with %s", strings.TrimSpace(string(v)), strings.TrimSpace(string(noted)))
	}
	dir := t.TempDir()
	for _, n := range exampleNames {
		out := filepath.Join(dir, n+".wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", out, "./"+n)
		cmd.Dir = "../examples/jobs"
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", n, err, msg)
		}
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, example(t, n)) {
			t.Errorf("%s: rebuilt module differs from the committed one", n)
		}
	}
}

// TestWatRebuild rebuilds the .wat corpus with wat2wasm, when present, and
// checks the committed .wasm bytes (only with the noted wabt version).
func TestWatRebuild(t *testing.T) {
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (Debian package wabt)")
	}
	noted, _ := os.ReadFile("testdata/wat/WABT_VERSION")
	v, _ := exec.Command(bin, "--version").Output()
	if strings.TrimSpace(string(v)) != strings.TrimSpace(string(noted)) {
		t.Skipf("wat2wasm %s, corpus built with %s", strings.TrimSpace(string(v)), strings.TrimSpace(string(noted)))
	}
	files, _ := filepath.Glob("testdata/wat/*.wat")
	dir := t.TempDir()
	for _, f := range files {
		out := filepath.Join(dir, "m.wasm")
		if msg, err := exec.Command(bin, "--enable-threads", f, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, msg)
		}
		got, _ := os.ReadFile(out)
		want, _ := os.ReadFile(strings.TrimSuffix(f, ".wat") + ".wasm")
		if !bytes.Equal(got, want) {
			t.Errorf("%s: wat2wasm output differs from the committed .wasm", f)
		}
	}
}
