package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/duty"
	"github.com/guild-net/guild/epoch"
	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
	"github.com/guild-net/guild/ingest"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/p2p"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/state"
	"github.com/guild-net/guild/store"
)

// Defaults of Config.
const (
	DefaultQueueDepth = 1024 // inbound requests waiting for the ingest loop
	maxBatch          = 256  // envelopes per SubmitBatch on the loop
	flushTimeout      = 30 * time.Second
)

// Config assembles a node.
type Config struct {
	Genesis *genesis.Genesis
	Key     identity.Key
	// Store is opened by the caller, who closes it after Close; the node never
	// closes it.
	Store *store.Store
	// Transport starts the network; nil runs the node alone (tests, inspection).
	Transport TransportFactory
	Clock     Clock // nil: RealClock
	Logger    *slog.Logger
	// Registerer gets the node's metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// TickInterval is how often the loop releases deferred messages, advances the
	// ledger and checks witness duty; 0 means epoch_ms/20 within [20 ms, 500 ms].
	TickInterval time.Duration
	QueueDepth   int        // 0: DefaultQueueDepth
	DAG          dag.Config // local limits (zero: SPEC §3 defaults)
}

// Node is one Guild peer: the ingest loop over store, dag, epoch engine and state,
// the node's own author chain, witness duty, and the network transport.
//
// Concurrency: one goroutine (the loop) owns the ingest pipeline, the ledger and
// every field marked "loop" below. Everybody else hands it work through bounded
// channels: inbound envelopes (gossip, sync, API) and closures (readers, own
// messages). Waiting for durability happens outside the loop.
type Node struct {
	cfg    Config
	gen    *genesis.Genesis
	ecfg   epoch.Config
	self   msg.Account
	st     *store.Store
	clk    Clock
	log    *slog.Logger
	m      *metrics
	envMax int

	tr Transport

	in    chan *inbound
	calls chan func()
	stop  chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup // publishers and fetchers started by the loop

	started   atomic.Bool
	stopping  atomic.Bool
	closeOnce sync.Once
	startedMs int64

	snap    atomic.Pointer[snapshot]
	missing atomic.Pointer[[]msg.ID]
	alarms  alarms

	// loop
	pipe     *ingest.Pipeline
	led      *ledger.Ledger
	own      ownChain
	lastCP   uint64
	hasCP    bool
	listed   duty.Listed
	clock    *duty.ClockCheck
	clockV   duty.Verdict
	claims   map[uint64][]claim
	settledK int64 // newest epoch logged as settled (−1 none)
	fetching map[msg.ID]bool
	lastWant int64
}

// snapshot is what readers outside the loop may use without asking it. States are
// values once Apply returns, so sharing the pointer is safe.
type snapshot struct {
	latest    *state.State
	computed  int64 // newest computed epoch, −1 before epoch 0
	settled   int64 // newest settled epoch, −1 when none
	root      msg.ID
	live      bool
	isSettled bool
}

// claim is a witness's state root after epoch Epoch, carried by its checkpoint for
// Epoch+1.
type claim struct {
	signer  msg.Account
	cpEpoch uint64
	root    msg.ID
}

// alarms holds conditions an operator must see (status API, logs, metrics).
type alarms struct {
	mu   sync.Mutex
	list []string
}

func (a *alarms) add(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range a.list {
		if x == s {
			return
		}
	}
	if len(a.list) < 32 {
		a.list = append(a.list, s)
	}
}

func (a *alarms) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string{}, a.list...)
}

// Errors callers branch on.
var (
	// ErrStopped: the node is stopping or stopped.
	ErrStopped = errors.New("node: stopped")
	// ErrBusy: the ingest queue is full.
	ErrBusy = errors.New("node: ingest queue full")
	// ErrKeyInUse: a message of the node's own account appeared that this node did
	// not write (another node runs with the same key, or the store was restored from a
	// stale copy); the node stops signing rather than equivocate.
	ErrKeyInUse = errors.New("node: another signer uses this node's key (or the store is stale); signing stopped")
)

