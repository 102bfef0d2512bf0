package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	pebbleds "github.com/ipfs/go-ds-pebble"

	"github.com/guild-net/guild/msg"
)

// Group commit defaults (SPEC §1.4): a pending group is fsynced within 10 ms
// of its first record or as soon as it holds 256 records.
const (
	DefaultGroupWindow = 10 * time.Millisecond
	DefaultGroupMax    = 256
)

// Pebble charges its memtables (up to two of memTableSize while one is
// flushed) against the block cache. With pebble's own defaults (8 MiB cache,
// 4 MiB memtables) that leaves no room for blocks at all, and every read goes
// to the file system; see docs/rationale.md (store).
const (
	DefaultCacheSize = 96 << 20
	memTableSize     = 16 << 20
)

// Sentinel errors callers branch on.
var (
	ErrClosed        = errors.New("store: closed")
	ErrCorrupt       = errors.New("store: corrupt data")
	ErrIncompatible  = errors.New("store: written by an incompatible version")
	ErrInvalidRecord = errors.New("store: invalid record")
	ErrBlobTooLarge  = errors.New("store: blob too large")
	ErrBadMetaKey    = errors.New("store: bad metadata key")
	ErrFailed        = errors.New("store: an earlier write failed; the store must be reopened")
)

// Record is one stored message: opaque envelope bytes plus the metadata the
// caller derived from them. The store never decodes Envelope.
type Record struct {
	ID       msg.ID
	Author   msg.Account
	Seq      uint64
	Envelope []byte // the signed envelope exactly as received
	RecvMs   int64  // local receive time, ms since the Unix epoch; witnesses rely on it
}

// Fork is fork evidence: two different stored messages with the same
// (Author, Seq). A < B bytewise, so each pair is stored once.
type Fork struct {
	Author msg.Account
	Seq    uint64
	A, B   msg.ID
}

// Head is the highest stored seq of one author.
type Head struct {
	Author msg.Account
	Seq    uint64
}

// Stats counts group commits since Open.
type Stats struct {
	Groups  uint64 // group commits (each one fsync on disk)
	Records uint64 // records written by them
}

type config struct {
	window    time.Duration
	max       int
	cacheSize int64
	logger    *slog.Logger
	fs        vfs.FS // tests count fsyncs through it
}

// Option configures Open and OpenMemory.
type Option func(*config)

// WithGroupCommit overrides the group-commit window and size. The defaults
// are the values SPEC §1.4 requires; other values exist for experiments.
func WithGroupCommit(window time.Duration, maxRecords int) Option {
	return func(c *config) {
		if window > 0 {
			c.window = window
		}
		if maxRecords > 0 {
			c.max = maxRecords
		}
	}
}

// WithCacheSize sets pebble's cache size in bytes (default DefaultCacheSize);
// it includes up to 32 MiB of memtables, so values much below 64 MiB starve
// the block cache.
func WithCacheSize(bytes int64) Option { return func(c *config) { c.cacheSize = bytes } }

// WithLogger sends pebble's messages to l (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

func withFS(fs vfs.FS) Option { return func(c *config) { c.fs = fs } }

// group is a set of records committed (and, on disk, fsynced) together.
type group struct {
	writes   []kvw
	heads    map[msg.Account]uint64 // new author heads, written once per group
	recs     []*pendRec
	first    time.Time // when the first record joined
	flushNow bool      // someone waits for durability now
	done     chan struct{}
	err      error // set before done is closed
}

// pendRec is a record accepted by Put and not yet committed. Reads consult
// these so a record is visible from the moment Put returns.
type pendRec struct {
	n     uint64 // insertion number
	rec   Record
	forks []Fork
	g     *group
}

// Store is the node's durable message log, blob store and metadata.
type Store struct {
	kv  engine
	cfg config

	life gate

	wmu sync.Mutex // serialises writers of records, so duplicate checks cannot race

	mu           sync.Mutex // guards everything below
	cur          *group
	inflight     *group
	pendByID     map[msg.ID]*pendRec
	pendByAuthor map[msg.Account][]*pendRec
	pendList     []*pendRec // ascending n: the in-flight group, then cur
	heads        map[msg.Account]uint64
	nextN        uint64
	failed       error
	stopping     bool

	wake    chan struct{}
	stopped chan struct{}
	groups  atomic.Uint64
	records atomic.Uint64
}

