package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/api"
)

// More of the data directory layout (log.go has genesis.json and store).
const (
	dataKeyFile    = "key"
	dataConfigFile = "config.json"
	defaultAPIAddr = "127.0.0.1:7420"
	defaultP2PPort = "4001"
)

// nodeConfig is DIR/config.json, written by `guild init`, read by `guild node` and
// the client commands. Flags override it.
type nodeConfig struct {
	// Listen are libp2p multiaddrs (TCP and QUIC).
	Listen []string `json:"listen"`
	// Bootstrap are peers to dial at start and keep connected
	// ("/ip4/…/tcp/4001/p2p/12D3KooW…").
	Bootstrap []string `json:"bootstrap"`
	// API is the local HTTP API address; loopback only.
	API  string `json:"api"`
	MDNS bool   `json:"mdns"`
	DHT  bool   `json:"dht"`
}

func defaultNodeConfig() nodeConfig {
	return nodeConfig{
		Listen:    []string{"/ip4/0.0.0.0/tcp/" + defaultP2PPort, "/ip4/0.0.0.0/udp/" + defaultP2PPort + "/quic-v1"},
		Bootstrap: []string{},
		API:       defaultAPIAddr,
		MDNS:      true,
	}
}

// defaultDataDir is $GUILD_DIR, else ~/.guild.
func defaultDataDir() string {
	if d := os.Getenv("GUILD_DIR"); d != "" {
		return d
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".guild")
	}
	return ".guild"
}

func loadNodeConfig(dir string) (nodeConfig, bool, error) {
	c := defaultNodeConfig()
	b, err := os.ReadFile(filepath.Join(dir, dataConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, false, fmt.Errorf("%s: %w", filepath.Join(dir, dataConfigFile), err)
	}
	return c, true, nil
}

// clientFlags are the flags every client command shares.
type clientFlags struct {
	dir    string
	addr   string
	asJSON bool
}

func (f *clientFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "dir", defaultDataDir(), "node data directory (its config.json names the API address; env GUILD_DIR)")
	cmd.Flags().StringVar(&f.addr, "api", "", "node API address (default: from DIR/config.json, else "+defaultAPIAddr+")")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the API's JSON answer")
}

func (f *clientFlags) client() (*api.Client, error) {
	addr := f.addr
	if addr == "" {
		c, _, err := loadNodeConfig(f.dir)
		if err != nil {
			return nil, err
		}
		addr = c.API
	}
	return api.NewClient(addr), nil
}

// clientError turns API errors into one clear line.
func (f *clientFlags) clientError(err error) error {
	if errors.Is(err, api.ErrNotRunning) {
		return fmt.Errorf("%v: is the node running? start it with `guild node --dir %s`", err, f.dir)
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return fmt.Errorf("node says %s: %s", ae.Code, ae.Message)
	}
	return err
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
