package pool

import "time"

// The benchmark times its state copies separately; tests never assert on time.
func testingNow() time.Time          { return time.Now() }
func testingSince(t time.Time) int64 { return int64(time.Since(t)) }
