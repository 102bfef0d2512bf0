package main

import (
	"fmt"
	"path/filepath"

	"github.com/guild-net/guild/identity"
	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create an expert's signing key",
		Long: `Create a new Ed25519 key and write it, in libp2p's protobuf form with mode 0600,
to the file given by --out. The key is your account: it signs your messages and is your
node's peer id. It is never overwritten; back it up, and never run two nodes with one key
(two nodes signing different messages with one key is equivocation, and burns all its REP).

Prints the account id (a libp2p peer id, 12D3KooW…) on standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := identity.Generate(nil)
			if err != nil {
				return err
			}
			if err := identity.Save(out, k); err != nil {
				return err
			}
			abs, _ := filepath.Abs(out)
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", abs)
			fmt.Fprintln(cmd.OutOrStdout(), k.Account())
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "guild.key", "key file to create")
	return cmd
}
