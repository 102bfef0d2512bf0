package testnet

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// A node-like loop: arm, wait, record, re-arm. Timers fire at their deadlines and
// the clock reads the deadline while the loop handles it.
func TestSimTicks(t *testing.T) {
	s := NewSim(1000)
	c := s.Clock()
	got := make(chan []int64, 1)
	go func() {
		var seen []int64
		for i := 0; i < 5; i++ {
			fired := <-c.After(100 * time.Millisecond)
			seen = append(seen, c.NowMs(), fired.UnixMilli())
		}
		c.Detach()
		got <- seen
	}()
	if err := s.RunUntil(1_000 + 1_000); err != nil {
		t.Fatal(err)
	}
	want := []int64{1100, 1100, 1200, 1200, 1300, 1300, 1400, 1400, 1500, 1500}
	if seen := <-got; !slices.Equal(seen, want) {
		t.Fatalf("fired at %v, want %v", seen, want)
	}
	if now := s.NowMs(); now != 2000 {
		t.Fatalf("now %d, want 2000", now)
	}
	if st := s.Stats(); st.Instants != 5 {
		t.Fatalf("%d instants, want 5", st.Instants)
	}
}

// Within one instant, network events (and what their work schedules for the same
// instant) run before timers, and RunUntil returns only once the work is done.
func TestSimInstantOrder(t *testing.T) {
	s := NewSim(0)
	c := s.Clock()
	// No lock: each step starts only after the previous one's barrier (the race
	// detector checks that claim).
	var order []string
	add := func(x string) { order = append(order, x) }
	ch := c.After(10 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		<-ch
		add("timer")
		c.Detach()
		close(done)
	}()
	s.Schedule(10, func() []func() {
		add("event")
		return []func(){func() {
			time.Sleep(20 * time.Millisecond) // real work the barrier must wait for
			add("work")
			s.Schedule(s.NowMs(), func() []func() { add("same-instant event"); return nil })
		}}
	})
	s.Schedule(11, func() []func() { add("later event"); return nil })
	if err := s.RunUntil(10); err != nil {
		t.Fatal(err)
	}
	<-done
	want := []string{"event", "work", "same-instant event", "timer"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
	if err := s.RunUntil(11); err != nil {
		t.Fatal(err)
	}
	if order[len(order)-1] != "later event" {
		t.Fatalf("order %q", order)
	}
}

// A loop that never re-arms its timer keeps the barrier from passing; the barrier
// gives up after Timeout with ErrNotQuiet instead of hanging the test.
func TestSimStuckLoop(t *testing.T) {
	s := NewSim(0)
	s.Timeout = 50 * time.Millisecond
	c := s.Clock()
	_ = c.After(time.Millisecond)
	err := s.RunUntil(5)
	if !errors.Is(err, ErrNotQuiet) {
		t.Fatalf("err %v, want ErrNotQuiet", err)
	}
}

// A clock that never arms a timer (a node that never started its loop) holds the
// barrier too.
func TestSimWaitsForFirstArm(t *testing.T) {
	s := NewSim(0)
	s.Timeout = 50 * time.Millisecond
	_ = s.Clock()
	if err := s.Quiesce(); !errors.Is(err, ErrNotQuiet) {
		t.Fatalf("err %v, want ErrNotQuiet", err)
	}
}
