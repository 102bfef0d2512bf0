package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/node"
	"github.com/guild-net/guild/store"
)

// Config describes a test network.
type Config struct {
	Nodes     int // total nodes
	Witnesses int // the first Witnesses nodes are the genesis witnesses (witnesses_n = Witnesses)
	Seed      uint64

	GenesisTsMs uint64 // default 1_700_000_000_000
	EpochMs     uint64 // default 1000
	GraceMs     uint64 // default 250
	SigmaMaxMs  uint64 // default EpochMs/8

	MinDelay, MaxDelay time.Duration // gossip link delays (default 5–60 ms)
	Quantum            time.Duration // delivery time granularity (default 5 ms)
	AntiEntropy        time.Duration // sync round period (default 250 ms)
	TickInterval       time.Duration // node tick (0: the node's default, epoch_ms/20)

	// Dir, when set, puts each node's store in Dir/node-<i> (pebble), closed on
	// Crash and reopened on Restart. Empty: in-memory stores that stay open across a
	// crash (the node is rebuilt from them all the same).
	Dir    string
	Logger *slog.Logger // nil: discard
}

// Member is one node of the network.
type Member struct {
	Index   int
	Key     identity.Key
	Account msg.Account
	Witness bool
	Store   *store.Store
	Node    *node.Node // nil while crashed
	clock   *NodeClock
}

// Net is a running test network.
type Net struct {
	Cfg     Config
	Sim     *Sim
	Network *Network
	Genesis *genesis.Genesis
	Gateway msg.Account // a genesis gateway no node runs: withdrawals name it
	Members []*Member
	log     *slog.Logger
}

func (c *Config) defaults() {
	if c.GenesisTsMs == 0 {
		c.GenesisTsMs = 1_700_000_000_000
	}
	if c.EpochMs == 0 {
		c.EpochMs = 1000
	}
	if c.GraceMs == 0 {
		c.GraceMs = 250
	}
	if c.SigmaMaxMs == 0 {
		c.SigmaMaxMs = c.EpochMs / 8
	}
	if c.MinDelay <= 0 {
		c.MinDelay = 5 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 60 * time.Millisecond
	}
}

func keyOf(seed uint64, i int) identity.Key {
	var s [32]byte
	copy(s[:], "guild-testnet")
	for b := 0; b < 8; b++ {
		s[16+b] = byte(seed >> (8 * b))
	}
	s[24], s[25], s[26] = byte(i), byte(i>>8), byte(i>>16)
	return identity.FromSeed(s)
}

