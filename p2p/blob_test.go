package p2p

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

func blobContent(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ salt ^ byte(i>>11)
	}
	return b
}

// corruptBlobs serves its store's blobs with one byte of chunk 2 flipped.
type corruptBlobs struct{ *store.Store }

func (c corruptBlobs) BlobChunk(id msg.ID, i uint32) ([]byte, bool, error) {
	data, ok, err := c.Store.BlobChunk(id, i)
	if ok && i == 2 {
		data = bytes.Clone(data)
		data[100] ^= 1
	}
	return data, ok, err
}

func TestBlobTransferMultiChunk(t *testing.T) {
	content := blobContent(5*BlobChunkSize+1234, 1) // six chunks, the last short
	good := newNode(t, 0, nodeOpts{memory: true, blobs: true})
	id, err := good.st.PutBlob(context.Background(), content)
	if err != nil {
		t.Fatal(err)
	}
	// A peer that serves the same blob with a corrupt chunk.
	bad := &chainNode{tb: t, key: keyFor(9), st: store.OpenMemory(store.WithLogger(testLogger()))}
	if _, err := bad.st.PutBlob(context.Background(), content); err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), Deps{Key: bad.key, Network: testNet, Validator: bad, Ingester: bad,
		Log: StoreLog{Store: bad.st}, Blobs: corruptBlobs{bad.st}},
		WithListenAddrs("/ip4/127.0.0.1/tcp/0"), WithMDNS(false), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	bad.host = h
	t.Cleanup(func() { _ = h.Close(); _ = bad.st.Close() })

	client := newNode(t, 1, nodeOpts{memory: true, blobs: true})
	connect(t, client, bad)
	ctx := context.Background()

	err = client.host.FetchBlobFrom(ctx, bad.host.ID(), id)
	if !errors.Is(err, ErrCorruptBlob) {
		t.Fatalf("corrupt peer: %v, want ErrCorruptBlob", err)
	}
	if ok, _ := client.st.HasBlob(id); ok {
		t.Fatal("corrupt blob was stored")
	}
	if s := client.host.appScore(bad.host.ID()); s > -corruptPenalty+1 {
		t.Fatalf("corrupt peer's application score %v", s)
	}
	// Only the corrupt peer: provider search finds it, and fails.
	if err := client.host.FetchBlob(ctx, id); !errors.Is(err, ErrCorruptBlob) {
		t.Fatalf("FetchBlob with only a corrupt provider: %v", err)
	}
	// With an honest provider connected too, the blob arrives whole.
	connect(t, client, good)
	if err := client.host.FetchBlob(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, ok, err := client.st.GetBlob(id)
	if err != nil || !ok || !bytes.Equal(got, content) {
		t.Fatalf("stored blob: ok=%v err=%v equal=%v", ok, err, bytes.Equal(got, content))
	}
	// Held blobs are not fetched again; unknown ones have no provider.
	if err := client.host.FetchBlob(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := client.host.FetchBlob(ctx, msg.BlobID([]byte("nobody has this"))); !errors.Is(err, ErrNoProvider) {
		t.Fatalf("unknown blob: %v", err)
	}
}

func TestBlobServerLimitsConcurrentRequestsPerPeer(t *testing.T) {
	server := newNode(t, 0, nodeOpts{memory: true, blobs: true})
	client := newNode(t, 1, nodeOpts{memory: true, blobs: true})
	content := blobContent(40<<20, 2) // large enough to stall unread streams
	id, err := server.st.PutBlob(context.Background(), content)
	if err != nil {
		t.Fatal(err)
	}
	small, err := server.st.PutBlob(context.Background(), []byte("small"))
	if err != nil {
		t.Fatal(err)
	}
	connect(t, client, server)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Eight raw GETs that read only the INFO frame: the server now has eight
	// requests of ours in flight, stalled on flow control.
	var open []*frameConn
	for i := 0; i < BlobRequestsPerPeer; i++ {
		s, err := client.host.h.NewStream(ctx, server.host.ID(), BlobProtocol)
		if err != nil {
			t.Fatal(err)
		}
		c := newFrameConn(s, DefaultMaxFrame, 10*time.Second)
		req := append(id[:], 0, 0, 0, 0)
		if err := c.send(frameBlobGet, req); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.expect(frameBlobInfo); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	// The ninth is refused at once.
	_, _, err = client.host.blobs.haveRaw(ctx, server.host.ID(), small)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("ninth request: %v, want ErrBusy", err)
	}
	// Releasing one makes room again.
	open[0].s.Reset()
	eventually(t, 10*time.Second, "a free slot", func() bool {
		has, _, err := client.host.blobs.haveRaw(ctx, server.host.ID(), small)
		return err == nil && has
	})
	for _, c := range open[1:] {
		c.s.Reset()
	}
	// Our own client never exceeds the limit: 12 concurrent fetches queue
	// behind 8 slots and all succeed.
	ids := make([]msg.ID, 12)
	for i := range ids {
		ids[i], err = server.st.PutBlob(ctx, blobContent(BlobChunkSize+i, byte(10+i)))
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "server slots drained", func() bool {
		server.host.blobs.mu.Lock()
		defer server.host.blobs.mu.Unlock()
		return len(server.host.blobs.serving) == 0
	})
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = client.host.FetchBlobFrom(ctx, server.host.ID(), ids[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("fetch %d: %v", i, err)
		}
	}
}

// haveRaw is have without our own slot limit (the serving side's limit is what these tests probe).
func (b *blobService) haveRaw(ctx context.Context, p peer.ID, id msg.ID) (bool, int64, error) {
	s, err := b.h.h.NewStream(ctx, p, BlobProtocol)
	if err != nil {
		return false, 0, err
	}
	defer s.Close()
	return b.haveOn(newFrameConn(s, b.h.cfg.maxFrame, b.h.cfg.streamTimeout), id)
}
