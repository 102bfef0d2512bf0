// Package pool owns validation pools (SPEC §6 POOL_OPEN and VOTE, §7.3): opening with
// the fee in escrow and the frozen parameters copied in, votes as locks on free REP,
// resolution (quorum, mint and cap, the genesis rule, win ratio, forfeits, pass and fail
// splits, fee consumption or refund, scheduling of passed governance diffs) and the
// epoch's salary split of the credit pot.
//
// The caller drives it from the state's Apply phases: Open in phase 6, Vote in phase 7,
// DropVoter when an equivocation is committed, then in the deadline phase of a live epoch
// ResolveDue and PaySalary with the epoch's snapshot S_c/T_c passed explicitly.
//
// Book.Clone is O(1): open pools live in a persistent map (internal/pmap) and a pool is
// copied on its first write after a Clone, so a per-epoch snapshot costs what the epoch
// changed.
//
// Work pools (SPEC §8: automatic earmark stakes, opened by the state on an evidence post)
// are an extension point: the Kind exists and resolution is factored so that their
// earmark rules can be added, but Open refuses them and nothing here creates one.
package pool
