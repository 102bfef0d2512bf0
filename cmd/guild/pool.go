package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/msg"
)

func newPoolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Open validation pools, vote in them, look at them",
		Long: `A validation pool asks the REP holders whether a post is worth its fee (SPEC §7.3).
The opener escrows a fee in credits; REP holders stake REP FOR or AGAINST during the
pool's window of live epochs; at the close the losing side forfeits part of its stakes
to the winners, new REP is minted for the post (and its citations) when the pool
passes, and the fee is paid out as salary to every REP holder.`,
	}
	usageFlagErrors(cmd)
	cmd.AddCommand(newPoolOpenCmd(), newPoolVoteCmd(), newPoolShowCmd())
	return cmd
}

// poolOpenResult is the --json output of `guild pool open`.
type poolOpenResult struct {
	published
	// Pool is the pool id, which is the id of the POOL_OPEN message.
	Pool       string `json:"pool,omitempty"`
	Post       string `json:"post"`
	FeeMicro   uint64 `json:"fee_micro"`
	Epochs     uint64 `json:"epochs"`
	Governance bool   `json:"governance"`
}

func newPoolOpenCmd() *cobra.Command {
	var (
		f          publishFlags
		fee        string
		epochs     uint64
		governance bool
	)
	cmd := &cobra.Command{
		Use:   "open POST --fee CREDITS --epochs N [--governance]",
		Short: "Open a validation pool on a post, paying its fee in credits",
		Long: `Open a validation pool on POST (its 64-hex-digit id), signed by the running node's
account, which pays the fee.

  --fee CREDITS   the fee in credits, up to six decimals (1 credit = 1,000,000
                  µcredits); at least min_fee, and the node's free credits must cover
                  it all. It is escrowed when the pool opens; at the close it goes to
                  the salary of all REP holders (and worker_share_ppm of it to the
                  post's authors on a pass), or back to you if the quorum is not met.
                  The fee also sets how much REP a passing pool mints (mint_ratio_ppm).
  --epochs N      the voting window in live epochs, pool_duration_min…max. Votes count
                  from the batch after the one the pool lands in; it resolves N live
                  epochs after that batch.
  --governance    a governance pool: POST must carry a parameter diff (see 'guild
                  params propose'); if it passes the diff takes effect
                  activation_delay live epochs after the close. Governance pools
                  use quorum_gov_ppm and win_gov_num/den and never pass by the
                  genesis rule.

The pool id is the id of this message. The CLI first asks the node whether the pool
would open (post exists, fee and credits, window bounds, diff) and refuses with the
node's reason when not (--force publishes anyway, --dry-run only asks). 'guild params'
shows min_fee and the window bounds.`,
		Example: `  guild pool open 5f2e…c0 --fee 10 --epochs 3
  guild pool open 9a41…07 --fee 0.5 --epochs 10 --governance --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			post, err := msg.ParseID(args[0])
			if err != nil {
				return usageError{fmt.Errorf("%q is not a post id (64 hex digits)", args[0])}
			}
			if !cmd.Flags().Changed("fee") || !cmd.Flags().Changed("epochs") {
				return usageError{errors.New("--fee CREDITS and --epochs N are required")}
			}
			feeMicro, err := parseMicro(fee)
			if err != nil {
				return usageError{fmt.Errorf("--fee: %w", err)}
			}
			if feeMicro == 0 {
				return usageError{errors.New("--fee must be above 0")}
			}
			if epochs == 0 {
				return usageError{errors.New("--epochs must be at least 1")}
			}
			ns, err := f.session(cmd.Context())
			if err != nil {
				return err
			}
			p := &msg.PoolOpen{Post: post, Fee: feeMicro, Duration: epochs, PoolKind: msg.PoolExecutive}
			if governance {
				p.PoolKind = msg.PoolGovernance
			}
			pub, err := f.checkedPublish(cmd, ns, p, nil)
			if err != nil {
				return err
			}
			res := poolOpenResult{published: pub, Pool: pub.ID, Post: post.String(), FeeMicro: feeMicro, Epochs: epochs, Governance: governance}
			if f.asJSON {
				return printJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			if res.DryRun {
				fmt.Fprintln(w, res.describe())
				return nil
			}
			kind := "executive"
			if governance {
				kind = "governance"
			}
			fmt.Fprintf(w, "pool %s\n  %s pool on post %s, fee %s credits, window %d live epochs\n  %s\n",
				res.Pool, kind, res.Post, formatMicro(feeMicro), epochs, res.describe())
			fmt.Fprintf(w, "Votes count from the batch after the one it lands in:\n  guild pool vote %s --for --stake REP\n", res.Pool)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&fee, "fee", "", "fee in credits (up to 6 decimals), required")
	cmd.Flags().Uint64Var(&epochs, "epochs", 0, "voting window in live epochs, required")
	cmd.Flags().BoolVar(&governance, "governance", false, "open a governance pool (the post must carry a params diff)")
	return cmd
}

// voteResult is the --json output of `guild pool vote`.
type voteResult struct {
	published
	Pool       string `json:"pool"`
	Side       string `json:"side"`
	StakeMicro uint64 `json:"stake_micro"`
	// FreeMicro is the voter's free REP when the vote was checked: the vote locks
	// min(stake, free REP) when it is applied.
	FreeMicro uint64 `json:"free_rep_micro"`
}

func newPoolVoteCmd() *cobra.Command {
	var (
		f         publishFlags
		forS, agS bool
		stake     string
	)
	cmd := &cobra.Command{
		Use:   "vote POOL (--for|--against) --stake REP",
		Short: "Stake REP for or against a pool's post",
		Long: `Vote in pool POOL (its 64-hex-digit id) with the running node's account, staking
REP on one side.

  --for / --against   the side
  --stake REP         REP to stake, up to six decimals (1 REP = 1,000,000 µREP). The
                      vote locks min(stake, free REP) until the pool resolves; when
                      the pool closes the losing side forfeits binding_exec_ppm (or
                      binding_gov_ppm) of its stakes to the winners.

Only the first effective vote of an account in a pool counts; a vote in the pool's
own opening batch, a vote by the post's signer, and a vote with no free REP have no
effect, and the CLI refuses them with the node's reason before signing (--force
publishes anyway, --dry-run only asks). Co-authors other than the signer may vote.`,
		Example: `  guild pool vote 7c0d…a1 --for --stake 2.5
  guild pool vote 7c0d…a1 --against --stake 10 --json`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pool, err := msg.ParseID(args[0])
			if err != nil {
				return usageError{fmt.Errorf("%q is not a pool id (64 hex digits)", args[0])}
			}
			if forS == agS {
				return usageError{errors.New("choose one side: --for or --against")}
			}
			if !cmd.Flags().Changed("stake") {
				return usageError{errors.New("--stake REP is required")}
			}
			st, err := parseMicro(stake)
			if err != nil {
				return usageError{fmt.Errorf("--stake: %w", err)}
			}
			if st == 0 {
				return usageError{errors.New("--stake must be above 0")}
			}
			ns, err := f.session(cmd.Context())
			if err != nil {
				return err
			}
			side, sideName := uint64(msg.SideAgainst), "against"
			if forS {
				side, sideName = msg.SideFor, "for"
			}
			acc, err := ns.c.Account(cmd.Context(), ns.self)
			if err != nil {
				return f.clientError(err)
			}
			free := acc.RepMicro - min(acc.RepLocked, acc.RepMicro)
			if st > free && free > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the stake is above the account's free REP (%s): the vote will lock %s at most\n", formatMicro(free), formatMicro(free))
			}
			pub, err := f.checkedPublish(cmd, ns, &msg.Vote{Pool: pool, Side: side, Stake: st}, nil)
			if err != nil {
				return err
			}
			res := voteResult{published: pub, Pool: pool.String(), Side: sideName, StakeMicro: st, FreeMicro: free}
			if f.asJSON {
				return printJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			if res.DryRun {
				fmt.Fprintln(w, res.describe())
				return nil
			}
			fmt.Fprintf(w, "vote %s\n  %s REP %s pool %s\n  %s\n", res.ID, formatMicro(min(st, free)), sideName, res.Pool, res.describe())
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&forS, "for", false, "stake for the post")
	cmd.Flags().BoolVar(&agS, "against", false, "stake against the post")
	cmd.Flags().StringVar(&stake, "stake", "", "REP to stake (up to 6 decimals), required")
	return cmd
}

func newPoolShowCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "show POOL",
		Short: "Show an open pool: its post, fee, window and votes",
		Long: `Show pool POOL as the node's newest computed state has it: kind, post, opener, fee,
the batch it opened in, the live epoch it closes at, and every vote (stakes in REP).
A pool is listed from the epoch its opening lands in until it resolves; a resolved
pool is not shown. --json prints the API's answer (amounts in micro-units).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := msg.ParseID(args[0])
			if err != nil {
				return usageError{fmt.Errorf("%q is not a pool id (64 hex digits)", args[0])}
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			p, err := c.Pool(cmd.Context(), id)
			if err != nil {
				return f.clientError(err)
			}
			if f.asJSON {
				return printJSON(cmd, p)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "pool      %s (%s)\npost      %s\nopener    %s\nfee       %s credits\nopened    batch %d\ncloses    at live epoch %d\n",
				p.ID, p.Kind, p.Post, p.Opener, formatMicro(p.FeeMicro), p.OpenBatch, p.CloseLive)
			if len(p.Votes) == 0 {
				fmt.Fprintln(w, "votes     none yet")
				return nil
			}
			var forT, agT uint64
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "VOTER\tSIDE\tREP")
			for _, v := range p.Votes {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Voter, v.Side, formatMicro(v.Stake))
				if v.Side == "for" {
					forT += v.Stake
				} else {
					agT += v.Stake
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "total     %s REP for, %s REP against (seeds not included)\n", formatMicro(forT), formatMicro(agT))
			return nil
		},
	}
	f.register(cmd)
	usageFlagErrors(cmd)
	return cmd
}
