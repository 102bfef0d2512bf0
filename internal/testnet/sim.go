package testnet

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Sim is a simulated clock and event scheduler shared by every node of a test
// network. Virtual time is in Unix milliseconds and moves only in RunUntil.
//
// Each virtual instant runs in two phases, each followed by a barrier that waits
// until the nodes are quiescent:
//  1. network events due at the instant (deliveries, fetches, anti-entropy): each
//     event reads what it needs while nothing else runs and returns the work to do
//     (ingest calls into nodes); all the work of the instant then runs concurrently;
//  2. node timers due at the instant fire (ticks: duty, epochs).
//
// Splitting reads from work makes what a fetch or sync transfers independent of
// goroutine scheduling; firing timers after deliveries makes a tick at t see every
// message delivered at t.
type Sim struct {
	mu     sync.Mutex
	now    int64
	seq    uint64
	events eventHeap
	// Barrier bookkeeping: work in flight, clocks whose timer fired and that have not
	// yet armed the next one (a node's loop is still handling its tick), and a
	// generation bumped on every change so a barrier can tell a quiet moment from a
	// busy one that merely looks quiet.
	inflight int
	pending  map[*NodeClock]bool
	gen      uint64
	idle     []func() bool

	// Settle is how long (real time) a barrier waits after everything looks quiet
	// before it believes it: goroutines a node started just before it armed its timer
	// get that long to show up. Timeout bounds one barrier.
	Settle  time.Duration
	Timeout time.Duration

	instants, barriers uint64
}

// SimStats counts the scheduler's work.
type SimStats struct {
	Instants uint64 // virtual instants with something to do
	Barriers uint64 // waits for quiescence
}

// Stats gives the scheduler's counters.
func (s *Sim) Stats() SimStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SimStats{Instants: s.instants, Barriers: s.barriers}
}

// ErrNotQuiet is returned when the nodes did not become quiescent within Timeout.
var ErrNotQuiet = errors.New("testnet: nodes did not become quiescent")

