package msg

import (
	"reflect"
	"strings"
)

// StoredDecoder is DecodeStored for a rebuild, which decodes every envelope of
// the node's store and keeps every one for the life of the node. It decodes
// exactly as DecodeStored does, to the same values, with two differences.
//
// What an envelope holds (the envelope with its payload, its parents, a post's
// title and text) is carved from slabs shared with the envelopes decoded before
// and after it, instead of three allocations of its own. A rebuild then costs a
// few thousand allocations instead of a quarter of a million, and the collector
// has that many fewer objects to mark on every cycle for as long as the node runs.
// The price is that one kept envelope keeps its slabs alive (64 KiB each of
// envelopes, parent ids and text): use it only where every envelope decoded is
// kept, or dropped together with the rest.
//
// And the envelope does not keep its bytes: Raw and Body.Payload are nil, and
// data may be reused once Decode returns. The store the bytes came from holds
// them, for sync to serve; a copy in memory would add a third to what the node
// holds per message.
//
// Everything else (gossip, sync, the API) decodes with Decode. A StoredDecoder is
// not safe for concurrent use.
type StoredDecoder struct {
	o Options
	a arena
}

// NewStoredDecoder gives a decoder for the stored envelopes of the network of o.
func NewStoredDecoder(o Options) *StoredDecoder { return &StoredDecoder{o: o} }

// Decode is DecodeStored(data, id, o), o being the decoder's options, except that
// the envelope keeps nothing of data.
func (d *StoredDecoder) Decode(data []byte, id ID) (*Envelope, error) {
	e, err := decode(data, d.o, &d.a)
	if err != nil {
		return nil, err
	}
	e.ID = id
	e.Raw, e.Body.Payload = nil, nil
	return e, nil
}

// Slab sizes of an arena. Every full slab is slabBytes, a whole number of the
// runtime's 8 KiB pages: an allocation above 32 KiB takes whole pages, so a slab
// of 128 posts (74,752 bytes) would waste a tenth of its last page run. An
// envelope slab starts small and doubles up to that size, so that a kind a log
// holds a handful of costs little.
const (
	slabBytes = 64 << 10
	idSlab    = slabBytes / 32 // ids are 32 bytes
	textSlab  = slabBytes
)

// arena is where a StoredDecoder carves envelopes from: one slab of envelopes
// per payload type (each element the envelope and its payload, as alloc would
// allocate them), one of ids for the parents, one of text.
type arena struct {
	posts          slab[withEnvelope[postBuf]]
	poolOpens      slab[withEnvelope[PoolOpen]]
	votes          slab[withEnvelope[Vote]]
	availabilities slab[withEnvelope[Availability]]
	unstakes       slab[withEnvelope[Unstake]]
	requests       slab[withEnvelope[requestBuf]]
	commits        slab[withEnvelope[Commit]]
	reveals        slab[withEnvelope[Reveal]]
	deposits       slab[withEnvelope[Deposit]]
	withdrawals    slab[withEnvelope[Withdraw]]
	checkpoints    slab[withEnvelope[checkpointBuf]]

	idFree []ID
	text   strings.Builder
}

// slabFor gives a's slab of envelopes with payload type T.
func slabFor[T any](a *arena) *slab[withEnvelope[T]] {
	var s any
	switch any((*T)(nil)).(type) {
	case *postBuf:
		s = &a.posts
	case *PoolOpen:
		s = &a.poolOpens
	case *Vote:
		s = &a.votes
	case *Availability:
		s = &a.availabilities
	case *Unstake:
		s = &a.unstakes
	case *requestBuf:
		s = &a.requests
	case *Commit:
		s = &a.commits
	case *Reveal:
		s = &a.reveals
	case *Deposit:
		s = &a.deposits
	case *Withdraw:
		s = &a.withdrawals
	case *checkpointBuf:
		s = &a.checkpoints
	}
	return s.(*slab[withEnvelope[T]])
}

// slab hands out zeroed Ts carved from shared arrays.
type slab[T any] struct {
	free []T
	n    int // length of the last array
}

func (s *slab[T]) next() *T {
	if len(s.free) == 0 {
		full := max(slabBytes/int(reflect.TypeFor[T]().Size()), 1)
		s.n = min(max(2*s.n, 4), full)
		s.free = make([]T, s.n)
	}
	x := &s.free[0]
	s.free = s.free[1:]
	return x
}

// ids gives n zeroed ids, capped so that an append cannot reach the next list.
func (a *arena) ids(n int) []ID {
	if len(a.idFree) < n {
		a.idFree = make([]ID, max(idSlab, n))
	}
	ids := a.idFree[:n:n]
	a.idFree = a.idFree[n:]
	return ids
}

// texts is joinTexts with the string carved from the arena's text buffer. A
// strings.Builder never changes bytes it has handed out in a string and never
// reuses its buffer after Reset, so each string stays as it was made. A pair
// above a sixteenth of the buffer gets its own allocation, so that none wastes
// more than that of a buffer's tail.
func (a *arena) texts(x, y []byte) (string, string) {
	n := len(x) + len(y)
	if n > textSlab/16 {
		return joinTexts(x, y)
	}
	if a.text.Cap()-a.text.Len() < n {
		a.text.Reset()
		a.text.Grow(textSlab)
	}
	start := a.text.Len()
	a.text.Write(x)
	a.text.Write(y)
	s := a.text.String()[start:]
	return s[:len(x)], s[len(x):]
}
