package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/spf13/cobra"
)

func newGenesisCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Create and inspect genesis files",
	}
	cmd.AddCommand(newGenesisNewCmd(), newGenesisShowCmd())
	return cmd
}

func newGenesisNewCmd() *cobra.Command {
	var (
		name                string
		out                 string
		epochMs, graceMs    uint64
		startMs             int64
		allocs              []string
		witnesses, gateways []string
		paramFlags          []string
		force               bool
	)
	cmd := &cobra.Command{
		Use:   "new",
		Short: "Write a new genesis file",
		Long: `Write a genesis file (WIRE §5) and print the network id it defines.

Accounts are peer ids (12D3KooW…), 64 hex digits, or paths to key files.
Amounts are in whole units with up to six decimals (1 REP = 1,000,000 µREP).

  guild genesis new --name mynet \
     --alloc alice.key=10:100 --alloc 12D3KooW...=5:0 \
     --witness alice.key --witness bob.key --gateway gw.key \
     --epoch-ms 2000 --grace-ms 400 --param sigma_max_ms=200

--alloc ACCOUNT=REP:CREDITS gives starting balances; --witness names the fallback
witnesses used while fewer than witnesses_min accounts hold REP (at least one is
needed); --gateway names accounts whose DEPOSITs create credits; --param NAME=VALUE
sets any parameter (see 'guild params' for names, defaults and bounds). Genesis REP
counts as minted. Every account named here is admitted from epoch 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if startMs == 0 {
				startMs = time.Now().UnixMilli()
			}
			f := &genesis.File{Name: name, GenesisTsMs: uint64(startMs), EpochMs: epochMs, GraceMs: graceMs, Params: map[string]uint64{}}
			for _, a := range allocs {
				acct, amounts, ok := strings.Cut(a, "=")
				if !ok {
					return usageError{fmt.Errorf("--alloc %q: want ACCOUNT=REP:CREDITS", a)}
				}
				repS, credS, _ := strings.Cut(amounts, ":")
				acc, err := parseAccountArg(acct)
				if err != nil {
					return usageError{fmt.Errorf("--alloc %q: %w", a, err)}
				}
				rep, err := parseMicro(repS)
				if err != nil {
					return usageError{fmt.Errorf("--alloc %q: REP: %w", a, err)}
				}
				cr, err := parseMicro(credS)
				if err != nil {
					return usageError{fmt.Errorf("--alloc %q: credits: %w", a, err)}
				}
				f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: acc.String(), RepMicro: rep, CreditsMicro: cr})
			}
			for _, w := range witnesses {
				acc, err := parseAccountArg(w)
				if err != nil {
					return usageError{fmt.Errorf("--witness %q: %w", w, err)}
				}
				f.Witnesses = append(f.Witnesses, acc.String())
			}
			for _, w := range gateways {
				acc, err := parseAccountArg(w)
				if err != nil {
					return usageError{fmt.Errorf("--gateway %q: %w", w, err)}
				}
				f.Gateways = append(f.Gateways, acc.String())
			}
			for _, p := range paramFlags {
				n, v, ok := strings.Cut(p, "=")
				val, err := strconv.ParseUint(v, 10, 64)
				if !ok || err != nil {
					return usageError{fmt.Errorf("--param %q: want NAME=UNSIGNED-INTEGER", p)}
				}
				if _, known := params.ByName(n); !known {
					return usageError{fmt.Errorf("--param %q: unknown parameter (see 'guild params')", p)}
				}
				f.Params[n] = val
			}
			g, err := genesis.FromFile(f)
			if err != nil {
				return err
			}
			b, err := g.JSON()
			if err != nil {
				return err
			}
			flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			fh, err := os.OpenFile(out, flag, 0o644)
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%s exists (use --force to replace it)", out)
			}
			if err != nil {
				return err
			}
			if _, err := fh.Write(b); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", out)
			fmt.Fprintln(cmd.OutOrStdout(), g.NetworkID())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "network name (required)")
	fl.StringVarP(&out, "out", "o", "genesis.json", "file to write")
	fl.Uint64Var(&epochMs, "epoch-ms", 60000, "epoch length E in milliseconds (≥ 1000)")
	fl.Uint64Var(&graceMs, "grace-ms", 5000, "grace g after an epoch's end before witnesses checkpoint it (≤ E/4)")
	fl.Int64Var(&startMs, "start-ms", 0, "genesis_ts_ms, the start of epoch 0 in Unix milliseconds (default: now)")
	fl.StringArrayVar(&allocs, "alloc", nil, "ACCOUNT=REP:CREDITS starting balances (repeatable)")
	fl.StringArrayVar(&witnesses, "witness", nil, "fallback witness ACCOUNT (repeatable; at least one)")
	fl.StringArrayVar(&gateways, "gateway", nil, "gateway ACCOUNT (repeatable)")
	fl.StringArrayVar(&paramFlags, "param", nil, "NAME=VALUE parameter (repeatable)")
	fl.BoolVar(&force, "force", false, "replace an existing file")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newGenesisShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show GENESIS.json",
		Short: "Check a genesis file and print its network id",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := genesis.Load(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "network      %s\n", g.NetworkID())
			fmt.Fprintf(w, "name         %s\n", g.Name)
			fmt.Fprintf(w, "epoch 0      %s\n", time.UnixMilli(int64(g.GenesisTsMs)).UTC().Format(time.RFC3339Nano))
			fmt.Fprintf(w, "epoch_ms     %d\ngrace_ms     %d\n", g.EpochMs(), g.GraceMs())
			for _, a := range g.Allocations {
				fmt.Fprintf(w, "allocation   %s  %s REP  %s credits\n", a.Account, formatMicro(a.RepMicro), formatMicro(a.CreditsMicro))
			}
			for _, a := range g.Witnesses {
				fmt.Fprintf(w, "witness      %s\n", a)
			}
			for _, a := range g.Gateways {
				fmt.Fprintf(w, "gateway      %s\n", a)
			}
			for _, c := range g.Params.NonDefault() {
				inf, _ := params.Lookup(c.ID)
				fmt.Fprintf(w, "param        %s = %d (default %d)\n", inf.Name, c.Value, inf.Default)
			}
			return nil
		},
	}
}

// parseAccountArg accepts a peer id, 64 hex digits, or the path of a key file.
func parseAccountArg(s string) (msg.Account, error) {
	if a, err := msg.ParseAccount(s); err == nil {
		return a, nil
	}
	if _, err := os.Stat(s); err == nil {
		k, err := identity.Load(s)
		if err != nil {
			return msg.Account{}, err
		}
		return k.Account(), nil
	}
	return msg.Account{}, fmt.Errorf("not a peer id, hex account or key file")
}

// parseMicro reads "12", "12.5" or "0.000001" as micro-units.
func parseMicro(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 {
		return 0, fmt.Errorf("%q: at most six decimals", s)
	}
	w, err := strconv.ParseUint(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, err)
	}
	var f uint64
	if frac != "" {
		f, err = strconv.ParseUint(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", s, err)
		}
	}
	if w > (^uint64(0)-f)/1_000_000 {
		return 0, fmt.Errorf("%q: too large", s)
	}
	return w*1_000_000 + f, nil
}

// formatMicro writes micro-units as a decimal with trailing zeros trimmed.
func formatMicro(v uint64) string {
	s := fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
