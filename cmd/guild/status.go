package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running node's network, epochs, state root and peers",
		Long: `Ask the running node (its local API) how it is doing:

  epoch      the epoch its clock is in; computed: the newest epoch it has computed
             (epochs are computed once end(k)+grace has passed), with whether it was
             live (a witness quorum checkpointed) and whether it is settled here
  settled    the newest settled epoch: its state root can no longer change at this node
             unless witnesses misbehave
  root       the state root after the newest computed epoch
  witness    whether this node's account signs checkpoints now
  alarms     conditions that need an operator (state-root divergence on a settled
             epoch, a second signer using this node's key)

--json prints the API's full answer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			s, err := c.Status(cmd.Context())
			if err != nil {
				return f.clientError(err)
			}
			if f.asJSON {
				return printJSON(cmd, s)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "network   %s (%s)\naccount   %s\n", s.Name, s.Network[:16], s.Account)
			computed, settled := "none yet", "none yet"
			if s.Computed != nil {
				computed = fmt.Sprintf("%d (live %s, settled %s)", *s.Computed, yesNo(s.Live), yesNo(s.Settled))
			}
			if s.SettledEpoch != nil {
				settled = fmt.Sprint(*s.SettledEpoch)
			}
			fmt.Fprintf(w, "epoch     %d, computed %s\nsettled   %s\nlive      %d epochs\n", s.Epoch, computed, settled, s.LiveEpochs)
			if s.StateRoot != "" {
				fmt.Fprintf(w, "root      %s\n", s.StateRoot)
			}
			cp := "none"
			if s.LastCheckpoint != nil {
				cp = fmt.Sprint(*s.LastCheckpoint)
			}
			fmt.Fprintf(w, "witness   %s (last checkpoint: epoch %s; clock offset %d ms, %s)\n", yesNo(s.Witness), cp, s.Clock.OffsetMs, s.Clock.Reason)
			fmt.Fprintf(w, "own chain seq %d\nmessages  %d held, %d orphans, %d deferred, %d unadmitted, %d invalid, %d authors, %d forked\n",
				s.OwnSeq, s.Messages.Held, s.Messages.Orphans, s.Messages.Deferred, s.Messages.Unadmitted, s.Messages.Invalid, s.Messages.Authors, s.Messages.Forks)
			fmt.Fprintf(w, "peers     %d\n", s.Peers)
			for _, a := range s.Addrs {
				fmt.Fprintf(w, "listen    %s\n", a)
			}
			if len(s.Alarms) > 0 {
				fmt.Fprintf(w, "ALARMS\n  %s\n", strings.Join(s.Alarms, "\n  "))
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
