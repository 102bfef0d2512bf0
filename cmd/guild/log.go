package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/ingest"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/store"
	"github.com/spf13/cobra"
)

func newLogCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Look into a node's stored message log",
	}
	cmd.AddCommand(newLogInspectCmd())
	return cmd
}

// Data directory layout shared by every command that opens one.
const (
	dataGenesisFile = "genesis.json"
	dataStoreDir    = "store"
)

type inspectAuthor struct {
	Account  string   `json:"account"`
	Heads    []uint64 `json:"head_seqs"`
	ForkSeqs []uint64 `json:"fork_seqs,omitempty"`
}

type inspectEpoch struct {
	Epoch     uint64 `json:"epoch"`
	Batch     int    `json:"batch"`
	Live      bool   `json:"live"`
	Settled   bool   `json:"settled"`
	Forks     int    `json:"forks,omitempty"`
	StateRoot string `json:"state_root"`
}

type inspectReport struct {
	Network   string          `json:"network"`
	Messages  int             `json:"messages"`
	Held      int             `json:"held"`
	Invalid   int             `json:"invalid"`
	Orphans   int             `json:"orphans"`
	Authors   []inspectAuthor `json:"authors"`
	Epochs    []inspectEpoch  `json:"epochs"`
	LiveCount uint64          `json:"live_epochs"`
}

func newLogInspectCmd() *cobra.Command {
	var (
		genesisPath string
		asJSON      bool
		showAuthors bool
	)
	cmd := &cobra.Command{
		Use:   "inspect DIR",
		Short: "Rebuild state from a data directory's log and report authors, epochs and state roots",
		Long: `Open the store in DIR (read-only use; stop the node first, pebble allows one
process), rebuild the ledger from every stored message exactly as a node does at start-up,
and report:

  - the authors with their branch heads (more than one head, or fork seqs, means the
    author equivocated),
  - every epoch up to the current one: batch size, whether it was live, whether it is
    settled at this node, and the state root after it.

The genesis is read from DIR/genesis.json unless --genesis is given. Epochs are computed
up to the current one, or to two past the last checkpoint held if that is earlier.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if genesisPath == "" {
				genesisPath = filepath.Join(dir, dataGenesisFile)
			}
			g, err := genesis.Load(genesisPath)
			if err != nil {
				return err
			}
			storeDir := filepath.Join(dir, dataStoreDir)
			if _, err := os.Stat(storeDir); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: no store here (want %s)", dir, storeDir)
			}
			st, err := store.Open(storeDir)
			if err != nil {
				return err
			}
			defer st.Close()
			p, err := ingest.New(st, g, ledger.Options{})
			if err != nil {
				return err
			}
			now := time.Now().UnixMilli()
			progress := func(done, total int) {
				fmt.Fprintf(cmd.ErrOrStderr(), "\rloading %d/%d messages", done, total)
			}
			n, err := p.Load(now, progress)
			if n >= 10000 {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			if err != nil {
				return err
			}
			l := p.Ledger()
			cur := l.Config().EpochOf(uint64(now))
			if uint64(now) < g.GenesisTsMs {
				cur = 0
			}
			// Past the last checkpoint every batch is empty and no epoch is live: a
			// network stopped long ago is reported up to just after its last checkpoint.
			if last, ok := l.LastCheckpointEpoch(); ok {
				cur = min(cur, last+2)
			} else {
				cur = 0
			}
			if err := l.Advance(cur); err != nil {
				return err
			}
			rep := buildReport(l, n)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printReport(cmd, rep, showAuthors)
			return nil
		},
	}
	cmd.Flags().StringVar(&genesisPath, "genesis", "", "genesis file (default DIR/genesis.json)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&showAuthors, "authors", false, "list every author with its heads")
	return cmd
}

func buildReport(l *ledger.Ledger, n int) inspectReport {
	d := l.DAG()
	stats := d.Stats()
	rep := inspectReport{Network: l.Genesis().NetworkID().String(), Messages: n, Held: stats.Held,
		Invalid: stats.Invalid, Orphans: stats.Orphans, Authors: []inspectAuthor{}, Epochs: []inspectEpoch{},
		LiveCount: l.Latest().LiveEpochs()}
	for _, a := range d.Authors() {
		ia := inspectAuthor{Account: a.String()}
		for _, h := range d.Heads(a) {
			ia.Heads = append(ia.Heads, h.Seq())
		}
		for _, f := range d.ForksOf(a) {
			ia.ForkSeqs = append(ia.ForkSeqs, f.Seq)
		}
		rep.Authors = append(rep.Authors, ia)
	}
	for k := 0; k < l.Epochs(); k++ {
		r, _ := l.Epoch(uint64(k))
		rep.Epochs = append(rep.Epochs, inspectEpoch{Epoch: r.Epoch, Batch: len(r.Batch.IDs), Live: r.Batch.Live,
			Settled: r.Settled, Forks: len(r.Batch.Forks), StateRoot: r.Root().String()})
	}
	return rep
}

func printReport(cmd *cobra.Command, rep inspectReport, showAuthors bool) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "network   %s\nmessages  %d stored, %d held, %d structurally invalid, %d orphans\nauthors   %d\nlive      %d epochs\n\n",
		rep.Network, rep.Messages, rep.Held, rep.Invalid, rep.Orphans, len(rep.Authors), rep.LiveCount)
	if showAuthors {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AUTHOR\tHEAD SEQS\tFORKS AT")
		for _, a := range rep.Authors {
			fmt.Fprintf(tw, "%s\t%v\t%v\n", a.Account, a.Heads, a.ForkSeqs)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EPOCH\tBATCH\tLIVE\tSETTLED\tFORKS\tSTATE ROOT")
	for _, e := range rep.Epochs {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\t%s\n", e.Epoch, e.Batch, yesNo(e.Live), yesNo(e.Settled), e.Forks, e.StateRoot)
	}
	tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
