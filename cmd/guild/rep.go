package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/msg"
)

// repResult is the --json output of `guild rep`: the API's account row plus the
// free REP it implies.
type repResult struct {
	api.Account
	RepFree uint64 `json:"rep_free_micro"`
	// NoEffect lists the account's messages that had no (or partial) effect in the
	// epochs scanned by --history, oldest first.
	NoEffect []repNoEffect `json:"no_effect"`
	// HistoryFrom..HistoryTo are the computed epochs scanned (absent when none).
	HistoryFrom *uint64 `json:"history_from,omitempty"`
	HistoryTo   *uint64 `json:"history_to,omitempty"`
	// Balances are the account's balances after each scanned epoch, oldest first.
	Balances []api.AccountEpoch `json:"balances"`
}

// repNoEffect is one message without effect, with the epoch whose batch held it.
type repNoEffect struct {
	Epoch uint64 `json:"epoch"`
	api.NoEffect
}

// noEffectHistory scans the last n computed epochs up to newest for who's messages
// without effect.
func noEffectHistory(cmd *cobra.Command, c *api.Client, who msg.Account, newest, n uint64) ([]repNoEffect, uint64, error) {
	from := uint64(0)
	if newest+1 > n {
		from = newest + 1 - n
	}
	out := []repNoEffect{}
	for k := from; k <= newest; k++ {
		e, err := c.Epoch(cmd.Context(), k)
		if err != nil {
			return nil, from, err
		}
		for _, ne := range e.NoEffect {
			if ne.Author == who.String() {
				out = append(out, repNoEffect{Epoch: k, NoEffect: ne})
			}
		}
	}
	return out, from, nil
}

func newRepCmd() *cobra.Command {
	var (
		f       clientFlags
		history uint64
	)
	cmd := &cobra.Command{
		Use:   "rep [ACCOUNT]",
		Short: "Show an account's REP (balance, locked, free), credits and standing",
		Long: `Show ACCOUNT's reputation and credits as of the node's newest computed epoch.
ACCOUNT is a peer id (12D3KooW…), 64 hex digits, or a key file; without it, the
running node's own account.

  REP       balance, locked and free, in REP (1 REP = 1,000,000 µREP). Locked REP is
            staked in open pools' votes and availability stakes: it cannot be
            staked again, and it is shielded from leaches and decay. Free = balance
            − locked is what a new vote can lock.
  credits   free credits (what fees and requests can spend) and frozen credits
            (an equivocator's, held for good).
  standing  admitted (its messages count: named in genesis, or holding REP or
            credits), gateway (its deposits create credits), equivocator (signed
            two messages at one seq: REP burned, credits frozen), misbehaver
            (signed two checkpoints for one epoch).

  history   over the last --history computed epochs (default 10; 0 skips it): the
            balances after each epoch where they changed (a pool resolved, a
            stake locked, the salary paid, decay), and the account's messages
            that had no effect (or only part of it), with the reason: a vote
            refused, a pool that did not open, a citation dropped.

What the node's API does not serve yet: a list of the account's open votes (see a
pool's votes with 'guild pool show POOL').
--json prints the API's account row (amounts in micro-units), rep_free_micro,
balances (one row per scanned epoch) and no_effect.`,
		Example: `  guild rep
  guild rep 12D3KooWAbc…
  guild rep alice.key --json`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var who msg.Account
			if len(args) == 1 {
				a, err := parseAccountArg(args[0])
				if err != nil {
					return usageError{fmt.Errorf("account %q: %w", args[0], err)}
				}
				who = a
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				ns, err := f.session(cmd.Context())
				if err != nil {
					return err
				}
				who = ns.self
			}
			a, err := c.Account(cmd.Context(), who)
			if err != nil {
				return f.clientError(err)
			}
			res := repResult{Account: a, RepFree: a.RepMicro - min(a.RepLocked, a.RepMicro), NoEffect: []repNoEffect{},
				Balances: []api.AccountEpoch{}}
			if history > 0 && a.Epoch != nil {
				ne, from, err := noEffectHistory(cmd, c, who, *a.Epoch, history)
				if err != nil {
					return f.clientError(err)
				}
				res.NoEffect, res.HistoryFrom, res.HistoryTo = ne, &from, a.Epoch
				if res.Balances, err = c.AccountHistory(cmd.Context(), who, from, *a.Epoch); err != nil {
					return f.clientError(err)
				}
			}
			if f.asJSON {
				return printJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			at := "genesis (no epoch computed yet)"
			if a.Epoch != nil {
				at = fmt.Sprintf("after epoch %d (the newest computed)", *a.Epoch)
			}
			fmt.Fprintf(w, "account   %s\nstate     %s\n", a.Account, at)
			fmt.Fprintf(w, "REP       %s (locked %s, free %s)\n", formatMicro(a.RepMicro), formatMicro(a.RepLocked), formatMicro(res.RepFree))
			fmt.Fprintf(w, "credits   %s free, %s frozen\n", formatMicro(a.CreditsFree), formatMicro(a.CreditsFrozen))
			var fl []string
			if a.Admitted {
				fl = append(fl, "admitted")
			} else {
				fl = append(fl, "not admitted (holds no REP or credits: its messages are ignored)")
			}
			for _, x := range []struct {
				on   bool
				name string
			}{{a.Gateway, "gateway"}, {a.Equivocator, "EQUIVOCATOR"}, {a.Misbehaver, "MISBEHAVER"}} {
				if x.on {
					fl = append(fl, x.name)
				}
			}
			fmt.Fprintf(w, "standing  %s\n", strings.Join(fl, ", "))
			if res.HistoryFrom != nil {
				fmt.Fprintf(w, "history   epochs %d–%d (a line where REP or credits changed):\n", *res.HistoryFrom, *res.HistoryTo)
				var prev *api.AccountEpoch
				for i := range res.Balances {
					b := &res.Balances[i]
					if prev == nil || b.RepMicro != prev.RepMicro || b.RepLocked != prev.RepLocked ||
						b.CreditsFree != prev.CreditsFree || b.CreditsFrozen != prev.CreditsFrozen {
						fmt.Fprintf(w, "  epoch %-5d REP %s (locked %s)  credits %s free, %s frozen\n", b.Epoch,
							formatMicro(b.RepMicro), formatMicro(b.RepLocked), formatMicro(b.CreditsFree), formatMicro(b.CreditsFrozen))
					}
					prev = b
				}
				fmt.Fprintf(w, "          %d message(s) without full effect in these epochs\n", len(res.NoEffect))
				for _, ne := range res.NoEffect {
					what := "no effect"
					if ne.Partial {
						what = "partial"
					}
					fmt.Fprintf(w, "  epoch %d seq %d %s (%s): %s\n", ne.Epoch, ne.Seq, ne.ID, what, ne.Reason)
				}
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().Uint64Var(&history, "history", 10, "show balances over, and messages without effect in, this many of the newest computed epochs")
	cmd.Flags().Lookup("json").Usage = "print the result as JSON (amounts in micro-units)"
	usageFlagErrors(cmd)
	return cmd
}
