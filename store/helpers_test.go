package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/guild-net/guild/msg"
)

// rec builds a deterministic record: author a, sequence seq, variant v (to
// make forks), an envelope of size bytes, and ID = BLAKE3(envelope) as for
// real messages.
func rec(a byte, seq uint64, v byte, size int) Record {
	env := make([]byte, size)
	binary.BigEndian.PutUint64(env, seq)
	env[8] = a
	env[9] = v
	for i := 10; i < size; i++ {
		env[i] = byte(i*7) ^ a ^ byte(seq) ^ v
	}
	return Record{
		ID:       msg.BlobID(env),
		Author:   acct(a),
		Seq:      seq,
		Envelope: env,
		RecvMs:   1_700_000_000_000 + int64(seq)*10 + int64(a),
	}
}

func acct(a byte) msg.Account {
	var x msg.Account
	x[0] = a
	x[31] = 0xa5
	return x
}

func sameRecord(t *testing.T, got, want Record) {
	t.Helper()
	if got.ID != want.ID || got.Author != want.Author || got.Seq != want.Seq || got.RecvMs != want.RecvMs ||
		!bytes.Equal(got.Envelope, want.Envelope) {
		t.Fatalf("record mismatch:\n got  id=%s author=%x seq=%d recv=%d env=%d bytes\n want id=%s author=%x seq=%d recv=%d env=%d bytes",
			got.ID.Short(), got.Author[:2], got.Seq, got.RecvMs, len(got.Envelope),
			want.ID.Short(), want.Author[:2], want.Seq, want.RecvMs, len(want.Envelope))
	}
}

// backends runs f against the pebble store and the in-memory store. reopen
// closes the store and opens it again (for memory it returns a fresh store,
// so persistence tests use pebble only).
func backends(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("pebble", func(t *testing.T) {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		f(t, s)
	})
	t.Run("memory", func(t *testing.T) {
		s := OpenMemory()
		t.Cleanup(func() { _ = s.Close() })
		f(t, s)
	})
}

func mustPut(t *testing.T, s *Store, r Record) {
	t.Helper()
	if err := s.PutSync(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func allIDs(t *testing.T, s *Store) []msg.ID {
	t.Helper()
	var ids []msg.ID
	if err := s.All(func(r Record) bool { ids = append(ids, r.ID); return true }); err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkConsistency walks the raw keys and checks that every index entry and
// every record agree: what a crash must never break, since each group is one
// atomic batch.
func checkConsistency(t *testing.T, s *Store) int {
	t.Helper()
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := map[uint64]Record{}
	maxSeq := map[msg.Account]uint64{}
	err := s.kv.scan(pRecord, "", "", false, func(k, v []byte) (bool, error) {
		n, err := hexU64(k, len(pRecord))
		if err != nil {
			return false, err
		}
		r, err := parseRecord(bytes.Clone(v))
		if err != nil {
			return false, err
		}
		recs[n] = r
		if cur, ok := maxSeq[r.Author]; !ok || r.Seq > cur {
			maxSeq[r.Author] = r.Seq
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for n, r := range recs {
		for _, k := range []string{idKey(r.ID), authorKey(r.Author, r.Seq, r.ID)} {
			v, ok, err := s.kv.get(k)
			if err != nil || !ok {
				t.Fatalf("record %d (%s): index %s missing (%v)", n, r.ID.Short(), k, err)
			}
			if got, _ := parseU64(v); got != n {
				t.Fatalf("index %s points at %d, want %d", k, got, n)
			}
		}
		if ok, err := s.kv.has(recvIndexKey(r.RecvMs, n)); err != nil || !ok {
			t.Fatalf("record %d: receive-time index missing (%v)", n, err)
		}
	}
	count := func(prefix string) int {
		c := 0
		if err := s.kv.scan(prefix, "", "", false, func(_, _ []byte) (bool, error) { c++; return true, nil }); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := count(pID); c != len(recs) {
		t.Fatalf("%d id index entries for %d records", c, len(recs))
	}
	if c := count(pAuthor); c != len(recs) {
		t.Fatalf("%d (author, seq) index entries for %d records", c, len(recs))
	}
	if c := count(pRecv); c != len(recs) {
		t.Fatalf("%d receive-time index entries for %d records", c, len(recs))
	}
	heads, err := s.Heads()
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != len(maxSeq) {
		t.Fatalf("%d heads for %d authors", len(heads), len(maxSeq))
	}
	for _, h := range heads {
		if maxSeq[h.Author] != h.Seq {
			t.Fatalf("head of %x is %d, records say %d", h.Author[:2], h.Seq, maxSeq[h.Author])
		}
	}
	return len(recs)
}

// countFS counts WAL writes and fsyncs, to check that "durable" really means
// "fsynced" without relying on timing.
type countFS struct {
	vfs.FS
	mu      sync.Mutex
	written int64 // bytes written to WAL files
	synced  int64 // value of written at the last WAL fsync
	syncs   int
}

func (c *countFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &countFile{File: f, c: c}, nil
}

func (c *countFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := c.FS.Create(name, cat)
	return c.wrap(name, f, err)
}

func (c *countFS) ReuseForWrite(old, name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := c.FS.ReuseForWrite(old, name, cat)
	return c.wrap(name, f, err)
}

func (c *countFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := c.FS.OpenReadWrite(name, cat, opts...)
	return c.wrap(name, f, err)
}

// unsynced returns WAL bytes written but not yet covered by an fsync, and the
// number of fsyncs so far.
func (c *countFS) state() (unsynced int64, syncs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.written - c.synced, c.syncs
}

type countFile struct {
	vfs.File
	c *countFS
}

func (f *countFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.c.mu.Lock()
	f.c.written += int64(n)
	f.c.mu.Unlock()
	return n, err
}

func (f *countFile) sync(err error) error {
	if err == nil {
		f.c.mu.Lock()
		f.c.synced = f.c.written
		f.c.syncs++
		f.c.mu.Unlock()
	}
	return err
}

// Syncing one WAL file does not sync another, but pebble writes only the
// newest WAL; a rotation closes (and syncs) the old one first.
func (f *countFile) Sync() error     { return f.sync(f.File.Sync()) }
func (f *countFile) SyncData() error { return f.sync(f.File.SyncData()) }

func (f *countFile) SyncTo(length int64) (bool, error) {
	full, err := f.File.SyncTo(length)
	if full {
		return full, f.sync(err)
	}
	return full, err
}
