package store

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/guild-net/guild/msg"
)

func blobContent(size int, salt byte) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i/BlobChunkSize) ^ byte(i*31) ^ salt
	}
	return b
}

func TestBlobs(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		tests := []struct {
			size   int
			chunks int
		}{
			{0, 0},
			{1, 1},
			{BlobChunkSize - 1, 1},
			{BlobChunkSize, 1},
			{BlobChunkSize + 1, 2},
			{3*BlobChunkSize + 5, 4},
		}
		var ids []msg.ID
		for i, tc := range tests {
			content := blobContent(tc.size, byte(i))
			id, err := s.PutBlob(ctx, content)
			if err != nil {
				t.Fatal(err)
			}
			if id != msg.BlobID(content) {
				t.Fatalf("size %d: id %s is not BLAKE3 of the content", tc.size, id.Short())
			}
			ids = append(ids, id)
			got, ok, err := s.GetBlob(id)
			if err != nil || !ok || !bytes.Equal(got, content) {
				t.Fatalf("size %d: GetBlob ok=%v err=%v equal=%v", tc.size, ok, err, bytes.Equal(got, content))
			}
			// AppendBlob keeps what dst holds and reuses its room.
			dst := append(make([]byte, 0, tc.size+8), "prefix"...)
			app, ok, err := s.AppendBlob(dst, id)
			if err != nil || !ok || string(app[:6]) != "prefix" || !bytes.Equal(app[6:], content) {
				t.Fatalf("size %d: AppendBlob ok=%v err=%v", tc.size, ok, err)
			}
			if tc.size > 0 && &app[0] != &dst[:1][0] {
				t.Fatalf("size %d: AppendBlob did not reuse the room of dst", tc.size)
			}
			size, ok, err := s.BlobSize(id)
			if err != nil || !ok || size != int64(tc.size) {
				t.Fatalf("BlobSize = %d %v %v, want %d", size, ok, err, tc.size)
			}
			for c := 0; c <= tc.chunks; c++ {
				chunk, ok, err := s.BlobChunk(id, uint32(c))
				if err != nil {
					t.Fatal(err)
				}
				if c == tc.chunks {
					if ok {
						t.Fatalf("size %d: chunk %d exists past the end", tc.size, c)
					}
					continue
				}
				end := min((c+1)*BlobChunkSize, tc.size)
				if !ok || !bytes.Equal(chunk, content[c*BlobChunkSize:end]) {
					t.Fatalf("size %d: chunk %d wrong (ok=%v, %d bytes)", tc.size, c, ok, len(chunk))
				}
			}
			// Storing again is a no-op with the same id.
			if again, err := s.PutBlob(ctx, content); err != nil || again != id {
				t.Fatalf("second PutBlob = %s, %v", again.Short(), err)
			}
		}
		missing := msg.BlobID([]byte("never stored"))
		if ok, err := s.HasBlob(missing); ok || err != nil {
			t.Fatalf("HasBlob(missing) = %v %v", ok, err)
		}
		if _, ok, err := s.GetBlob(missing); ok || err != nil {
			t.Fatalf("GetBlob(missing) ok=%v err=%v", ok, err)
		}
		if b, ok, err := s.AppendBlob([]byte("kept"), missing); ok || err != nil || string(b) != "kept" {
			t.Fatalf("AppendBlob(missing) = %q %v %v", b, ok, err)
		}
		seen := map[msg.ID]int64{}
		var prev msg.ID
		err := s.Blobs(func(id msg.ID, size int64) bool {
			if len(seen) > 0 && bytes.Compare(prev[:], id[:]) >= 0 {
				t.Fatal("Blobs not in id order")
			}
			prev = id
			seen[id] = size
			return true
		})
		if err != nil || len(seen) != len(tests) {
			t.Fatalf("Blobs listed %d (%v), want %d", len(seen), err, len(tests))
		}
		for i, id := range ids {
			if seen[id] != int64(tests[i].size) {
				t.Fatalf("Blobs size of %s = %d, want %d", id.Short(), seen[id], tests[i].size)
			}
		}
	})
}

// TestBlobLimit stores a blob of exactly MaxBlobSize on pebble, reopens, and
// reads it back; one byte more is refused.
func TestBlobLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB write")
	}
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := blobContent(MaxBlobSize, 7)
	if _, err := s.PutBlob(ctx, append(big, 0)); !errors.Is(err, ErrBlobTooLarge) {
		t.Fatalf("PutBlob of MaxBlobSize+1: %v, want ErrBlobTooLarge", err)
	}
	id, err := s.PutBlob(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, ok, err := s.GetBlob(id)
	if err != nil || !ok || !bytes.Equal(got, big) {
		t.Fatalf("64 MiB blob after reopen: ok=%v err=%v equal=%v", ok, err, bytes.Equal(got, big))
	}
	last, ok, err := s.BlobChunk(id, MaxBlobSize/BlobChunkSize-1)
	if err != nil || !ok || len(last) != BlobChunkSize {
		t.Fatalf("last chunk: %d bytes, %v %v", len(last), ok, err)
	}
	if _, ok, _ := s.BlobChunk(id, MaxBlobSize/BlobChunkSize); ok {
		t.Fatal("chunk past the 64 MiB end exists")
	}
}

// A blob whose stored chunk no longer has the recorded size is corrupt, not
// silently short, on the one-chunk path as on the many-chunk one.
func TestBlobCorruptChunk(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		for _, size := range []int{100, BlobChunkSize, 2*BlobChunkSize + 3} {
			content := blobContent(size, 7)
			id, err := s.PutBlob(context.Background(), content)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.kv.commit([]kvw{{chunkKey(id, 0), content[:10]}}); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.GetBlob(id); ok || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("size %d with a short first chunk: ok=%v err=%v, want ErrCorrupt", size, ok, err)
			}
		}
	})
}