// Ticket tells when a record given to Put is durable.
type Ticket struct {
	g   *group
	err error
}

// Wait blocks until the record is durable (nil), the write failed, or ctx
// ends. A record already durable when Put was called resolves at once.
func (t Ticket) Wait(ctx context.Context) error {
	if t.g == nil {
		return t.err
	}
	select {
	case <-t.g.done:
		return t.g.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed once Wait would return without blocking.
func (t Ticket) Done() <-chan struct{} {
	if t.g == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.g.done
}

func defaults(opts []Option) config {
	c := config{window: DefaultGroupWindow, max: DefaultGroupMax, logger: slog.Default(), cacheSize: DefaultCacheSize}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// Open opens (creating if needed) the pebble store in dir. Every write the
// store makes is committed with pebble.Sync, i.e. the WAL is fsynced before
// the write is reported done.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := defaults(opts)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	po := &pebble.Options{Logger: pebbleLogger{cfg.logger}, FS: cfg.fs, MemTableSize: memTableSize}
	for i := range po.Levels {
		// Put of a new id looks the id up first; bloom filters make those
		// negative lookups cheap.
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		// A rebuild scans every record in order; 32 KiB blocks take an eighth of the
		// reads (and block decodes) of pebble's 4 KiB default, and a point read
		// of one more block's bytes costs little once the block is cached.
		po.Levels[i].BlockSize = 32 << 10
	}
	pds, err := pebbleds.NewDatastore(dir,
		pebbleds.WithPebbleOpts(po),
		pebbleds.WithPebbleWriteOptions(pebble.Sync),
		pebbleds.WithCacheSize(cfg.cacheSize),
	)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s, err := newStore(engine{d: pds, db: pds.DB}, cfg)
	if err != nil {
		_ = pds.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return s, nil
}

// OpenMemory returns a store on go-datastore's in-memory map datastore, for
// tests. It behaves like Open except that nothing survives the process.
func OpenMemory(opts ...Option) *Store {
	s, err := newStore(engine{d: dssync.MutexWrap(ds.NewMapDatastore())}, defaults(opts))
	if err != nil {
		// An empty map datastore cannot fail to initialise.
		panic(fmt.Sprintf("store: open memory: %v", err))
	}
	return s
}

func newStore(kv engine, cfg config) (*Store, error) {
	s := &Store{
		kv:           kv,
		cfg:          cfg,
		cur:          &group{done: make(chan struct{})},
		pendByID:     make(map[msg.ID]*pendRec),
		pendByAuthor: make(map[msg.Account][]*pendRec),
		heads:        make(map[msg.Account]uint64),
		wake:         make(chan struct{}, 1),
		stopped:      make(chan struct{}),
	}
	s.life.idle.L = &s.life.mu
	if err := s.load(); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// load checks the format marker and restores the head cache and the next
// insertion number.
func (s *Store) load() error {
	v, ok, err := s.kv.get(kVersion)
	if err != nil {
		return err
	}
	if ok && string(v) != formatVersion {
		return fmt.Errorf("%w: format %q, want %q", ErrIncompatible, v, formatVersion)
	}
	if !ok {
		empty := true
		if err := s.kv.scan("/", "", "", false, func(k, _ []byte) (bool, error) {
			empty = false
			return false, nil
		}); err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: no format marker in a non-empty datastore", ErrIncompatible)
		}
		if err := s.kv.commit([]kvw{{kVersion, []byte(formatVersion)}}); err != nil {
			return err
		}
	}
	err = s.kv.scan(pHead, "", "", false, func(k, v []byte) (bool, error) {
		var a msg.Account
		if err := hexField(k, len(pHead), a[:]); err != nil {
			return false, err
		}
		seq, err := parseU64(v)
		if err != nil {
			return false, err
		}
		s.heads[a] = seq
		return true, nil
	})
	if err != nil {
		return err
	}
	return s.kv.scan(pRecord, "", "", true, func(k, _ []byte) (bool, error) {
		n, err := hexU64(k, len(pRecord))
		if err != nil {
			return false, err
		}
		s.nextN = n + 1
		return false, nil
	})
}

// gate lets operations run until Close, and lets Close wait for the running
// ones. Unlike an RWMutex it never blocks a nested enter (a scan callback
// calling Get while Close waits): that one just gets ErrClosed.
type gate struct {
	mu     sync.Mutex
	idle   sync.Cond
	n      int
	closed bool
}

func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) exit() {
	g.mu.Lock()
	g.n--
	if g.n == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// close reports false if the gate was already closed.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	for g.n > 0 {
		g.idle.Wait()
	}
	return true
}

func (s *Store) enter() bool { return s.life.enter() }

func (s *Store) exit() { s.life.exit() }

func (s *Store) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Put adds r to the pending group and returns at once; the Ticket resolves
// when the group is fsynced (within the group window). The record is visible
// to every read as soon as Put returns. Putting an id that is already stored
// is a no-op whose Ticket resolves with the earlier write. Put keeps its own
// copy of r.Envelope.
func (s *Store) Put(r Record) Ticket {
	if !s.enter() {
		return Ticket{err: ErrClosed}
	}
	defer s.exit()
	return s.put(r, false)
}

// PutSync stores r and returns once it is durable, fsyncing at once together
// with whatever else is pending. For the node's own messages, checkpoints and
// anything acknowledged to a client.
func (s *Store) PutSync(ctx context.Context, r Record) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	return s.put(r, true).Wait(ctx)
}