// New rebuilds a node from its store: every stored message is replayed into the
// ledger, the own chain (seq, prev) and witness history are recovered. It does not
// touch the network; Start does.
func New(cfg Config) (*Node, error) {
	if cfg.Genesis == nil || cfg.Store == nil || cfg.Key.Priv == nil {
		return nil, errors.New("node: Config needs Genesis, Store and Key")
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.QueueDepth <= 0 {
		cfg.QueueDepth = DefaultQueueDepth
	}
	g := cfg.Genesis
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = min(500*time.Millisecond, max(20*time.Millisecond, time.Duration(g.EpochMs())*time.Millisecond/20))
	}
	pipe, err := ingest.New(cfg.Store, g, ledger.Options{DAG: cfg.DAG})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	n := &Node{
		cfg: cfg, gen: g, self: cfg.Key.Account(), st: cfg.Store, clk: cfg.Clock,
		log: cfg.Logger, pipe: pipe, led: pipe.Ledger(),
		envMax: int(g.Params.Get(params.EnvelopeMaxBytes)),
		in:     make(chan *inbound, cfg.QueueDepth), calls: make(chan func(), 64),
		stop: make(chan struct{}), done: make(chan struct{}),
		claims: map[uint64][]claim{}, settledK: -1, fetching: map[msg.ID]bool{},
	}
	// The epoch rule's config leaves out sigma_max_ms (duty only); the clock check
	// needs it.
	n.ecfg = n.led.Config()
	n.ecfg.SigmaMaxMs = g.Params.Get(params.SigmaMaxMs)
	n.clock = duty.NewClockCheck(duty.ClockConfigFor(n.ecfg))
	if n.m, err = newMetrics(cfg.Registerer, func() float64 { return float64(len(n.in)) }); err != nil {
		return nil, fmt.Errorf("node: metrics: %w", err)
	}
	now := n.clk.NowMs()
	t0 := time.Now()
	count, err := pipe.Load(now, func(done, total int) {
		n.log.Info("loading store", "done", done, "total", total)
	})
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	if err := n.recoverOwn(); err != nil {
		return nil, err
	}
	n.advance(now)
	n.log.Info("node loaded", "account", n.self.String(), "network", g.NetworkID().Short(), "messages", count,
		"own_seq", n.own.seq, "last_checkpoint", n.lastCPString(), "took", time.Since(t0).Round(time.Millisecond))
	return n, nil
}

// Self gives the node's account.
func (n *Node) Self() msg.Account { return n.self }

// Genesis gives the network's genesis.
func (n *Node) Genesis() *genesis.Genesis { return n.gen }

// Transport gives the running transport (nil before Start or without one).
func (n *Node) Transport() Transport { return n.tr }

// Start starts the transport and the ingest loop. Witness duty counts the node as
// running from now: epochs whose duty time passed before Start get empty checkpoints.
func (n *Node) Start(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("node: already started")
	}
	n.startedMs = n.clk.NowMs()
	n.publishMissing()
	if n.cfg.Transport != nil {
		tr, err := n.cfg.Transport(ctx, Inbound{
			Network: n.gen.NetworkID(), Validator: validator{n}, Ingester: ingester{n},
			Log: p2p.StoreLog{Store: n.st, MissingFn: n.missingIDs}, Blobs: n.st,
		})
		if err != nil {
			close(n.done)
			return fmt.Errorf("node: transport: %w", err)
		}
		n.tr = tr
	}
	go n.run()
	return nil
}

// Close stops the node gracefully: no new inbound work is taken, the transport
// stops, the loop finishes what it holds, and the store is flushed. The store stays
// open (the caller closes it).
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		n.stopping.Store(true)
		if n.tr != nil {
			if e := n.tr.Close(); e != nil {
				err = e
			}
		}
		if n.started.Load() {
			close(n.stop)
			<-n.done
		}
		n.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		if e := n.st.Flush(ctx); e != nil && !errors.Is(e, store.ErrClosed) {
			err = errors.Join(err, fmt.Errorf("node: flush store: %w", e))
		}
		n.log.Info("node stopped", "own_seq", n.own.seq)
	})
	return err
}

// run is the ingest loop.
func (n *Node) run() {
	defer close(n.done)
	tick := n.clk.After(n.cfg.TickInterval)
	for {
		select {
		case <-n.stop:
			n.drainOnStop()
			return
		case r := <-n.in:
			n.handleInbound(r)
		case f := <-n.calls:
			f()
		case <-tick:
			n.tick()
			tick = n.clk.After(n.cfg.TickInterval)
		}
	}
}

// drainOnStop answers whatever is queued so no caller waits forever.
func (n *Node) drainOnStop() {
	for {
		select {
		case r := <-n.in:
			n.m.drops.WithLabelValues("stopping").Add(float64(len(r.raws)))
			r.reply <- nil
		case f := <-n.calls:
			f()
		default:
			return
		}
	}
}

