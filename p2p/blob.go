package p2p

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
)

// Blob errors callers branch on.
var (
	// ErrNoProvider: no connected peer holds the blob.
	ErrNoProvider = errors.New("p2p: no connected peer has the blob")
	// ErrCorruptBlob: a peer sent bytes whose hash is not the blob id.
	ErrCorruptBlob = errors.New("p2p: blob content does not match its id")
	// ErrNoBlobs: the host was started without a BlobStore.
	ErrNoBlobs = errors.New("p2p: blob protocol is off")
)

const (
	corruptPenalty = 50.0 // a blob whose bytes do not hash to its id
	haveFanout     = 16   // concurrent HAVE queries during provider search
)

type blobService struct {
	h       *Host
	mu      sync.Mutex
	serving map[peer.ID]int           // requests being served, per peer
	asking  map[peer.ID]chan struct{} // our requests in flight, per peer
}

func newBlobService(h *Host) *blobService {
	return &blobService{h: h, serving: map[peer.ID]int{}, asking: map[peer.ID]chan struct{}{}}
}

// serve answers one request (HAVE or GET) per stream. A peer with
// BlobRequestsPerPeer requests already being served gets END busy at once.
func (b *blobService) serve(stream network.Stream) {
	defer stream.Close()
	p := stream.Conn().RemotePeer()
	c := newFrameConn(stream, b.h.cfg.maxFrame, b.h.cfg.streamTimeout)
	b.mu.Lock()
	busy := b.serving[p] >= BlobRequestsPerPeer
	if !busy {
		b.serving[p]++
	}
	b.mu.Unlock()
	if busy {
		b.h.m.blobs.WithLabelValues("serve_busy").Inc()
		_ = c.send(frameEnd, []byte{statusBusy})
		return
	}
	// The slot is released before the last frame goes out, so a client that
	// has read our answer always finds its slot free again.
	var once sync.Once
	release := func() {
		once.Do(func() {
			b.mu.Lock()
			if b.serving[p]--; b.serving[p] <= 0 {
				delete(b.serving, p)
			}
			b.mu.Unlock()
		})
	}
	defer release()
	typ, payload, err := c.read()
	if err != nil {
		stream.Reset()
		return
	}
	switch {
	case typ == frameBlobHave && len(payload) == 32:
		err = b.serveHave(c, msg.ID(payload), release)
	case typ == frameBlobGet && len(payload) == 36:
		pp := be{b: payload}
		id := msg.ID(pp.take(32))
		err = b.serveGet(c, id, pp.getU32(), release)
	default:
		release()
		_ = c.send(frameEnd, []byte{statusBadRequest})
		b.h.Penalize(p, protocolPenalty, "bad blob request")
		return
	}
	if err != nil {
		b.h.m.blobs.WithLabelValues("serve_error").Inc()
		stream.Reset()
	}
}

func (b *blobService) serveHave(c *frameConn, id msg.ID, release func()) error {
	size, ok, err := b.h.deps.Blobs.BlobSize(id)
	if err != nil {
		return err
	}
	var pl be
	if ok {
		pl.u8(1)
	} else {
		pl.u8(0)
	}
	pl.u64(uint64(size))
	release()
	return c.send(frameBlobInfo, pl.b)
}

func (b *blobService) serveGet(c *frameConn, id msg.ID, first uint32, release func()) error {
	size, ok, err := b.h.deps.Blobs.BlobSize(id)
	if err != nil {
		return err
	}
	if !ok {
		b.h.m.blobs.WithLabelValues("serve_notfound").Inc()
		release()
		return c.send(frameEnd, []byte{statusNotFound})
	}
	var pl be
	pl.u8(1)
	pl.u64(uint64(size))
	if err := c.send(frameBlobInfo, pl.b); err != nil {
		return err
	}
	chunks := uint32((size + BlobChunkSize - 1) / BlobChunkSize)
	for i := first; i < chunks; i++ {
		data, ok, err := b.h.deps.Blobs.BlobChunk(id, i)
		if err != nil {
			return err
		}
		if !ok {
			release()
			return c.send(frameEnd, []byte{statusInternal})
		}
		var ch be
		ch.b = make([]byte, 0, 4+len(data))
		ch.u32(i)
		ch.raw(data)
		if err := c.send(frameBlobChunk, ch.b); err != nil {
			return err
		}
	}
	b.h.m.blobs.WithLabelValues("serve_ok").Inc()
	release()
	return c.send(frameEnd, []byte{statusOK})
}

