package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/p2p"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/store"
)

func newNodeCmd() *cobra.Command {
	var (
		dir, apiAddr, logLevel string
		listen, bootstrap      []string
		dht, noMDNS            bool
	)
	cmd := &cobra.Command{
		Use:   "node [--dir DIR]",
		Short: "Run a peer node until interrupted",
		Long: `Run the node of data directory DIR (created by ` + "`guild init`" + `): it replays its
store, joins the network (libp2p TCP and QUIC on the listen addresses, bootstrap peers,
mDNS on the LAN, optionally the DHT), keeps its log in sync, computes epochs and state,
signs its witness checkpoints when its account is a witness, and serves the local API
(` + "`guild status`" + `, ` + "`guild peers`" + ` and the other client commands talk to it).

Flags override DIR/config.json for this run. Logs go to standard error.

SIGINT or SIGTERM stops it gracefully: the API stops, the network stops, pending
writes are flushed, the store is closed. A restart resumes from the store. Never run
two nodes with one key and never restore an old copy of DIR/store: docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
			c, found, err := loadNodeConfig(dir)
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("%s has no %s: create the data directory with `guild init --genesis FILE --dir %s`", dir, dataConfigFile, dir)
			}
			if cmd.Flags().Changed("listen") {
				c.Listen = listen
			}
			if cmd.Flags().Changed("bootstrap") {
				c.Bootstrap = bootstrap
			}
			if apiAddr != "" {
				c.API = apiAddr
			}
			if dht {
				c.DHT = true
			}
			if noMDNS {
				c.MDNS = false
			}
			return runNode(cmd.Context(), dir, c, log)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultDataDir(), "data directory (env GUILD_DIR)")
	cmd.Flags().StringSliceVar(&listen, "listen", nil, "libp2p listen multiaddrs, e.g. /ip4/0.0.0.0/tcp/4001,/ip4/0.0.0.0/udp/4001/quic-v1")
	cmd.Flags().StringSliceVar(&bootstrap, "bootstrap", nil, "bootstrap peers, /ip4/…/tcp/…/p2p/12D3KooW…")
	cmd.Flags().StringVar(&apiAddr, "api", "", "local API address, loopback only (default from config, "+defaultAPIAddr+")")
	cmd.Flags().BoolVar(&dht, "dht", false, "join the Kademlia DHT for discovery")
	cmd.Flags().BoolVar(&noMDNS, "no-mdns", false, "turn LAN discovery (mDNS) off")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runNode(parent context.Context, dir string, c nodeConfig, log *slog.Logger) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, err := genesis.Load(filepath.Join(dir, dataGenesisFile))
	if err != nil {
		return err
	}
	k, err := identity.Load(filepath.Join(dir, dataKeyFile))
	if err != nil {
		return err
	}
	// Bind the API first: a second node on this data dir fails here, before it
	// touches the store or the network.
	l, err := api.Listen(c.API)
	if err != nil {
		return fmt.Errorf("%w (another node running? choose another port with --api)", err)
	}
	defer l.Close()
	storeDir := filepath.Join(dir, dataStoreDir)
	if _, err := os.Stat(storeDir); errors.Is(err, fs.ErrNotExist) {
		log.Info("creating store", "dir", storeDir)
	}
	st, err := store.Open(storeDir, store.WithLogger(log))
	if err != nil {
		return fmt.Errorf("open store (is another node using %s?): %w", storeDir, err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := []p2p.Option{p2p.WithListenAddrs(c.Listen...), p2p.WithBootstrapAddrs(c.Bootstrap...),
		p2p.WithMDNS(c.MDNS), p2p.WithDHT(c.DHT), p2p.WithMetrics(reg), p2p.WithLogger(log),
		p2p.WithEnvelopeMax(int(g.Params.Get(params.EnvelopeMaxBytes)))}
	n, err := node.New(node.Config{Genesis: g, Key: k, Store: st, Transport: node.Libp2p(k, opts...), Logger: log, Registerer: reg})
	if err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	srv := api.NewServer(n, reg, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	addrs := []string{}
	if tr := n.Transport(); tr != nil {
		addrs = tr.Addrs()
	}
	log.Info("node running", "account", k.Account().String(), "network", g.Name, "api", c.API, "addrs", addrs)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-serveErr:
		log.Error("api server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if cerr := n.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := st.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}
