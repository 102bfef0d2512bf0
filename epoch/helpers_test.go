package epoch

import (
	"encoding/binary"
	"testing"

	"github.com/guild-net/guild/msg"
)

// testCfg: epochs of 1 s from t = 0, grace 200 ms, θ = 2/3, no weight cap.
var testCfg = Config{
	GenesisTsMs: 0, EpochMs: 1000, GraceMs: 200, ThetaNum: 2, ThetaDen: 3,
	WitnessesN: 32, WitnessesMin: 1, WitnessCapPPM: 1_000_000, MaxHeads: 4096, SigmaMaxMs: 100,
}

func acct(i int) msg.Account {
	var a msg.Account
	a[0] = 0xA0
	binary.BigEndian.PutUint32(a[28:], uint32(i))
	return a
}

// logb builds a log by hand: each author's chain grows from its latest message unless a
// message names another prev (a fork).
type logb struct {
	msgs   []*Message
	byID   map[msg.ID]*Message
	latest map[msg.Account]*Message
	salt   uint32
}

func newLog() *logb {
	return &logb{byID: map[msg.ID]*Message{}, latest: map[msg.Account]*Message{}}
}

func (l *logb) mk(author msg.Account, prev *Message, ts uint64, cp *CheckpointInfo, parents ...*Message) *Message {
	l.salt++
	seq := uint64(1)
	m := &Message{Author: author, TsMs: ts, Checkpoint: cp}
	if prev != nil {
		seq = prev.Seq + 1
		m.Prev = prev.ID
	}
	m.Seq = seq
	for _, p := range parents {
		m.Parents = append(m.Parents, p.ID)
	}
	sortIDs(m.Parents)
	var b [40]byte
	copy(b[:32], author[:])
	binary.BigEndian.PutUint32(b[32:], l.salt)
	binary.BigEndian.PutUint32(b[36:], uint32(seq))
	m.ID = msg.TaggedHash("test/msg\x00", b[:])
	l.msgs = append(l.msgs, m)
	l.byID[m.ID] = m
	if cur := l.latest[author]; cur == nil || cur.Seq < m.Seq || cur == prev {
		l.latest[author] = m
	}
	return m
}

// post appends a message to author's chain.
func (l *logb) post(author msg.Account, ts uint64, parents ...*Message) *Message {
	return l.mk(author, l.latest[author], ts, nil, parents...)
}

// cp appends a checkpoint for epoch k listing heads.
func (l *logb) cp(author msg.Account, k, ts uint64, heads ...*Message) *Message {
	return l.mk(author, l.latest[author], ts, cpInfo(k, heads...))
}

func cpInfo(k uint64, heads ...*Message) *CheckpointInfo {
	c := &CheckpointInfo{Epoch: k}
	for _, h := range heads {
		c.Heads = append(c.Heads, msg.Head{Author: h.Author, Seq: h.Seq, ID: h.ID})
	}
	return c
}

func (l *logb) engine(t testing.TB) *Engine {
	t.Helper()
	e := NewEngine(testCfg)
	for _, m := range l.msgs {
		if _, err := e.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func equalWS(n int) WitnessSet {
	ws := WitnessSet{}
	for i := 0; i < n; i++ {
		ws.Members = append(ws.Members, acct(i))
		ws.Weights = append(ws.Weights, 1)
		ws.Total++
	}
	return ws.WithTheta(2, 3)
}

func weightedWS(ws ...uint64) WitnessSet {
	s := WitnessSet{}
	for i, w := range ws {
		s.Members = append(s.Members, acct(i))
		s.Weights = append(s.Weights, w)
		s.Total += w
	}
	return s.WithTheta(2, 3)
}

// cuts computes C_0…C_last with one witness set for every epoch.
func cuts(e *Engine, last uint64, ws func(k uint64) WitnessSet) ([]*Cut, []*Batch) {
	var cs []*Cut
	var bs []*Batch
	var prev *Cut
	for k := uint64(0); k <= last; k++ {
		c, b := e.Cut(k, ws(k), prev)
		cs = append(cs, c)
		bs = append(bs, b)
		prev = c
	}
	return cs, bs
}

func fixed(ws WitnessSet) func(uint64) WitnessSet { return func(uint64) WitnessSet { return ws } }

// batchOf gives the epoch whose batch holds id, or -1.
func batchOf(bs []*Batch, id msg.ID) int {
	for _, b := range bs {
		for _, x := range b.IDs {
			if x == id {
				return int(b.Epoch)
			}
		}
	}
	return -1
}