// New builds the genesis and the stores, and starts every node at genesis time.
// Witnesses hold 1,000 REP each (so the REP-ranked witness set is exactly them);
// every node holds 1,000 credits, so all are admitted.
func New(ctx context.Context, cfg Config) (*Net, error) {
	cfg.defaults()
	if cfg.Nodes < 1 || cfg.Witnesses < 1 || cfg.Witnesses > cfg.Nodes {
		return nil, fmt.Errorf("testnet: need 1 ≤ witnesses (%d) ≤ nodes (%d)", cfg.Witnesses, cfg.Nodes)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	f := &genesis.File{Name: fmt.Sprintf("testnet-%d", cfg.Seed), GenesisTsMs: cfg.GenesisTsMs, EpochMs: cfg.EpochMs,
		GraceMs: cfg.GraceMs, Params: map[string]uint64{"sigma_max_ms": cfg.SigmaMaxMs,
			"witnesses_n": uint64(cfg.Witnesses), "witnesses_min": uint64(cfg.Witnesses)}}
	n := &Net{Cfg: cfg, log: log}
	for i := 0; i < cfg.Nodes; i++ {
		k := keyOf(cfg.Seed, i)
		m := &Member{Index: i, Key: k, Account: k.Account(), Witness: i < cfg.Witnesses}
		a := genesis.FileAllocation{Account: m.Account.String(), CreditsMicro: 1_000_000_000}
		if m.Witness {
			a.RepMicro = 1_000_000_000
			f.Witnesses = append(f.Witnesses, m.Account.String())
		}
		f.Allocations = append(f.Allocations, a)
		n.Members = append(n.Members, m)
	}
	n.Gateway = keyOf(cfg.Seed, 1<<20).Account()
	f.Gateways = []string{n.Gateway.String()}
	g, err := genesis.FromFile(f)
	if err != nil {
		return nil, fmt.Errorf("testnet: genesis: %w", err)
	}
	n.Genesis = g
	n.Sim = NewSim(int64(cfg.GenesisTsMs))
	accts := make([]msg.Account, len(n.Members))
	for i, m := range n.Members {
		accts[i] = m.Account
	}
	n.Network, err = NewNetwork(n.Sim, NetworkConfig{Seed: cfg.Seed, Network: g.NetworkID(), MinDelay: cfg.MinDelay,
		MaxDelay: cfg.MaxDelay, Quantum: cfg.Quantum, AntiEntropy: cfg.AntiEntropy}, accts)
	if err != nil {
		return nil, err
	}
	for _, m := range n.Members {
		if err := n.start(ctx, m); err != nil {
			_ = n.Close()
			return nil, err
		}
	}
	if err := n.Sim.Quiesce(); err != nil {
		_ = n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Net) storeOptions() []store.Option {
	// A short group-commit window keeps barriers short; durability is unchanged.
	return []store.Option{store.WithGroupCommit(time.Millisecond, 256), store.WithLogger(n.log), store.WithCacheSize(8 << 20)}
}

func (n *Net) openStore(m *Member) error {
	if m.Store != nil {
		return nil
	}
	if n.Cfg.Dir == "" {
		m.Store = store.OpenMemory(n.storeOptions()...)
		return nil
	}
	dir := filepath.Join(n.Cfg.Dir, fmt.Sprintf("node-%d", m.Index))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("testnet: %w", err)
	}
	s, err := store.Open(dir, n.storeOptions()...)
	if err != nil {
		return fmt.Errorf("testnet: node %d: %w", m.Index, err)
	}
	m.Store = s
	return nil
}

// start builds a node from the member's store and starts it.
func (n *Net) start(ctx context.Context, m *Member) error {
	if err := n.openStore(m); err != nil {
		return err
	}
	m.clock = n.Sim.Clock()
	nd, err := node.New(node.Config{Genesis: n.Genesis, Key: m.Key, Store: m.Store, Transport: n.Network.Factory(m.Index),
		Clock: m.clock, Logger: n.log.With("node", m.Index), TickInterval: n.Cfg.TickInterval})
	if err == nil {
		err = nd.Start(ctx)
	}
	if err != nil {
		m.clock.Detach()
		return fmt.Errorf("testnet: start node %d: %w", m.Index, err)
	}
	m.Node = nd
	return nil
}

// Up reports whether node i runs.
func (n *Net) Up(i int) bool { return n.Members[i].Node != nil }

// Crash stops node i (its store stays; with Dir it is closed).
func (n *Net) Crash(i int) error {
	m := n.Members[i]
	if m.Node == nil {
		return nil
	}
	if err := n.Sim.Quiesce(); err != nil {
		return err
	}
	err := m.Node.Close()
	m.Node = nil
	m.clock.Detach()
	if n.Cfg.Dir != "" {
		err = errors.Join(err, m.Store.Close())
		m.Store = nil
	}
	n.Sim.Touch()
	if err != nil {
		return fmt.Errorf("testnet: crash node %d: %w", i, err)
	}
	return nil
}

// Restart runs a new node on node i's store and key.
func (n *Net) Restart(ctx context.Context, i int) error {
	m := n.Members[i]
	if m.Node != nil {
		return fmt.Errorf("testnet: node %d is running", i)
	}
	if err := n.start(ctx, m); err != nil {
		return err
	}
	return n.Sim.Quiesce()
}

// Partition splits the network (see Network.Partition).
func (n *Net) Partition(groups ...[]int) { n.Network.Partition(groups...) }

// Heal reconnects every node.
func (n *Net) Heal() { n.Network.Heal() }

// SetDelay sets the range of gossip link delays.
func (n *Net) SetDelay(lo, hi time.Duration) { n.Network.SetDelay(lo, hi) }

// Advance runs the network for d of virtual time.
func (n *Net) Advance(d time.Duration) error { return n.Sim.Advance(d) }

// RunUntil runs the network up to virtual time tMs (Unix ms).
func (n *Net) RunUntil(tMs int64) error { return n.Sim.RunUntil(tMs) }

// RunEpochs runs the network for k epochs of virtual time.
func (n *Net) RunEpochs(k uint64) error {
	return n.RunUntil(n.Sim.NowMs() + int64(k*n.Cfg.EpochMs))
}

// EpochAt gives the epoch containing virtual time ms.
func (n *Net) EpochAt(ms int64) uint64 { return (uint64(ms) - n.Cfg.GenesisTsMs) / n.Cfg.EpochMs }

// Node gives node i (nil while it is down).
func (n *Net) Node(i int) *node.Node { return n.Members[i].Node }

// Running lists the nodes that are up.
func (n *Net) Running() []int {
	var out []int
	for _, m := range n.Members {
		if m.Node != nil {
			out = append(out, m.Index)
		}
	}
	return out
}

// Sign signs p on node i's chain (durable when it returns; the next barrier waits
// for it to be published).
func (n *Net) Sign(ctx context.Context, i int, p msg.Payload) (*msg.Envelope, error) {
	m := n.Members[i]
	if m.Node == nil {
		return nil, fmt.Errorf("testnet: node %d is down", i)
	}
	return m.Node.Sign(ctx, p)
}

// Epochs gives node i's computed epochs from 0.
func (n *Net) Epochs(ctx context.Context, i int) ([]api.Epoch, error) {
	m := n.Members[i]
	if m.Node == nil {
		return nil, fmt.Errorf("testnet: node %d is down", i)
	}
	return m.Node.Epochs(ctx, 0, ^uint64(0))
}

// Close stops every node and closes the stores.
func (n *Net) Close() error {
	var err error
	for _, m := range n.Members {
		if m.Node != nil {
			err = errors.Join(err, m.Node.Close())
			m.Node = nil
			m.clock.Detach()
		}
		if m.Store != nil {
			err = errors.Join(err, m.Store.Close())
			m.Store = nil
		}
	}
	return err
}