type event struct {
	at    int64
	seq   uint64
	fn    func() []func() // network event: reads, returns work
	timer chan time.Time  // node timer
	owner *NodeClock
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// NewSim gives a clock reading startMs.
func NewSim(startMs int64) *Sim {
	return &Sim{now: startMs, pending: map[*NodeClock]bool{}, Settle: 300 * time.Microsecond, Timeout: 2 * time.Minute}
}

// NowMs is the virtual time.
func (s *Sim) NowMs() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Schedule runs fn at virtual time atMs (at once, in the next instant, when atMs is
// not in the future). fn runs on the scheduler with the nodes quiescent; it must only
// read, and return the work (calls into nodes) to run concurrently afterwards.
func (s *Sim) Schedule(atMs int64, fn func() []func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.gen++
	heap.Push(&s.events, &event{at: max(atMs, s.now), seq: s.seq, fn: fn})
}

// Go runs fn in a goroutine that barriers wait for.
func (s *Sim) Go(fn func()) {
	s.begin()
	go func() {
		defer s.end()
		fn()
	}()
}

func (s *Sim) begin() {
	s.mu.Lock()
	s.inflight++
	s.gen++
	s.mu.Unlock()
}

func (s *Sim) end() {
	s.mu.Lock()
	s.inflight--
	s.gen++
	s.mu.Unlock()
}

// Touch records activity (a barrier in progress starts over).
func (s *Sim) Touch() {
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
}

// AddIdleCheck adds a condition barriers wait for (checked without the Sim's lock).
func (s *Sim) AddIdleCheck(f func() bool) {
	s.mu.Lock()
	s.idle = append(s.idle, f)
	s.mu.Unlock()
}

// Clock gives a node's view of the clock. The barrier waits until the node arms its
// first timer, so a node's loop is running before time moves.
func (s *Sim) Clock() *NodeClock {
	c := &NodeClock{s: s}
	s.mu.Lock()
	s.pending[c] = true
	s.gen++
	s.mu.Unlock()
	return c
}

// NodeClock is one node's node.Clock on a Sim.
type NodeClock struct {
	s        *Sim
	detached bool // under s.mu
}

// NowMs implements node.Clock.
func (c *NodeClock) NowMs() int64 { return c.s.NowMs() }

// After implements node.Clock. Arming a timer tells the barrier that the node has
// finished handling its previous one.
func (c *NodeClock) After(d time.Duration) <-chan time.Time {
	s := c.s
	ch := make(chan time.Time, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	delete(s.pending, c)
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	if ms <= 0 {
		ch <- time.UnixMilli(s.now)
		return ch
	}
	s.seq++
	heap.Push(&s.events, &event{at: s.now + ms, seq: s.seq, timer: ch, owner: c})
	return ch
}

// Detach stops the barrier from waiting for this clock (its node stopped).
func (c *NodeClock) Detach() {
	s := c.s
	s.mu.Lock()
	c.detached = true
	delete(s.pending, c)
	s.gen++
	s.mu.Unlock()
}

// Quiesce waits until the nodes are quiescent, without moving time.
func (s *Sim) Quiesce() error {
	s.mu.Lock()
	s.barriers++
	s.mu.Unlock()
	deadline := time.Now().Add(s.Timeout)
	for {
		g, ok := s.quietNow()
		if ok {
			time.Sleep(s.Settle)
			if g2, ok2 := s.quietNow(); ok2 && g2 == g {
				return nil
			}
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w within %v at virtual %d: %s", ErrNotQuiet, s.Timeout, s.NowMs(), s.busy())
		}
		time.Sleep(50 * time.Microsecond)
	}
}

func (s *Sim) quietNow() (uint64, bool) {
	s.mu.Lock()
	g, ok := s.gen, s.inflight == 0 && len(s.pending) == 0
	idle := s.idle
	s.mu.Unlock()
	if !ok {
		return g, false
	}
	for _, f := range idle {
		if !f() {
			return g, false
		}
	}
	return g, true
}

func (s *Sim) busy() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d goroutines in flight, %d node loops still handling a tick", s.inflight, len(s.pending))
}

// Advance runs the network for d of virtual time.
func (s *Sim) Advance(d time.Duration) error {
	return s.RunUntil(s.NowMs() + d.Milliseconds())
}

// RunUntil runs every event up to and including virtual time tMs, then sets the
// clock to tMs.
func (s *Sim) RunUntil(tMs int64) error {
	if err := s.Quiesce(); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		if len(s.events) == 0 || s.events[0].at > tMs {
			if tMs > s.now {
				s.now = tMs
				s.gen++
			}
			s.mu.Unlock()
			return nil
		}
		at := s.events[0].at
		s.now = at
		s.gen++
		s.instants++
		s.mu.Unlock()
		if err := s.instant(at); err != nil {
			return err
		}
	}
}

// instant runs everything due at at: network events until none are left, then timers.
func (s *Sim) instant(at int64) error {
	for {
		fns := s.popDue(at, true)
		if len(fns) == 0 {
			break
		}
		var work []func()
		for _, e := range fns {
			work = append(work, e.fn()...)
		}
		for _, w := range work {
			s.Go(w)
		}
		if err := s.Quiesce(); err != nil {
			return err
		}
	}
	timers := s.popDue(at, false)
	if len(timers) == 0 {
		return nil
	}
	s.mu.Lock()
	for _, e := range timers {
		if e.owner != nil && !e.owner.detached {
			s.pending[e.owner] = true
		}
	}
	s.gen++
	s.mu.Unlock()
	for _, e := range timers {
		e.timer <- time.UnixMilli(at)
	}
	return s.Quiesce()
}

// popDue removes the events due at or before at of one sort (network events or
// timers), in scheduling order.
func (s *Sim) popDue(at int64, network bool) []*event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out, keep []*event
	for len(s.events) > 0 && s.events[0].at <= at {
		e := heap.Pop(&s.events).(*event)
		if (e.fn != nil) == network {
			out = append(out, e)
		} else {
			keep = append(keep, e)
		}
	}
	for _, e := range keep {
		heap.Push(&s.events, e)
	}
	return out
}
