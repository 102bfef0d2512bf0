package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "guild:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks an error in how the command was called (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "guild",
		Short:         "Guild: a peer-to-peer network of experts paid to perform work",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Subcommands: one line each, one file each.
	root.AddCommand(
		newKeygenCmd(),
		newGenesisCmd(),
		newLogCmd(),
		newDevnetCmd(),
		newJobCmd(),
		newInitCmd(),
		newNodeCmd(),
		newStatusCmd(),
		newPeersCmd(),
		newPostCmd(),
		newPoolCmd(),
		newRepCmd(),
		newParamsCmd(),
	)
	return root
}
