// Package credits owns the µcredit ledger: genesis allocations, gateway deposits (each
// (gateway, ref) pair once) and withdrawals, escrows (pool fees, request fees), the
// epoch's salary pot, and the frozen credits of equivocators (SPEC §6, §7.3, §7.6).
//
// Every operation is all or nothing, and the ledger conserves credits exactly:
// Σ free + Σ escrowed + Σ frozen + pot = genesis + deposits − withdrawals (Check).
// Credits are paid out of the salary pot by the pool package, which owns the split.
//
// Clone makes a per-epoch snapshot: it copies the free balances (an internal/dense
// map: the salary rewrites most of them each live epoch, and Check reads them all
// anyway, so the values are copied outright and only the numbering of accounts is
// shared) and the frozen and escrow maps, and shares the ever-growing set of used
// deposit references, a persistent map (internal/pmap).
package credits
