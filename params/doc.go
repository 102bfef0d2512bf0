// Package params owns the governance parameter table of WIRE §7: stable ids, names,
// defaults, per-parameter and cross-parameter bounds and scopes, the value Set in
// force, parameter diffs carried by posts, and the Schedule of passed governance
// diffs waiting for their activation epoch (SPEC §9).
//
// A Set is a fixed-size array, so copying it (plain assignment) is a full, cheap
// snapshot. Nothing here reads a clock or does I/O.
package params