// slot takes one of our BlobRequestsPerPeer request slots towards p.
func (b *blobService) slot(ctx context.Context, p peer.ID) (func(), error) {
	b.mu.Lock()
	ch, ok := b.asking[p]
	if !ok {
		ch = make(chan struct{}, BlobRequestsPerPeer)
		b.asking[p] = ch
	}
	b.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// have asks p whether it holds id.
func (b *blobService) have(ctx context.Context, p peer.ID, id msg.ID) (bool, int64, error) {
	release, err := b.slot(ctx, p)
	if err != nil {
		return false, 0, err
	}
	defer release()
	s, err := b.h.h.NewStream(ctx, p, BlobProtocol)
	if err != nil {
		return false, 0, err
	}
	defer s.Close()
	return b.haveOn(newFrameConn(s, b.h.cfg.maxFrame, b.h.cfg.streamTimeout), id)
}

func (b *blobService) haveOn(c *frameConn, id msg.ID) (bool, int64, error) {
	if err := c.send(frameBlobHave, id[:]); err != nil {
		return false, 0, err
	}
	_, payload, err := c.expect(frameBlobInfo)
	if err != nil {
		return false, 0, err
	}
	pp := be{b: payload}
	has, size := pp.getU8(), pp.getU64()
	if !pp.done() || has > 1 {
		return false, 0, fmt.Errorf("%w: blob INFO", ErrProtocol)
	}
	return has == 1, int64(size), nil
}

// get fetches the whole blob from p and checks it against id.
func (b *blobService) get(ctx context.Context, p peer.ID, id msg.ID) ([]byte, error) {
	release, err := b.slot(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()
	s, err := b.h.h.NewStream(ctx, p, BlobProtocol)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	c := newFrameConn(s, b.h.cfg.maxFrame, b.h.cfg.streamTimeout)
	var req be
	req.raw(id[:])
	req.u32(0)
	if err := c.send(frameBlobGet, req.b); err != nil {
		return nil, err
	}
	_, payload, err := c.expect(frameBlobInfo)
	if err != nil {
		return nil, err
	}
	pp := be{b: payload}
	has, size := pp.getU8(), pp.getU64()
	if !pp.done() || has != 1 || size > MaxBlobSize {
		return nil, fmt.Errorf("%w: blob INFO (held %d, size %d)", ErrProtocol, has, size)
	}
	content := make([]byte, 0, size)
	chunks := uint32((size + BlobChunkSize - 1) / BlobChunkSize)
	for i := uint32(0); i < chunks; i++ {
		_, payload, err := c.expect(frameBlobChunk)
		if err != nil {
			return nil, err
		}
		cp := be{b: payload}
		idx := cp.getU32()
		data := payload[4:]
		want := min(uint64(BlobChunkSize), size-uint64(i)*BlobChunkSize)
		if cp.bad || idx != i || uint64(len(data)) != want {
			return nil, fmt.Errorf("%w: chunk %d of %d bytes, expected chunk %d of %d", ErrProtocol, idx, len(data), i, want)
		}
		content = append(content, data...)
	}
	typ, end, err := c.read()
	if err != nil {
		return nil, err
	}
	if typ != frameEnd || len(end) != 1 || end[0] != statusOK {
		return nil, fmt.Errorf("%w: blob response did not end cleanly", ErrProtocol)
	}
	if msg.BlobID(content) != id {
		return nil, ErrCorruptBlob
	}
	return content, nil
}

// FetchBlob makes sure the blob is held: if not, it asks every connected peer
// "have?", fetches it from the first that has it, verifies it against id and
// stores it. A peer that sends corrupt bytes is penalised and the next
// provider is tried.
func (h *Host) FetchBlob(ctx context.Context, id msg.ID) error {
	if h.blobs == nil {
		return ErrNoBlobs
	}
	if ok, err := h.deps.Blobs.HasBlob(id); err != nil {
		return fmt.Errorf("fetch blob %s: %w", id.Short(), err)
	} else if ok {
		return nil
	}
	providers := h.blobs.providers(ctx, id)
	if len(providers) == 0 {
		return fmt.Errorf("fetch blob %s: %w", id.Short(), ErrNoProvider)
	}
	var errs []error
	for _, p := range providers {
		if err := h.FetchBlobFrom(ctx, p, id); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	return fmt.Errorf("fetch blob %s from %d providers: %w", id.Short(), len(providers), errors.Join(errs...))
}

// FetchBlobFrom fetches a blob from one peer, verifies and stores it.
func (h *Host) FetchBlobFrom(ctx context.Context, p peer.ID, id msg.ID) error {
	if h.blobs == nil {
		return ErrNoBlobs
	}
	content, err := h.blobs.get(ctx, p, id)
	switch {
	case errors.Is(err, ErrCorruptBlob):
		h.m.blobs.WithLabelValues("fetch_corrupt").Inc()
		h.Penalize(p, corruptPenalty, "corrupt blob")
		return fmt.Errorf("blob %s from %s: %w", id.Short(), p.ShortString(), err)
	case errors.Is(err, ErrProtocol):
		h.m.blobs.WithLabelValues("fetch_error").Inc()
		h.Penalize(p, protocolPenalty, err.Error())
		return fmt.Errorf("blob %s from %s: %w", id.Short(), p.ShortString(), err)
	case err != nil:
		h.m.blobs.WithLabelValues("fetch_error").Inc()
		return fmt.Errorf("blob %s from %s: %w", id.Short(), p.ShortString(), err)
	}
	if _, err := h.deps.Blobs.PutBlob(ctx, content); err != nil {
		return fmt.Errorf("store blob %s: %w", id.Short(), err)
	}
	h.m.blobs.WithLabelValues("fetch_ok").Inc()
	return nil
}

// providers asks connected peers "have?" (haveFanout at a time) and returns
// those that hold id, fastest answer first.
func (b *blobService) providers(ctx context.Context, id msg.ID) []peer.ID {
	peers := b.h.h.Network().Peers()
	sort.Slice(peers, func(i, j int) bool { return peers[i] < peers[j] })
	type answer struct {
		p   peer.ID
		has bool
	}
	ch := make(chan answer, len(peers))
	sem := make(chan struct{}, haveFanout)
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			has, _, err := b.have(ctx, p, id)
			ch <- answer{p, err == nil && has}
		}()
	}
	wg.Wait()
	close(ch)
	var out []peer.ID
	for a := range ch {
		if a.has {
			out = append(out, a.p)
		}
	}
	return out
}
