package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newPeersCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List the running node's connected peers with their gossip scores",
		Long: `List the peers the running node is connected to, with gossipsub's score of each
(refreshed every second; negative means the peer sent invalid data or misbehaved,
below -80 it is ignored) and its addresses. --json prints the API's answer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			ps, err := c.Peers(cmd.Context())
			if err != nil {
				return f.clientError(err)
			}
			if f.asJSON {
				return printJSON(cmd, ps)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tSCORE\tADDRESS")
			for _, p := range ps {
				score := "-"
				if p.Score != nil {
					score = fmt.Sprintf("%.2f", *p.Score)
				}
				addr := ""
				if len(p.Addrs) > 0 {
					addr = p.Addrs[0]
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.ID, score, addr)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(ps) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no peers connected (check bootstrap peers in config.json, or mDNS on the LAN)")
			}
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