// Compact waits for every record Put before the call to be durable, then compacts
// the whole store into pebble's bottom level. After a burst of writes (an import, a
// sync from scratch) pebble compacts in the background for a while; a caller that is
// about to read everything, or to measure reading it, compacts first. The in-memory
// store has nothing to compact.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.Flush(ctx); err != nil {
		return err
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	if s.kv.db == nil {
		return nil
	}
	if err := s.kv.db.Compact(ctx, []byte{0}, []byte{0xff}, false); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}

// Flush returns once every record Put before the call is durable.
func (s *Store) Flush(ctx context.Context) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	s.mu.Lock()
	g := s.cur
	if len(g.recs) == 0 {
		g = s.inflight
	} else {
		g.flushNow = true
		s.notify()
	}
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	return Ticket{g: g}.Wait(ctx)
}

func (s *Store) put(r Record, now bool) Ticket {
	if len(r.Envelope) == 0 {
		return Ticket{err: fmt.Errorf("put %s: %w: empty envelope", r.ID.Short(), ErrInvalidRecord)}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()

	s.mu.Lock()
	if s.failed != nil {
		s.mu.Unlock()
		return Ticket{err: fmt.Errorf("put %s: %w: %w", r.ID.Short(), ErrFailed, s.failed)}
	}
	if p, ok := s.pendByID[r.ID]; ok {
		if now && p.g == s.cur {
			p.g.flushNow = true
			s.notify()
		}
		s.mu.Unlock()
		return Ticket{g: p.g}
	}
	head, hasHead := s.heads[r.Author]
	s.mu.Unlock()

	// Only records leave the pending set once committed, and only this
	// goroutine (holding wmu) adds records, so "not pending" followed by "not
	// in the engine" means not stored.
	stored, err := s.kv.has(idKey(r.ID))
	if err != nil {
		return Ticket{err: fmt.Errorf("put %s: %w", r.ID.Short(), err)}
	}
	if stored {
		return Ticket{}
	}

	var forks []Fork
	if hasHead && r.Seq <= head {
		others, err := s.idsAt(r.Author, r.Seq)
		if err != nil {
			return Ticket{err: fmt.Errorf("put %s: %w", r.ID.Short(), err)}
		}
		for _, o := range others {
			f := Fork{Author: r.Author, Seq: r.Seq, A: o, B: r.ID}
			if string(f.B[:]) < string(f.A[:]) {
				f.A, f.B = f.B, f.A
			}
			forks = append(forks, f)
		}
	}

	p := &pendRec{rec: r}
	p.rec.Envelope = append([]byte(nil), r.Envelope...)
	p.forks = forks

	s.mu.Lock()
	defer s.mu.Unlock()
	p.n = s.nextN
	s.nextN++
	g := s.cur
	p.g = g
	nb := u64bytes(p.n)
	g.writes = append(g.writes,
		kvw{recordKey(p.n), encodeRecord(&p.rec)},
		kvw{idKey(r.ID), nb},
		kvw{authorKey(r.Author, r.Seq, r.ID), nb},
		kvw{recvIndexKey(r.RecvMs, p.n), []byte{}},
	)
	for _, f := range forks {
		g.writes = append(g.writes, kvw{forkKey(f), []byte{}})
	}
	if !hasHead || r.Seq > head {
		s.heads[r.Author] = r.Seq
		if g.heads == nil {
			g.heads = make(map[msg.Account]uint64)
		}
		g.heads[r.Author] = r.Seq
	}
	g.recs = append(g.recs, p)
	s.pendByID[r.ID] = p
	s.pendByAuthor[r.Author] = append(s.pendByAuthor[r.Author], p)
	s.pendList = append(s.pendList, p)
	if len(g.recs) == 1 {
		g.first = time.Now()
		s.notify()
	}
	if now {
		g.flushNow = true
		s.notify()
	} else if len(g.recs) >= s.cfg.max {
		s.notify()
	}
	return Ticket{g: g}
}

// run is the committer: it commits the pending group when it is full, when
// its window has passed, or when someone asked for durability now. Groups are
// committed one at a time, in order, so a resolved Ticket implies every
// earlier one is resolved too.
func (s *Store) run() {
	defer close(s.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		s.mu.Lock()
		g := s.cur
		if len(g.recs) == 0 {
			stop := s.stopping
			s.mu.Unlock()
			if stop {
				return
			}
			<-s.wake
			continue
		}
		due := g.flushNow || s.stopping || len(g.recs) >= s.cfg.max
		wait := time.Until(g.first.Add(s.cfg.window))
		if !due && wait > 0 {
			s.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-s.wake:
			case <-timer.C:
			}
			timer.Stop()
			continue
		}
		s.cur = &group{done: make(chan struct{})}
		s.inflight = g
		failed := s.failed
		s.mu.Unlock()

		err := failed
		if err == nil {
			for a, seq := range g.heads {
				g.writes = append(g.writes, kvw{headKey(a), u64bytes(seq)})
			}
			err = s.kv.commit(g.writes)
			if err != nil {
				err = fmt.Errorf("group commit of %d records: %w", len(g.recs), err)
			}
		} else {
			err = fmt.Errorf("%w: %w", ErrFailed, err)
		}

		s.mu.Lock()
		s.retire(g)
		s.inflight = nil
		if err != nil && s.failed == nil {
			s.failed = err
			s.cfg.logger.Error("store write failed; no further writes will be accepted", "err", err)
		}
		g.err = err
		g.writes, g.heads = nil, nil
		if err == nil {
			// Counted before the tickets resolve, so that a caller who waited on one
			// sees its group in Stats.
			s.groups.Add(1)
			s.records.Add(uint64(len(g.recs)))
		}
		close(g.done)
		s.mu.Unlock()
	}
}

