package p2p

import (
	"fmt"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// StoreLog serves sync from a *store.Store. MissingFn, when set, supplies the
// node's wanted ids (orphans' ancestors, unheld checkpoint heads).
type StoreLog struct {
	Store     *store.Store
	MissingFn func() []msg.ID
}

var _ LogSource = StoreLog{}

// Frontier gives, per author, the ids at its highest stored seq plus every id
// of its fork evidence. Every branch tip is there: a branch that stops below
// the author's top seq shares each of its seqs with the other branch, so its
// tip is in a fork pair.
func (l StoreLog) Frontier() ([]Head, error) {
	heads, err := l.Store.Heads()
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	out := make([]Head, 0, len(heads))
	for _, h := range heads {
		ids, err := l.Store.ByAuthorSeq(h.Author, h.Seq)
		if err != nil {
			return nil, fmt.Errorf("frontier: %w", err)
		}
		for _, id := range ids {
			out = append(out, Head{Author: h.Author, Seq: h.Seq, ID: id})
		}
	}
	forked := false
	err = l.Store.Forks(func(f store.Fork) bool {
		out = append(out, Head{Author: f.Author, Seq: f.Seq, ID: f.A}, Head{Author: f.Author, Seq: f.Seq, ID: f.B})
		forked = true
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("frontier: %w", err)
	}
	if forked {
		out = sortHeads(out)
	}
	return out, nil
}

// Range streams the stored envelopes of author in [from, to].
func (l StoreLog) Range(author msg.Account, from, to uint64, fn func(seq uint64, env []byte) bool) error {
	return l.Store.Range(author, from, to, func(r store.Record) bool { return fn(r.Seq, r.Envelope) })
}

// Get returns a stored envelope.
func (l StoreLog) Get(id msg.ID) ([]byte, bool, error) {
	r, ok, err := l.Store.Get(id)
	if err != nil || !ok {
		return nil, ok, err
	}
	return r.Envelope, true, nil
}

// Has reports whether id is stored.
func (l StoreLog) Has(id msg.ID) bool {
	ok, err := l.Store.Has(id)
	return err == nil && ok
}

// Missing asks MissingFn.
func (l StoreLog) Missing() []msg.ID {
	if l.MissingFn == nil {
		return nil
	}
	return l.MissingFn()
}
