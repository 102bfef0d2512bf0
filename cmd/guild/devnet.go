package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/p2p"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

type devnetOpts struct {
	nodes    int
	dir      string
	epochs   uint64
	epochMs  uint64
	graceMs  uint64
	apiBase  int
	verbose  bool
	keepData bool
}

func newDevnetCmd() *cobra.Command {
	var o devnetOpts
	cmd := &cobra.Command{
		Use:   "devnet",
		Short: "Run a local multi-node network on 127.0.0.1 and watch it work",
		Long: `Start several Guild nodes in this process, each with its own key, pebble store and
libp2p host on 127.0.0.1, all witnesses of a fresh genesis (2 s epochs, 0.4 s grace,
every other parameter at its default). A small workload drives the forum and the
validation pools: nodes post, open pools on earlier posts with a fee, and vote on
them. Once a second the devnet prints, per epoch: whether it was live, how many
nodes consider it settled, whether all nodes computed the same state root, and the
REP and credits of each node.

Each node also serves the HTTP API on 127.0.0.1 (ports from --api-base), so in
another terminal:

  guild status --api 127.0.0.1:7430
  guild rep    --api 127.0.0.1:7431

Stops on Ctrl-C, or after --epochs epochs. The data lives in --dir (a temporary
directory, removed at exit, unless --dir is given or --keep is set).

Not yet here: WebAssembly work requests and committees (the marketplace); the
devnet exercises the signed log, epochs, forum, pools, reputation and fees.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDevnet(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.nodes, "nodes", 4, "number of nodes (each one a witness)")
	fl.StringVar(&o.dir, "dir", "", "data directory (default: a temporary one)")
	fl.Uint64Var(&o.epochs, "epochs", 0, "stop after this many epochs (0: run until Ctrl-C)")
	fl.Uint64Var(&o.epochMs, "epoch-ms", 2000, "epoch length in milliseconds")
	fl.Uint64Var(&o.graceMs, "grace-ms", 400, "grace after an epoch's end before witnesses checkpoint it")
	fl.IntVar(&o.apiBase, "api-base", 7430, "API port of node 0; node i listens on api-base+i (0: any free port)")
	fl.BoolVarP(&o.verbose, "verbose", "v", false, "show the nodes' logs")
	fl.BoolVar(&o.keepData, "keep", false, "keep the temporary data directory")
	return cmd
}

type devnode struct {
	i    int
	key  identity.Key
	st   *store.Store
	n    *node.Node
	srv  *api.Server
	addr string // API address
}

func runDevnet(ctx context.Context, out, errw io.Writer, o devnetOpts) (err error) {
	if o.nodes < 1 || o.nodes > 32 {
		return usageError{fmt.Errorf("--nodes %d: want 1–32", o.nodes)}
	}
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "guild-devnet-"); err != nil {
			return err
		}
		if !o.keepData {
			defer os.RemoveAll(dir)
		}
	}
	logw := io.Discard
	if o.verbose {
		logw = errw
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelInfo}))

	keys := make([]identity.Key, o.nodes)
	for i := range keys {
		path := filepath.Join(dir, fmt.Sprintf("node-%d", i), dataKeyFile)
		if keys[i], err = identity.Load(path); err != nil {
			if keys[i], err = identity.Generate(nil); err != nil {
				return err
			}
			if err := identity.Save(path, keys[i]); err != nil {
				return err
			}
		}
	}
	g, err := devnetGenesis(dir, keys, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "devnet %s: %d nodes, network %s, data in %s\n", g.Name, o.nodes, g.NetworkID().Short(), dir)

	nodes := make([]*devnode, 0, o.nodes)
	defer func() {
		for _, d := range nodes {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = d.srv.Shutdown(sctx)
			cancel()
			err = errors.Join(err, d.n.Close(), d.st.Close())
		}
	}()
	var bootstrap []string
	for i, k := range keys {
		d := &devnode{i: i, key: k}
		if d.st, err = store.Open(filepath.Join(dir, fmt.Sprintf("node-%d", i), dataStoreDir), store.WithLogger(log)); err != nil {
			return err
		}
		opts := []p2p.Option{p2p.WithListenAddrs("/ip4/127.0.0.1/tcp/0"), p2p.WithMDNS(false), p2p.WithLogger(log),
			p2p.WithBootstrapAddrs(bootstrap...), p2p.WithEnvelopeMax(int(g.Params.Get(params.EnvelopeMaxBytes)))}
		reg := prometheus.NewRegistry()
		if d.n, err = node.New(node.Config{Genesis: g, Key: k, Store: d.st, Transport: node.Libp2p(k, opts...),
			Logger: log.With("node", i), Registerer: reg}); err != nil {
			d.st.Close()
			return err
		}
		if err = d.n.Start(ctx); err != nil {
			d.st.Close()
			return err
		}
		apiAddr := "127.0.0.1:0"
		if o.apiBase > 0 {
			apiAddr = fmt.Sprintf("127.0.0.1:%d", o.apiBase+i)
		}
		l, lerr := api.Listen(apiAddr)
		if lerr != nil {
			d.n.Close()
			d.st.Close()
			return fmt.Errorf("node %d API: %w (choose other ports with --api-base)", i, lerr)
		}
		d.addr = l.Addr().String()
		d.srv = api.NewServer(d.n, reg, log)
		go func() { _ = d.srv.Serve(l) }()
		nodes = append(nodes, d)
		if i == 0 {
			bootstrap = d.n.Transport().Addrs()
		}
		fmt.Fprintf(out, "  node %d  %s  api %s\n", i, k.Account(), d.addr)
	}
	fmt.Fprintf(out, "epoch 0 starts %s; epochs of %v, checkpoints %v after each\n\n",
		time.UnixMilli(int64(g.GenesisTsMs)).Format("15:04:05.000"), time.Duration(g.EpochMs())*time.Millisecond, time.Duration(g.GraceMs())*time.Millisecond)
	return devnetLoop(ctx, out, g, nodes, o)
}

// devnetGenesis reuses DIR/genesis.json, or writes a fresh one starting now.
func devnetGenesis(dir string, keys []identity.Key, o devnetOpts) (*genesis.Genesis, error) {
	path := filepath.Join(dir, dataGenesisFile)
	if g, err := genesis.Load(path); err == nil {
		return g, nil
	}
	start := (time.Now().UnixMilli()/1000 + 2) * 1000
	f := &genesis.File{Name: "devnet", GenesisTsMs: uint64(start), EpochMs: o.epochMs, GraceMs: o.graceMs,
		Params: map[string]uint64{"sigma_max_ms": min(200, o.epochMs/8)}}
	for i, k := range keys {
		f.Allocations = append(f.Allocations, genesis.FileAllocation{Account: k.Account().String(),
			RepMicro: uint64(10+i) * 1_000_000, CreditsMicro: 100_000_000})
		f.Witnesses = append(f.Witnesses, k.Account().String())
	}
	f.Gateways = []string{keys[0].Account().String()}
	g, err := genesis.FromFile(f)
	if err != nil {
		return nil, err
	}
	b, err := g.JSON()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return nil, err
	}
	return g, nil
}

// devnetLoop drives the workload once per epoch and reports each settled epoch.
func devnetLoop(ctx context.Context, out io.Writer, g *genesis.Genesis, nodes []*devnode, o devnetOpts) error {
	e := time.Duration(g.EpochMs()) * time.Millisecond
	var posts []msg.ID // posts old enough to open pools on
	var fresh []msg.ID // posts of the last epoch
	var pools []msg.ID // pools open for votes
	reported := int64(-1)
	var lastAct uint64
	tick := time.NewTicker(e / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\nstopping")
			return nil
		case <-tick.C:
		}
		now := uint64(time.Now().UnixMilli())
		if now < g.GenesisTsMs {
			continue
		}
		k := (now - g.GenesisTsMs) / g.EpochMs()
		if k != lastAct {
			lastAct = k
			posts, fresh, pools = devnetAct(ctx, out, nodes, k, posts, fresh, pools)
		}
		// Report every epoch all nodes have computed.
		for {
			next := uint64(reported + 1)
			line, ok := devnetReport(ctx, nodes, next, k)
			if !ok {
				break
			}
			fmt.Fprintln(out, line)
			reported++
			if o.epochs > 0 && next+1 >= o.epochs {
				return nil
			}
		}
	}
}

// devnetAct is one epoch of workload: a post from one node, a pool on an older post
// every third epoch, and votes on the pools opened last time.
func devnetAct(ctx context.Context, out io.Writer, nodes []*devnode, k uint64, posts, fresh, pools []msg.ID) ([]msg.ID, []msg.ID, []msg.ID) {
	posts = append(posts, fresh...)
	fresh = nil
	author := nodes[int(k)%len(nodes)]
	if id, err := devnetPublish(ctx, author, &msg.Post{Title: fmt.Sprintf("note %d", k),
		Text: fmt.Sprintf("Epoch %d: %s reports in.", k, author.key.Account()), Authors: []msg.AuthorShare{{Account: author.key.Account(), PPM: msg.PPM}}}); err == nil {
		fresh = append(fresh, id)
	} else {
		fmt.Fprintf(out, "  node %d: post: %v\n", author.i, err)
	}
	// Votes on the pools opened in the previous round, then a new pool.
	for vi, pool := range pools {
		for _, d := range nodes {
			side := uint64(msg.SideFor)
			if (d.i+vi)%3 == 2 {
				side = msg.SideAgainst
			}
			_, _ = devnetPublish(ctx, d, &msg.Vote{Pool: pool, Side: side, Stake: 3_000_000})
		}
	}
	pools = nil
	if k%3 == 0 && len(posts) > 0 {
		opener := nodes[int(k/3)%len(nodes)]
		target := posts[len(posts)-1]
		if id, err := devnetPublish(ctx, opener, &msg.PoolOpen{Post: target, Fee: 2_000_000, Duration: 2, PoolKind: msg.PoolExecutive}); err == nil {
			pools = append(pools, id)
		}
	}
	return posts, fresh, pools
}

func devnetPublish(ctx context.Context, d *devnode, p msg.Payload) (msg.ID, error) {
	b, err := msg.EncodePayload(p)
	if err != nil {
		return msg.ID{}, err
	}
	r, err := d.n.Publish(ctx, api.Publish{Kind: uint64(p.Kind()), Payload: b})
	if err != nil {
		return msg.ID{}, err
	}
	return msg.ParseID(r.ID)
}

// devnetReport gives the line of epoch k once every node has settled it (or, for a
// node that lags, once the network is three epochs further). Roots are compared only
// among nodes that consider the epoch settled: an unsettled root is provisional.
func devnetReport(ctx context.Context, nodes []*devnode, k, current uint64) (string, bool) {
	var roots []string
	settled, live, batch := 0, false, 0
	for _, d := range nodes {
		ep, err := d.n.Epoch(ctx, k)
		if err != nil {
			return "", false
		}
		if ep.Settled {
			settled++
			roots = append(roots, ep.StateRoot)
		}
		live = live || ep.Live
		batch = max(batch, ep.Batch)
	}
	if settled < len(nodes) && (settled == 0 || current < k+3) {
		return "", false
	}
	agree := "roots agree"
	for _, r := range roots[1:] {
		if r != roots[0] {
			agree = "ROOTS DIFFER"
		}
	}
	var bal []string
	for _, d := range nodes {
		a, err := d.n.Account(ctx, d.key.Account())
		if err != nil {
			continue
		}
		bal = append(bal, fmt.Sprintf("n%d %s REP/%s cr", d.i, formatMicro(a.RepMicro), formatMicro(a.CreditsFree)))
	}
	liveS := "not live"
	if live {
		liveS = "live"
	}
	return fmt.Sprintf("epoch %3d  %-8s  batch %3d  settled %d/%d  %s %s  now: %s", k, liveS, batch, settled, len(nodes),
		agree, short(roots[0]), strings.Join(bal, "  ")), true
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