// retire drops g's records from the pending indexes. g's records are the
// oldest pending ones, and each author's pending list is in Put order, so
// they are prefixes everywhere. Called with mu held.
func (s *Store) retire(g *group) {
	for _, p := range g.recs {
		delete(s.pendByID, p.rec.ID)
		l := s.pendByAuthor[p.rec.Author]
		if len(l) <= 1 {
			delete(s.pendByAuthor, p.rec.Author)
		} else {
			l[0] = nil
			s.pendByAuthor[p.rec.Author] = l[1:]
		}
	}
	clear(s.pendList[:len(g.recs)])
	s.pendList = s.pendList[len(g.recs):]
}

// Len gives the number of stored messages, pending ones included: records are never
// deleted, so it is how many were ever stored. A rebuild sizes its slices with it.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.nextN)
}

// Stats reports group-commit counters since Open.
func (s *Store) Stats() Stats {
	return Stats{Groups: s.groups.Load(), Records: s.records.Load()}
}

// Close commits whatever is pending, waits for running operations, and
// closes the datastore. Later calls get ErrClosed (Close itself: nil). Do not
// call Close from a scan callback: it would wait for that scan.
func (s *Store) Close() error {
	if !s.life.close() {
		return nil
	}
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.notify()
	<-s.stopped
	s.mu.Lock()
	failed := s.failed
	s.mu.Unlock()
	if err := s.kv.close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	if failed != nil {
		return fmt.Errorf("close store: %w", failed)
	}
	return nil
}

// pebbleLogger routes pebble's log lines to slog. Pebble's info lines
// (flushes, compactions) are debug-level noise for a node operator.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	m := fmt.Sprintf(format, args...)
	p.l.Error(m, "component", "pebble", "fatal", true)
	panic("pebble: " + m)
}