// do runs f on the loop and waits for it.
func (n *Node) do(ctx context.Context, f func()) error {
	if n.stopping.Load() || !n.started.Load() {
		if !n.started.Load() && !n.stopping.Load() {
			// Before Start the caller is the only goroutine touching the loop state.
			f()
			return nil
		}
		return ErrStopped
	}
	done := make(chan struct{})
	select {
	case n.calls <- func() { defer close(done); f() }:
	case <-n.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-n.done:
		// The loop drains calls before it ends, so done is closed by now unless the
		// call itself never ran.
		select {
		case <-done:
			return nil
		default:
			return ErrStopped
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tick is the loop's periodic work: deferred messages, epochs, duty, missing ids.
func (n *Node) tick() {
	now := n.clk.NowMs()
	if err := n.led.Tick(now); err != nil {
		n.log.Error("release deferred messages", "err", err)
	}
	n.advance(now)
	n.doDuty(now)
	n.wantMissing(now)
}

// advance brings the ledger up to the newest epoch whose duty time has passed.
func (n *Node) advance(now int64) {
	if k, ok := duty.Latest(n.ecfg, now); ok {
		t := time.Now()
		if err := n.led.Advance(k); err != nil {
			n.log.Error("advance epochs", "target", k, "err", err)
		}
		n.m.advanceSec.Observe(time.Since(t).Seconds())
	}
	n.afterAdvance()
}

// afterAdvance publishes the snapshot, logs newly settled epochs and checks the
// state roots witnesses claimed for them.
func (n *Node) afterAdvance() {
	s := &snapshot{latest: n.led.Latest(), computed: int64(n.led.Epochs()) - 1, settled: -1}
	for k := s.computed; k >= 0; k-- {
		r, _ := n.led.Epoch(uint64(k))
		if k == s.computed {
			s.root, s.live, s.isSettled = r.Root(), r.Batch.Live, r.Settled
		}
		if r.Settled {
			s.settled = k
			break
		}
	}
	n.snap.Store(s)
	n.m.computed.Set(float64(s.computed))
	n.m.settled.Set(float64(s.settled))
	n.m.live.Set(float64(s.latest.LiveEpochs()))
	// A root costs O(posts): at start-up, when every epoch of the store settles at once,
	// computing them only for a debug line took longer than the rebuild itself.
	if n.log.Enabled(context.Background(), slog.LevelDebug) {
		for k := n.settledK + 1; k <= s.settled; k++ {
			r, _ := n.led.Epoch(uint64(k))
			if r.Settled {
				n.log.Debug("epoch settled", "epoch", k, "batch", len(r.Batch.IDs), "live", r.Batch.Live, "root", r.Root().Short())
			}
		}
	}
	if s.settled > n.settledK {
		n.settledK = s.settled
	}
	n.checkClaims()
}

// publishMissing refreshes the ids sync should fetch, read by the transport.
func (n *Node) publishMissing() {
	ids := append(n.led.DAG().MissingIDs(), n.led.Engine().MissingHeads()...)
	n.missing.Store(&ids)
}

func (n *Node) missingIDs() []msg.ID {
	if p := n.missing.Load(); p != nil {
		return *p
	}
	return nil
}

// wantMissing asks the network for missing ancestors and listed heads, at most once
// a second.
func (n *Node) wantMissing(now int64) {
	n.publishMissing()
	if n.tr == nil || now-n.lastWant < 1000 {
		return
	}
	if ids := n.missingIDs(); len(ids) > 0 {
		n.lastWant = now
		n.tr.Want(ids...)
	}
}

func (n *Node) lastCPString() string {
	if !n.hasCP {
		return "none"
	}
	return fmt.Sprint(n.lastCP)
}

// stateAfter gives the state after epoch j (the genesis state for j < 0), or nil
// when j is not computed.
func (n *Node) stateAfter(j int64) *state.State {
	if j < 0 {
		return n.led.GenesisState()
	}
	r, ok := n.led.Epoch(uint64(j))
	if !ok {
		return nil
	}
	return r.State
}

func (n *Node) rootAfter(j uint64) (msg.ID, bool) {
	r, ok := n.led.Epoch(j)
	if !ok || !r.Settled {
		// An unsettled root is provisional: a witness cut off from part of the network
		// would sign a root that later checkpoints change, and every other node's
		// divergence alarm would fire on it. A checkpoint carries a root only when the
		// signer has settled the epoch (docs/rationale.md, node).
		return msg.ID{}, false
	}
	return r.Root(), true
}
