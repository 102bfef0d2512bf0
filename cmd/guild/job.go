package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/wasm"
)

// defaultJobFuel is the CLI's fuel when --fuel is not given: 10^10, about ten
// seconds of typical compute, a hundredth of the network's max_fuel (10^12).
const defaultJobFuel = 10_000_000_000

// defaultJobPages is the network's default max_pages (1 GiB); memory is only
// committed as the job grows it.
const defaultJobPages = 16384

func newJobCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job",
		Short: "Run WebAssembly jobs locally, exactly as members execute them",
	}
	cmd.AddCommand(newJobRunCmd())
	return cmd
}

func newJobRunCmd() *cobra.Command {
	var (
		wasmPath, inputPath, outPath, requestHex, cacheDir string
		fuel                                               uint64
		pages, run                                         uint32
		asJSON, noCache                                    bool
		outputCap                                          uint64
		timeout                                            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run --wasm FILE [--input FILE] [flags] [-- ARGS...]",
		Short: "Run a job module on an input and print its outcome",
		Long: `Run a WebAssembly job under runtime wasm-wasi-v1, the deterministic rules every
member uses (admission, fuel metering, call-depth limit, NaN canonicalisation,
fake clocks, seeded random_get). The same module, input, arguments, fuel, pages,
request and run give the same outcome on every machine.

The job reads --input on stdin (empty if omitted; "-" reads this command's
stdin), sees argv ["job", ARGS...] and the environment GUILD_RUN=<run>. Its
stdout, up to the output cap, is the output; its stderr is shown for diagnostics
but is not part of the outcome.

Printed: the outcome class and code, the fuel used, the outcome hash (what a
member commits to), the output blob id and the output itself (or, with -o, the
output is written to FILE). Classes: 0 exit (code = exit status), 1 trap
(1 unreachable, 2 divide by zero, 3 integer overflow, 4 invalid conversion,
5 out of bounds, 6 indirect call type, 7 call depth), 2 out of fuel, 3 output
overflow, 4 refused at admission (1 import, 2 feature, 3 memory, 4 size,
5 malformed).

Without --request the run is a local run: request id = 32 zero bytes, run 0,
so outcome hashes match the ones a test or another machine computes.
The command exits 0 whenever an outcome was produced, whatever its class.`,
		Example: `  guild job run --wasm examples/jobs/wordcount/wordcount.wasm --input book.txt -- 20
  guild job run --wasm job.wasm --input in.json --fuel 1000000000 --json
  guild job run --wasm job.wasm --input in.bin --request <64 hex> --run 2 -o out.bin`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if wasmPath == "" {
				return usageError{errors.New("job run: --wasm FILE is required")}
			}
			if fuel > wasm.MaxFuel {
				return usageError{fmt.Errorf("job run: --fuel above %d", uint64(wasm.MaxFuel))}
			}
			if pages == 0 || pages > wasm.MaxPages {
				return usageError{fmt.Errorf("job run: --memory-pages must be 1..%d", wasm.MaxPages)}
			}
			var req msg.ID
			if requestHex != "" {
				id, err := msg.ParseID(requestHex)
				if err != nil {
					return usageError{fmt.Errorf("job run: --request: %w", err)}
				}
				req = id
			} else if cmd.Flags().Changed("run") {
				return usageError{errors.New("job run: --run needs --request")}
			}
			input, err := readInput(cmd, inputPath)
			if err != nil {
				return err
			}
			o, err := runJobFile(cmd.Context(), wasmPath, wasm.Job{Input: input, Args: args, Fuel: fuel,
				Pages: pages, Request: req, Run: run}, jobCacheDir(cacheDir, noCache), outputCap, timeout)
			if err != nil {
				return err
			}
			if outPath != "" {
				if err := os.WriteFile(outPath, o.Output, 0o644); err != nil {
					return fmt.Errorf("job run: write output: %w", err)
				}
			}
			if asJSON {
				return printJobJSON(cmd.OutOrStdout(), o, outPath == "")
			}
			printJob(cmd.OutOrStdout(), cmd.ErrOrStderr(), o, outPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&wasmPath, "wasm", "", "job module (.wasm), at most 16 MiB")
	f.StringVar(&inputPath, "input", "", `file given to the job on stdin ("-" = this command's stdin; default empty)`)
	f.Uint64Var(&fuel, "fuel", defaultJobFuel, "fuel limit (the network's max_fuel is 10^12)")
	f.Uint32Var(&pages, "memory-pages", defaultJobPages, "memory limit in 64 KiB pages (network default max_pages 16384 = 1 GiB)")
	f.StringVar(&requestHex, "request", "", "request id (64 hex digits) whose random stream the job reads; default 32 zero bytes")
	f.Uint32Var(&run, "run", 0, "run number within the request (sets GUILD_RUN and the random stream)")
	f.BoolVar(&asJSON, "json", false, "print the outcome as JSON")
	f.StringVarP(&outPath, "output", "o", "", "write the job's output to FILE instead of printing it")
	f.StringVar(&cacheDir, "cache-dir", "", "compile cache directory (default: the user cache dir, guild/wasm)")
	f.BoolVar(&noCache, "no-cache", false, "do not use the on-disk compile cache")
	f.Uint64Var(&outputCap, "output-cap", wasm.DefaultOutputCap, "output_cap_bytes of the network (part of the runtime)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "local wall-clock safety net; a run it stops has no outcome (0 = none)")
	return cmd
}

func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	switch path {
	case "":
		return nil, nil
	case "-":
		b, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("job run: read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("job run: read input: %w", err)
	}
	return b, nil
}

func jobCacheDir(flag string, off bool) string {
	if off {
		return ""
	}
	if flag != "" {
		return flag
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "guild", "wasm")
}

// runJobFile refuses an oversized module by its size alone, without reading it.
func runJobFile(ctx context.Context, path string, job wasm.Job, cacheDir string, outputCap uint64, timeout time.Duration) (wasm.Outcome, error) {
	st, err := os.Stat(path)
	if err != nil {
		return wasm.Outcome{}, fmt.Errorf("job run: %w", err)
	}
	if st.Size() > wasm.MaxModuleSize {
		return wasm.RefusalOutcome(&wasm.AdmissionError{Code: wasm.CodeSize, What: "module size",
			Detail: fmt.Sprintf("%d bytes, limit %d", st.Size(), wasm.MaxModuleSize)}), nil
	}
	job.Module, err = os.ReadFile(path)
	if err != nil {
		return wasm.Outcome{}, fmt.Errorf("job run: %w", err)
	}
	r, err := wasm.NewRunner(wasm.Config{CacheDir: cacheDir, OutputCap: outputCap, Timeout: timeout})
	if err != nil {
		return wasm.Outcome{}, fmt.Errorf("job run: %w", err)
	}
	defer r.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	o, err := r.Run(ctx, job)
	if err != nil {
		return wasm.Outcome{}, fmt.Errorf("job run: %w", err)
	}
	return o, nil
}

var classNames = map[uint8]string{0: "exit", 1: "trap", 2: "out of fuel", 3: "output overflow", 4: "refused"}

func printJob(out, errOut io.Writer, o wasm.Outcome, outPath string) {
	fmt.Fprintf(out, "class    %d (%s)\n", o.Class, classNames[o.Class])
	fmt.Fprintf(out, "code     %d\n", o.Code)
	if o.Refusal != nil {
		fmt.Fprintf(out, "refusal  %s\n", o.Refusal)
	}
	fmt.Fprintf(out, "fuel     %d\n", o.FuelUsed)
	fmt.Fprintf(out, "outcome  %s\n", o.Hash)
	fmt.Fprintf(out, "output   %d bytes, blob %s\n", len(o.Output), o.OutputID)
	if len(o.Stderr) > 0 {
		fmt.Fprintf(errOut, "--- job stderr (diagnostics, not part of the outcome) ---\n%s", o.Stderr)
		if o.Stderr[len(o.Stderr)-1] != '\n' {
			fmt.Fprintln(errOut)
		}
	}
	if outPath != "" {
		fmt.Fprintf(out, "written  %s\n", outPath)
		return
	}
	fmt.Fprintf(out, "--- output ---\n")
	out.Write(o.Output)
	if len(o.Output) > 0 && o.Output[len(o.Output)-1] != '\n' {
		fmt.Fprintln(out)
	}
}

func printJobJSON(out io.Writer, o wasm.Outcome, withOutput bool) error {
	v := map[string]any{
		"class":      o.Class,
		"code":       o.Code,
		"fuel_used":  strconv.FormatUint(o.FuelUsed, 10),
		"outcome":    o.Hash.String(),
		"output_id":  o.OutputID.String(),
		"output_len": len(o.Output),
		"stderr":     string(o.Stderr),
	}
	if o.Refusal != nil {
		v["refusal"] = o.Refusal.Error()
	}
	if withOutput {
		if utf8.Valid(o.Output) {
			v["output"] = string(o.Output)
		} else {
			v["output_base64"] = base64.StdEncoding.EncodeToString(o.Output)
		}
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
