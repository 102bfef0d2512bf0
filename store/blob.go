package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/guild-net/guild/msg"
)

// Blob limits of SPEC §5. Chunks are stored under their own keys so the blob
// protocol can serve one chunk without loading the whole blob.
const (
	BlobChunkSize = 256 << 10
	MaxBlobSize   = 64 << 20
)

// Metadata limits: metadata is for small node facts (own seq, config).
const (
	MaxMetaKey   = 256
	MaxMetaValue = 1 << 20
)

// PutBlob stores content under its id (BLAKE3-256 of content) and returns the
// id once the blob is durable. Storing a blob that is already present is a
// cheap no-op. The chunks and the size marker are one atomic batch, so a crash
// leaves the blob either whole or absent.
func (s *Store) PutBlob(ctx context.Context, content []byte) (msg.ID, error) {
	if !s.enter() {
		return msg.ID{}, ErrClosed
	}
	defer s.exit()
	if len(content) > MaxBlobSize {
		return msg.ID{}, fmt.Errorf("put blob of %d bytes: %w (limit %d)", len(content), ErrBlobTooLarge, MaxBlobSize)
	}
	id := msg.BlobID(content)
	if ok, err := s.kv.has(blobKey(id)); err != nil || ok {
		return id, err
	}
	if err := ctx.Err(); err != nil {
		return msg.ID{}, fmt.Errorf("put blob %s: %w", id.Short(), err)
	}
	ws := make([]kvw, 0, len(content)/BlobChunkSize+2)
	for i := 0; i*BlobChunkSize < len(content); i++ {
		end := min((i+1)*BlobChunkSize, len(content))
		// The engine may keep the slice (the map datastore does), so each
		// chunk gets its own copy rather than aliasing the caller's buffer.
		chunk := append([]byte(nil), content[i*BlobChunkSize:end]...)
		ws = append(ws, kvw{chunkKey(id, uint32(i)), chunk})
	}
	ws = append(ws, kvw{blobKey(id), u64bytes(uint64(len(content)))})
	if err := s.kv.commit(ws); err != nil {
		return msg.ID{}, fmt.Errorf("put blob %s: %w", id.Short(), err)
	}
	return id, nil
}

// BlobSize returns the size of a stored blob.
func (s *Store) BlobSize(id msg.ID) (int64, bool, error) {
	if !s.enter() {
		return 0, false, ErrClosed
	}
	defer s.exit()
	return s.blobSize(id)
}

func (s *Store) blobSize(id msg.ID) (int64, bool, error) {
	v, ok, err := s.kv.get(blobKey(id))
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := parseU64(v)
	if err != nil {
		return 0, false, fmt.Errorf("blob %s size: %w", id.Short(), err)
	}
	return int64(n), true, nil
}

// HasBlob reports whether the blob is stored (completely: blobs are written
// atomically).
func (s *Store) HasBlob(id msg.ID) (bool, error) {
	if !s.enter() {
		return false, ErrClosed
	}
	defer s.exit()
	return s.kv.has(blobKey(id))
}

// GetBlob returns the whole content of a stored blob.
func (s *Store) GetBlob(id msg.ID) ([]byte, bool, error) {
	return s.AppendBlob(nil, id)
}

// AppendBlob appends the whole content of a stored blob to dst, for a reader that
// reuses one buffer over many blobs (a rebuild reads every checkpoint's heads blob).
func (s *Store) AppendBlob(dst []byte, id msg.ID) ([]byte, bool, error) {
	if !s.enter() {
		return dst, false, ErrClosed
	}
	defer s.exit()
	size, ok, err := s.blobSize(id)
	if err != nil || !ok {
		return dst, false, err
	}
	out := slices.Grow(dst, int(size))
	base := len(dst)
	if size <= BlobChunkSize {
		// One chunk (or none, for an empty blob): a point read, not a scan.
		if size > 0 {
			out, ok, err = s.kv.appendValue(out, chunkKey(id, 0))
			if err == nil && (!ok || int64(len(out)-base) != size) {
				err = fmt.Errorf("%w: %d of %d bytes present", ErrCorrupt, len(out)-base, size)
			}
			if err != nil {
				return dst, false, fmt.Errorf("get blob %s: %w", id.Short(), err)
			}
		}
		return out, true, nil
	}
	var next uint64
	prefix := chunkPrefix(id)
	err = s.kv.scan(prefix, "", "", false, func(k, v []byte) (bool, error) {
		i, err := hexU32(k, len(prefix))
		if err != nil {
			return false, err
		}
		if uint64(i) != next || int64(len(out)-base+len(v)) > size {
			return false, fmt.Errorf("%w: chunk %d out of place", ErrCorrupt, i)
		}
		next++
		out = append(out, v...)
		return true, nil
	})
	if err == nil && int64(len(out)-base) != size {
		err = fmt.Errorf("%w: %d of %d bytes present", ErrCorrupt, len(out)-base, size)
	}
	if err != nil {
		return dst, false, fmt.Errorf("get blob %s: %w", id.Short(), err)
	}
	return out, true, nil
}

// BlobChunk returns chunk i (BlobChunkSize bytes, the last one shorter) of a
// stored blob; ok is false if the blob or the chunk does not exist.
func (s *Store) BlobChunk(id msg.ID, i uint32) ([]byte, bool, error) {
	if !s.enter() {
		return nil, false, ErrClosed
	}
	defer s.exit()
	v, ok, err := s.kv.get(chunkKey(id, i))
	if err != nil {
		return nil, false, fmt.Errorf("blob %s chunk %d: %w", id.Short(), i, err)
	}
	return v, ok, nil
}

// Blobs calls fn for every stored blob in id order until fn returns false.
func (s *Store) Blobs(fn func(id msg.ID, size int64) bool) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	err := s.kv.scan(pBlob, "", "", false, func(k, v []byte) (bool, error) {
		var id msg.ID
		if err := hexField(k, len(pBlob), id[:]); err != nil {
			return false, err
		}
		n, err := parseU64(v)
		if err != nil {
			return false, err
		}
		return fn(id, int64(n)), nil
	})
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	return nil
}

// PutMeta durably sets a metadata value (small node facts such as the own
// sequence number). key is 1–MaxMetaKey bytes, val at most MaxMetaValue.
func (s *Store) PutMeta(ctx context.Context, key string, val []byte) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.exit()
	if len(key) == 0 || len(key) > MaxMetaKey {
		return fmt.Errorf("put meta: %w: %d bytes", ErrBadMetaKey, len(key))
	}
	if len(val) > MaxMetaValue {
		return fmt.Errorf("put meta %q: value of %d bytes over %d", key, len(val), MaxMetaValue)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	if err := s.kv.commit([]kvw{{metaKey(key), append([]byte{}, val...)}}); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	return nil
}

// GetMeta returns a metadata value.
func (s *Store) GetMeta(key string) ([]byte, bool, error) {
	if !s.enter() {
		return nil, false, ErrClosed
	}
	defer s.exit()
	if len(key) == 0 || len(key) > MaxMetaKey {
		return nil, false, fmt.Errorf("get meta: %w: %d bytes", ErrBadMetaKey, len(key))
	}
	v, ok, err := s.kv.get(metaKey(key))
	if err != nil {
		return nil, false, fmt.Errorf("get meta %q: %w", key, err)
	}
	return v, ok, nil
}
