package state

import (
	"encoding/binary"
	"hash"
	"slices"

	"github.com/fxamacker/cbor/v2"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
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

// ComponentNames lists the components in root order.
func ComponentNames() []string { return slices.Clone(componentNames[:]) }

// ComponentBytes gives the canonical CBOR array of one component's rows, exactly the
// bytes hashed into R_x after its tag; nil for an unknown name.
func (s *State) ComponentBytes(name string) []byte {
	for i, n := range componentNames {
		if n == name {
			e := &rowEnc{}
			s.encodeComponent(i, e)
			return e.b
		}
	}
	return nil
}

// ComponentRows decodes ComponentBytes into generic values (lists, uint64, int64,
// []byte), for inspection.
func (s *State) ComponentRows(name string) []any {
	b := s.ComponentBytes(name)
	if b == nil {
		return nil
	}
	var rows []any
	if err := cbor.Unmarshal(b, &rows); err != nil {
		panic("state: decode own component " + name + ": " + err.Error())
	}
	return rows
}

func (s *State) components() [len(componentNames)]msg.ID {
	var out [len(componentNames)]msg.ID
	h := blake3.New()
	e := &rowEnc{sink: h}
	for i, n := range componentNames {
		h.Reset()
		_, _ = h.WriteString(msg.ComponentTag(n))
		s.encodeComponent(i, e)
		e.flush()
		h.Sum(out[i][:0])
	}
	return out
}

// rowEnc writes WIRE §1 canonical CBOR by hand: the rows are lists of unsigned and
// signed integers, 32-byte ids and short byte strings, so the shortest-head rule is all
// there is to canonical form. A test checks the output against the deterministic
// encoder of fxamacker/cbor. With a sink it streams into a hash in 64 KiB pieces.
type rowEnc struct {
	b    []byte
	sink hash.Hash
}

func (e *rowEnc) head(major byte, n uint64) {
	m := major << 5
	switch {
	case n < 24:
		e.b = append(e.b, m|byte(n))
	case n <= 0xff:
		e.b = append(e.b, m|24, byte(n))
	case n <= 0xffff:
		e.b = append(e.b, m|25)
		e.b = binary.BigEndian.AppendUint16(e.b, uint16(n))
	case n <= 0xffffffff:
		e.b = append(e.b, m|26)
		e.b = binary.BigEndian.AppendUint32(e.b, uint32(n))
	default:
		e.b = append(e.b, m|27)
		e.b = binary.BigEndian.AppendUint64(e.b, n)
	}
}

func (e *rowEnc) arr(n int)     { e.head(4, uint64(n)) }
func (e *rowEnc) u(v uint64)    { e.head(0, v) }
func (e *rowEnc) id(v [32]byte) { e.head(2, 32); e.b = append(e.b, v[:]...) }
func (e *rowEnc) bytes(v []byte) {
	e.head(2, uint64(len(v)))
	e.b = append(e.b, v...)
}
func (e *rowEnc) flag(v bool) {
	if v {
		e.u(1)
	} else {
		e.u(0)
	}
}

// i writes a signed integer: major type 1 holds −1 − v for negative v.
func (e *rowEnc) i(v int64) {
	if v >= 0 {
		e.u(uint64(v))
		return
	}
	e.head(1, uint64(-(v + 1)))
}

// row ends a row: with a sink, hand full buffers to it.
func (e *rowEnc) row() {
	if e.sink != nil && len(e.b) >= 64<<10 {
		e.flush()
	}
}

func (e *rowEnc) flush() {
	if e.sink != nil {
		_, _ = e.sink.Write(e.b)
		e.b = e.b[:0]
	}
}

func (e *rowEnc) diff(d params.Diff) {
	e.arr(len(d))
	for _, c := range d {
		e.arr(2)
		e.u(uint64(c.ID))
		e.u(c.Value)
	}
}

func (s *State) encodeComponent(i int, e *rowEnc) {
	switch componentNames[i] {
	case "params":
		s.paramsRows(e)
	case "accounts":
		s.accountRows(e)
	case "credits":
		s.creditRows(e)
	case "posts":
		s.postRows(e)
	case "flows":
		s.flowRows(e)
	case "pools":
		s.poolRows(e)
	case "totals":
		s.totalsRows(e)
	default:
		// availability and requests: no rows until the work lifecycle takes effect.
		e.arr(0)
	}
}

// paramsRows: [0, id, value] for every parameter in force, ascending id, then
// [1, activate_live, pool, [[id, value]…]] for every pending governance diff in
// activation order (activate_live, pool).
func (s *State) paramsRows(e *rowEnc) {
	cur, pend := s.params.Rows(), s.pending.Rows()
	e.arr(len(cur) + len(pend))
	for _, c := range cur {
		e.arr(3)
		e.u(0)
		e.u(uint64(c.ID))
		e.u(c.Value)
	}
	for _, p := range pend {
		e.arr(4)
		e.u(1)
		e.u(p.ActivateLive)
		e.id(p.Pool)
		e.diff(p.Diff)
	}
}

// accountRows: [account, balance, locked, flags, fork_seq] for every account with a
// balance or a flag, by account; flags bit 0 = equivocator (fork evidence committed),
// bit 1 = checkpoint misbehaver.
func (s *State) accountRows(e *rowEnc) {
	rows := s.rep.Rows()
	keys := make([]msg.Account, 0, len(rows)+len(s.forkSeq)+len(s.misbehavers))
	for _, r := range rows {
		keys = append(keys, r.Account)
	}
	for a := range s.forkSeq {
		keys = append(keys, a)
	}
	for a := range s.misbehavers {
		keys = append(keys, a)
	}
	sortAccounts(keys)
	keys = slices.Compact(keys)
	e.arr(len(keys))
	for _, a := range keys {
		b := s.rep.Get(a)
		var flags uint64
		q, forked := s.forkSeq[a]
		if forked {
			flags |= 1
		}
		if _, mis := s.misbehavers[a]; mis {
			flags |= 2
		}
		e.arr(5)
		e.id(a)
		e.u(b.Bal)
		e.u(b.Locked)
		e.u(flags)
		e.u(q)
		e.row()
	}
}

// creditRows, sorted by (tag, key):
//
//	[0, account, free, frozen, is_frozen]   accounts with credits or frozen status
//	[1, escrow_id, owner, amount]           open escrows (pool fees)
//	[2, gateway, ref]                       used (gateway, ref) deposit pairs
func (s *State) creditRows(e *rowEnc) {
	accts, escrows, refs := s.cr.Accounts(), s.cr.Escrows(), s.cr.UsedRefs()
	e.arr(len(accts) + len(escrows) + len(refs))
	for _, r := range accts {
		e.arr(5)
		e.u(0)
		e.id(r.Account)
		e.u(r.Free)
		e.u(r.Frozen)
		e.flag(r.IsFrozen)
		e.row()
	}
	for _, r := range escrows {
		e.arr(4)
		e.u(1)
		e.id(r.ID)
		e.id(r.Owner)
		e.u(r.Amount)
		e.row()
	}
	for _, r := range refs {
		e.arr(3)
		e.u(2)
		e.id(r.Gateway)
		e.bytes(r.Ref)
		e.row()
	}
}

// postRows: [id, batch, signer, evidence, [[account, ppm]…], [[target, weight]…],
// module, [[param, value]…], value] by ascending post id. The signer is 32 zero bytes
// for an evidence post, module 32 zero bytes when absent, weight a CBOR integer
// (negative for a leach).
func (s *State) postRows(e *rowEnc) {
	posts := s.forum.Posts()
	e.arr(len(posts))
	for _, p := range posts {
		e.arr(9)
		e.id(p.ID)
		e.u(p.Batch)
		e.id(p.Signer)
		e.flag(p.Evidence)
		e.arr(len(p.Authors))
		for _, a := range p.Authors {
			e.arr(2)
			e.id(a.Account)
			e.u(a.PPM)
		}
		e.arr(len(p.Citations))
		for _, c := range p.Citations {
			e.arr(2)
			e.id(c.Target)
			e.i(c.Weight)
		}
		e.id(p.Module)
		e.diff(p.Params)
		e.u(s.forum.Value(p.ID))
		e.row()
	}
}

// flowRows: [from, to, flow] for every non-zero citation flow, by (from, to).
func (s *State) flowRows(e *rowEnc) {
	fs := s.forum.FlowRows()
	e.arr(len(fs))
	for _, f := range fs {
		e.arr(3)
		e.id(f.From)
		e.id(f.To)
		e.u(f.Flow)
		e.row()
	}
}

// poolRows: [id, post, opener, kind, fee, open_batch, close_live, [quorum_ppm, win_num,
// win_den, binding_ppm, redistribute, mint_ratio_ppm, mint_cap_ppm, genesis_mint_max],
// [barred…], [[voter, side, stake]…]] for every open pool by id, votes by voter.
func (s *State) poolRows(e *rowEnc) {
	ps := s.book.Rows()
	e.arr(len(ps))
	for _, p := range ps {
		f := p.Frozen
		e.arr(10)
		e.id(p.ID)
		e.id(p.Post)
		e.id(p.Opener)
		e.u(uint64(p.Kind))
		e.u(p.Fee)
		e.u(p.OpenBatch)
		e.u(p.CloseLive)
		e.arr(8)
		e.u(f.QuorumPPM)
		e.u(f.WinNum)
		e.u(f.WinDen)
		e.u(f.BindingPPM)
		e.flag(f.Redistribute)
		e.u(f.MintRatioPPM)
		e.u(f.MintCapPPM)
		e.u(f.GenesisMintMax)
		e.arr(len(p.Barred))
		for _, a := range p.Barred {
			e.id(a)
		}
		e.arr(len(p.Votes))
		for _, v := range p.Votes {
			e.arr(3)
			e.id(v.Voter)
			e.u(uint64(v.Side))
			e.u(v.Stake)
		}
		e.row()
	}
}

// Keys of the totals rows.
const (
	totLive        = 1
	totMinted      = 2
	totBurned      = 3
	totForgiven    = 4
	totCrGenesis   = 5
	totDeposits    = 6
	totWithdrawals = 7
	totPot         = 8
	totWitnesses0  = 20
	totWitnesses1  = 21
	totEquivPend   = 22
)

// totalsRows: [key, value] rows by ascending key; see docs/protocol.md (State root).
func (s *State) totalsRows(e *rowEnc) {
	t := s.rep.Totals()
	c := s.cr.Totals()
	scalar := func(k, v uint64) {
		e.arr(2)
		e.u(k)
		e.u(v)
	}
	e.arr(11)
	scalar(totLive, s.live)
	scalar(totMinted, t.Minted)
	scalar(totBurned, t.Burned)
	scalar(totForgiven, t.Forgiven)
	scalar(totCrGenesis, c.Genesis)
	scalar(totDeposits, c.Deposits)
	scalar(totWithdrawals, c.Withdrawals)
	scalar(totPot, c.Pot)
	for i, k := range []uint64{totWitnesses0, totWitnesses1} {
		w := s.witnesses[i]
		e.arr(2)
		e.u(k)
		e.arr(len(w.Members))
		for j := range w.Members {
			e.arr(2)
			e.id(w.Members[j])
			e.u(w.Weights[j])
		}
	}
	e.arr(2)
	e.u(totEquivPend)
	e.arr(len(s.equivPending))
	for _, a := range s.equivPending {
		e.id(a)
	}
}
