package pool

import (
	"errors"
	"fmt"
	"testing"
)

// TestVoteErrorText: a *VoteError reads exactly as the fmt.Errorf wrapping it replaced
// (reports and the API show it), and unwraps to its reason.
func TestVoteErrorText(t *testing.T) {
	b := New()
	pool, voter := postID("pool"), account("voter")
	for _, reason := range []error{ErrNoPool, ErrSide, ErrTooEarly} {
		err := b.voteErr(pool, nil, reason)
		if want := fmt.Errorf("vote on %s: %w", pool.Short(), reason).Error(); err.Error() != want {
			t.Errorf("%q, want %q", err, want)
		}
		if !errors.Is(err, reason) {
			t.Errorf("%v does not unwrap to its reason", err)
		}
	}
	for _, reason := range []error{ErrBarred, ErrAlreadyVoted, ErrZeroStake} {
		err := b.voteErr(pool, &voter, reason)
		if want := fmt.Errorf("vote on %s by %s: %w", pool.Short(), voter, reason).Error(); err.Error() != want {
			t.Errorf("%q, want %q", err, want)
		}
		if !errors.Is(err, reason) {
			t.Errorf("%v does not unwrap to its reason", err)
		}
	}
	// Errors handed out earlier survive the chunk filling up.
	first := b.voteErr(pool, nil, ErrNoPool)
	for range 1000 {
		_ = b.voteErr(pool, &voter, ErrBarred)
	}
	if !errors.Is(first, ErrNoPool) {
		t.Errorf("an earlier error changed: %v", first)
	}
}
