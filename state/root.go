package state

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/guild-net/guild/msg"
	"github.com/zeebo/blake3"
)

// Component names of the state root, in root order (WIRE §4).
var componentNames = [...]string{"params", "accounts", "credits", "posts", "flows", "pools", "availability", "requests", "totals"}

// Root is the state root after the last applied epoch (WIRE §4). It is computed on
// demand: replaying a long log only needs the roots someone asks for.
func (s *State) Root() msg.ID {
	comps := s.components()
	h := blake3.New()
	_, _ = h.WriteString(msg.StateRootTag)
	_, _ = h.Write(binary.BigEndian.AppendUint64(nil, s.epoch))
	_, _ = h.Write(s.seed[:])
	for i := range comps {
		_, _ = h.Write(comps[i][:])
	}
	var id msg.ID
	h.Sum(id[:0])
	return id
}

// Components gives each component's hash R_x by name, for `guild log inspect` and for
// locating a divergence.
func (s *State) Components() map[string]msg.ID {
	comps := s.components()
	out := make(map[string]msg.ID, len(comps))
	for i, n := range componentNames {
		out[n] = comps[i]
	}
	return out
}

func (s *State) components() [len(componentNames)]msg.ID {
	rows := [len(componentNames)]any{
		s.paramsRows(), s.accountRows(), []any{}, []any{}, []any{}, []any{}, []any{}, []any{}, s.totalsRows(),
	}
	var out [len(componentNames)]msg.ID
	for i, r := range rows {
		b, err := msg.Marshal(r)
		if err != nil {
			panic("state: encode component " + componentNames[i] + ": " + err.Error())
		}
		out[i] = msg.TaggedHash(msg.ComponentTag(componentNames[i]), b)
	}
	return out
}

// paramsRows: [0, id, value] for every parameter in force, then [1, activate_live,
// pool, [[id, value]…]] for every pending governance diff in activation order.
func (s *State) paramsRows() []any {
	var rows []any
	for _, c := range s.params.Rows() {
		rows = append(rows, []any{0, uint64(c.ID), c.Value})
	}
	for _, p := range s.pending.Rows() {
		rows = append(rows, []any{1, p.ActivateLive, p.Pool, p.Diff})
	}
	return rows
}

// accountRows: [account, balance, locked, flags, fork_seq] for every account with a
// balance or a flag, by account; flags bit 0 = equivocator, bit 1 = misbehaver.
func (s *State) accountRows() []any {
	type row struct {
		bal, locked, flags, forkSeq uint64
	}
	m := map[msg.Account]*row{}
	get := func(a msg.Account) *row {
		r := m[a]
		if r == nil {
			r = &row{}
			m[a] = r
		}
		return r
	}
	for _, r := range s.rep.Rows() {
		x := get(r.Account)
		x.bal, x.locked = r.Balance, r.Locked
	}
	for a, q := range s.forkSeq {
		x := get(a)
		x.flags |= 1
		x.forkSeq = q
	}
	for a := range s.misbehavers {
		get(a).flags |= 2
	}
	keys := make([]msg.Account, 0, len(m))
	for a := range m {
		keys = append(keys, a)
	}
	slices.SortFunc(keys, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	rows := make([]any, len(keys))
	for i, a := range keys {
		r := m[a]
		rows[i] = []any{a, r.bal, r.locked, r.flags, r.forkSeq}
	}
	return rows
}

// totalsRows: keyed scalar and list rows; see docs/protocol.md "State root".
func (s *State) totalsRows() []any {
	t := s.rep.Totals()
	ws := func(i int) []any {
		w := s.witnesses[i]
		out := make([]any, len(w.Members))
		for j := range w.Members {
			out[j] = []any{w.Members[j], w.Weights[j]}
		}
		return out
	}
	return []any{
		[]any{1, s.live},
		[]any{2, t.Minted},
		[]any{3, t.Burned},
		[]any{4, t.Forgiven},
		[]any{20, ws(0)},
		[]any{21, ws(1)},
		[]any{22, append([]msg.Account{}, s.equivPending...)},
	}
}
