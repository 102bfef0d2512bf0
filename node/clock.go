package node

import "time"

// Clock is the only way time enters the node. The real clock is the default; a
// simulated clock (internal/testnet) drives many nodes deterministically.
type Clock interface {
	// NowMs is the current time in Unix milliseconds.
	NowMs() int64
	// After delivers once, when d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// NowMs implements Clock.
func (RealClock) NowMs() int64 { return time.Now().UnixMilli() }

// After implements Clock.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
