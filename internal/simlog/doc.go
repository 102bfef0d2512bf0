// Package simlog generates signed Guild logs for tests and benchmarks: authors posting
// on a simulated clock, witnesses receiving with delays and checkpointing by the duty
// rule of SPEC §4, and the adversarial schedules the epoch properties are tested
// against (late and withheld checkpoints, an offline witness returning, a forking
// author, a forking witness, backdated messages).
//
// A generated log records, for every message, when it was first released and when
// each witness received it, so tests can check P3 (backdating) and P4 (liveness)
// against what the witnesses actually saw.
package simlog
