package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
)

func newInitCmd() *cobra.Command {
	var (
		dir, genesisPath, keyPath, apiAddr string
		listen, bootstrap                  []string
	)
	cmd := &cobra.Command{
		Use:   "init --genesis FILE [--dir DIR] [--key FILE]",
		Short: "Create a node's data directory: genesis, key and config",
		Long: `Create the data directory DIR (default $GUILD_DIR or ~/.guild) for one node:

  DIR/genesis.json   a copy of the network's genesis (--genesis, required)
  DIR/key            the node's signing key, mode 0600: imported from --key FILE,
                     or newly generated. It is the node's account and peer id.
  DIR/config.json    listen addresses, bootstrap peers, API address (edit freely)
  DIR/store/         created by the node on first start

It refuses to touch a directory that already holds any of these files: an existing
key is an account, and an existing store may hold messages already signed with it.

Never give two nodes the same key, and never copy a data directory to start a second
node: two nodes signing with one key fork its chain, which is equivocation and burns
all of the account's REP (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if genesisPath == "" {
				return usageError{errors.New("--genesis FILE is required (the network's genesis.json)")}
			}
			raw, err := os.ReadFile(genesisPath)
			if err != nil {
				return fmt.Errorf("read genesis: %w", err)
			}
			g, err := genesis.Parse(raw)
			if err != nil {
				return fmt.Errorf("genesis %s: %w", genesisPath, err)
			}
			for _, name := range []string{dataGenesisFile, dataKeyFile, dataConfigFile, dataStoreDir} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					return fmt.Errorf("%s already exists: refusing to overwrite an initialised data directory", filepath.Join(dir, name))
				} else if !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			var k identity.Key
			if keyPath != "" {
				if k, err = identity.Load(keyPath); err != nil {
					return err
				}
			} else if k, err = identity.Generate(nil); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			if err := identity.Save(filepath.Join(dir, dataKeyFile), k); err != nil {
				return err
			}
			if err := writeNew(filepath.Join(dir, dataGenesisFile), raw, 0o644); err != nil {
				return err
			}
			c := defaultNodeConfig()
			if len(listen) > 0 {
				c.Listen = listen
			}
			if len(bootstrap) > 0 {
				c.Bootstrap = bootstrap
			}
			if apiAddr != "" {
				c.API = apiAddr
			}
			cb, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				return err
			}
			if err := writeNew(filepath.Join(dir, dataConfigFile), append(cb, '\n'), 0o644); err != nil {
				return err
			}
			abs, _ := filepath.Abs(dir)
			w := cmd.ErrOrStderr()
			fmt.Fprintf(w, "initialised %s for network %q (%s)\n", abs, g.Name, g.NetworkID().Short())
			fmt.Fprintf(w, "start the node with: guild node --dir %s\n", dir)
			fmt.Fprintln(cmd.OutOrStdout(), k.Account())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDataDir(), "data directory to create (env GUILD_DIR)")
	cmd.Flags().StringVar(&genesisPath, "genesis", "", "the network's genesis.json (required)")
	cmd.Flags().StringVar(&keyPath, "key", "", "import this key FILE (made by guild keygen) instead of generating one")
	cmd.Flags().StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddrs (default TCP and QUIC on port "+defaultP2PPort+")")
	cmd.Flags().StringSliceVar(&bootstrap, "bootstrap", nil, "bootstrap peers, /ip4/…/tcp/…/p2p/12D3KooW…")
	cmd.Flags().StringVar(&apiAddr, "api", "", "local API address (default "+defaultAPIAddr+"; loopback only)")
	return cmd
}

// writeNew writes a file that must not exist yet, synced.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
