// Package reputation owns the µREP ledger (SPEC §7.1) and the integer arithmetic of
// SPEC §7.0 that the whole economy shares: MulDiv with a 128-bit intermediate and Split,
// the largest-remainder pro-rata rule with its SEED and KEEP keys.
//
// The Ledger keeps, per account, a balance and the part of it that is locked (open votes
// plus availability stakes), the set of equivocators, and the minted, burned and forgiven
// counters. REP moves between accounts only through the ledger's pending amount: Mint and
// Take put µREP in, Give and BurnPending take it out. Pending is zero between two
// economic operations, so Σ balances = minted − burned holds at every Apply boundary
// (Check verifies it).
//
// Clone is how a per-epoch snapshot is taken. Decay rewrites every balance in each live
// epoch, so balances sit in a dense slice that Clone copies outright, while the map
// numbering the accounts, like the cached sorted account list, is shared by clones until
// one of them sees an account appear or disappear.
package reputation
