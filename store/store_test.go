package store

import (
	"bytes"
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/guild-net/guild/msg"
)

func TestRoundTripAndVisibility(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rec(1, 1, 0, 300)
		if ok, err := s.Has(r.ID); err != nil || ok {
			t.Fatalf("Has before Put = %v, %v", ok, err)
		}
		tk := s.Put(r)
		// Visible before it is durable.
		got, ok, err := s.Get(r.ID)
		if err != nil || !ok {
			t.Fatalf("Get of pending record: %v %v", ok, err)
		}
		sameRecord(t, got, r)
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		got, ok, err = s.Get(r.ID)
		if err != nil || !ok {
			t.Fatalf("Get of committed record: %v %v", ok, err)
		}
		sameRecord(t, got, r)
		// The store keeps its own copies, in and out.
		got.Envelope[0] ^= 0xff
		again, _, _ := s.Get(r.ID)
		sameRecord(t, again, r)

		// A duplicate is a no-op that resolves at once.
		before := s.Stats()
		tk = s.Put(r)
		select {
		case <-tk.Done():
		default:
			t.Fatal("ticket of an already durable record is not resolved")
		}
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if after := s.Stats(); after != before {
			t.Fatalf("duplicate Put wrote: stats %+v → %+v", before, after)
		}
		if ids := allIDs(t, s); len(ids) != 1 {
			t.Fatalf("All has %d records after a duplicate Put, want 1", len(ids))
		}

		// A duplicate of a pending record shares its ticket.
		r2 := rec(1, 2, 0, 300)
		t1, t2 := s.Put(r2), s.Put(r2)
		if t1.g == nil || t1.g != t2.g {
			t.Fatal("duplicate of a pending record does not share the pending ticket")
		}
		if err := t2.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(rec(9, 9, 9, 300).ID); ok {
			t.Fatal("Get of a missing id succeeded")
		}
		if err := s.Put(Record{ID: r.ID, Author: r.Author, Seq: 3}).Wait(ctx); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("empty envelope: %v, want ErrInvalidRecord", err)
		}
	})
}

func TestIndexesAndRange(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		// Authors 3, 1, 2 with seqs 1..5 put in an interleaved order; the
		// first half committed, the second half left pending, so every scan
		// merges both.
		var order []Record
		for seq := uint64(1); seq <= 5; seq++ {
			for _, a := range []byte{3, 1, 2} {
				order = append(order, rec(a, seq, 0, 100+int(seq)))
			}
		}
		for i, r := range order {
			if i == 8 {
				if err := s.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			s.Put(r)
		}
		for _, r := range order {
			ids, err := s.ByAuthorSeq(r.Author, r.Seq)
			if err != nil || len(ids) != 1 || ids[0] != r.ID {
				t.Fatalf("ByAuthorSeq(%x, %d) = %v, %v", r.Author[0], r.Seq, ids, err)
			}
		}
		if ids, err := s.ByAuthorSeq(acct(1), 6); err != nil || len(ids) != 0 {
			t.Fatalf("ByAuthorSeq past head = %v, %v", ids, err)
		}
		tests := []struct {
			from, to uint64
			want     []uint64
		}{
			{0, math.MaxUint64, []uint64{1, 2, 3, 4, 5}},
			{2, 4, []uint64{2, 3, 4}},
			{3, 3, []uint64{3}},
			{5, math.MaxUint64, []uint64{5}},
			{6, 9, nil},
			{4, 2, nil},
		}
		for _, tc := range tests {
			var got []uint64
			err := s.Range(acct(2), tc.from, tc.to, func(r Record) bool {
				sameRecord(t, r, rec(2, r.Seq, 0, 100+int(r.Seq)))
				got = append(got, r.Seq)
				return true
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Range(%d, %d) = %v, %v; want %v", tc.from, tc.to, got, err, tc.want)
			}
		}
		// Early stop.
		n := 0
		if err := s.Range(acct(1), 0, math.MaxUint64, func(Record) bool { n++; return n < 2 }); err != nil || n != 2 {
			t.Fatalf("Range stopped after %d (%v), want 2", n, err)
		}
		heads, err := s.Heads()
		if err != nil {
			t.Fatal(err)
		}
		want := []Head{{acct(1), 5}, {acct(2), 5}, {acct(3), 5}}
		if !slices.Equal(heads, want) {
			t.Fatalf("Heads = %v, want %v", heads, want)
		}
		seq, ids, ok, err := s.AuthorHead(acct(3))
		if err != nil || !ok || seq != 5 || len(ids) != 1 || ids[0] != rec(3, 5, 0, 105).ID {
			t.Fatalf("AuthorHead = %d %v %v %v", seq, ids, ok, err)
		}
		if _, _, ok, err := s.AuthorHead(acct(7)); ok || err != nil {
			t.Fatalf("AuthorHead of unknown author: ok=%v err=%v", ok, err)
		}
		// All is insertion order, across the committed/pending boundary.
		got := allIDs(t, s)
		if len(got) != len(order) {
			t.Fatalf("All returned %d records, want %d", len(got), len(order))
		}
		for i, r := range order {
			if got[i] != r.ID {
				t.Fatalf("All[%d] = %s, want %s", i, got[i].Short(), r.ID.Short())
			}
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if c := checkConsistency(t, s); c != len(order) {
			t.Fatalf("consistency check saw %d records, want %d", c, len(order))
		}
	})
}

func TestForks(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a1, b := rec(4, 1, 0, 90), rec(4, 2, 0, 90)
		mustPut(t, s, a1)
		mustPut(t, s, b)
		// Three variants of seq 1 (one committed above, two pending) and one of
		// the head seq 2.
		x, y, z := rec(4, 1, 1, 90), rec(4, 1, 2, 90), rec(4, 2, 3, 90)
		s.Put(x)
		s.Put(y)
		s.Put(z)
		s.Put(rec(5, 1, 0, 90)) // another author, no fork

		pair := func(seq uint64, p, q msg.ID) Fork {
			if compareID(q, p) < 0 {
				p, q = q, p
			}
			return Fork{Author: acct(4), Seq: seq, A: p, B: q}
		}
		want := []Fork{pair(1, a1.ID, x.ID), pair(1, a1.ID, y.ID), pair(1, x.ID, y.ID), pair(2, b.ID, z.ID)}
		// Key order is (author, seq, A, B) order.
		slices.SortFunc(want, func(p, q Fork) int { return strings.Compare(forkKey(p), forkKey(q)) })
		check := func(stage string) {
			var got []Fork
			if err := s.Forks(func(f Fork) bool { got = append(got, f); return true }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: Forks =\n %v\nwant\n %v", stage, got, want)
			}
			ids, err := s.ByAuthorSeq(acct(4), 1)
			if err != nil || len(ids) != 3 {
				t.Fatalf("%s: ByAuthorSeq at the fork = %d ids (%v), want 3", stage, len(ids), err)
			}
			if !slices.IsSortedFunc(ids, compareID) {
				t.Fatalf("%s: ids at a fork not sorted", stage)
			}
			seq, hid, ok, err := s.AuthorHead(acct(4))
			if err != nil || !ok || seq != 2 || len(hid) != 2 {
				t.Fatalf("%s: AuthorHead = %d, %d ids, %v, %v; want seq 2 with 2 ids", stage, seq, len(hid), ok, err)
			}
		}
		check("pending")
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		check("committed")
	})
}

func compareID(a, b msg.ID) int { return bytes.Compare(a[:], b[:]) }

func TestReceived(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		times := []int64{-5, 0, 10, 10, 20, math.MaxInt64, math.MinInt64}
		for i, ms := range times {
			r := rec(6, uint64(i+1), 0, 50)
			r.RecvMs = ms
			if i == 3 {
				if err := s.Flush(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			s.Put(r)
		}
		tests := []struct {
			from, to int64
			want     []int // indexes into times, in expected order
		}{
			{math.MinInt64, math.MaxInt64, []int{6, 0, 1, 2, 3, 4, 5}},
			{0, 10, []int{1, 2, 3}},
			{10, 10, []int{2, 3}},
			{11, 19, nil},
			{20, math.MaxInt64, []int{4, 5}},
		}
		for _, tc := range tests {
			var got []int
			err := s.Received(tc.from, tc.to, func(r Record) bool {
				got = append(got, int(r.Seq)-1)
				return true
			})
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Received(%d, %d) = %v, %v; want %v", tc.from, tc.to, got, err, tc.want)
			}
		}
	})
}

func TestMeta(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, ok, err := s.GetMeta("own/seq"); ok || err != nil {
		t.Fatalf("GetMeta of unset key: %v %v", ok, err)
	}
	for _, v := range [][]byte{[]byte("1"), []byte("42"), {}} {
		if err := s.PutMeta(ctx, "own/seq", v); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.GetMeta("own/seq")
		if err != nil || !ok || string(got) != string(v) {
			t.Fatalf("GetMeta = %q %v %v, want %q", got, ok, err, v)
		}
	}
	if err := s.PutMeta(ctx, "cfg", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "", []byte("x")); !errors.Is(err, ErrBadMetaKey) {
		t.Fatalf("empty key: %v", err)
	}
	if err := s.PutMeta(ctx, string(make([]byte, MaxMetaKey+1)), nil); !errors.Is(err, ErrBadMetaKey) {
		t.Fatalf("long key: %v", err)
	}
	if err := s.PutMeta(ctx, "big", make([]byte, MaxMetaValue+1)); err == nil {
		t.Fatal("oversized meta value accepted")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, ok, err := s.GetMeta("cfg"); err != nil || !ok || string(v) != "x" {
		t.Fatalf("meta after reopen = %q %v %v", v, ok, err)
	}
	if v, ok, err := s.GetMeta("own/seq"); err != nil || !ok || len(v) != 0 {
		t.Fatalf("empty meta value after reopen = %q %v %v", v, ok, err)
	}
}

func TestReopenPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var first []Record
	for i := 0; i < 300; i++ {
		r := rec(byte(i%7), uint64(i/7+1), 0, 200+i%50)
		first = append(first, r)
		s.Put(r)
	}
	fork := rec(0, 1, 9, 10)
	s.Put(fork)
	blob, err := s.PutBlob(context.Background(), make([]byte, BlobChunkSize+3))
	if err != nil {
		t.Fatal(err)
	}
	// Close must commit what is pending.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range first {
		got, ok, err := s.Get(r.ID)
		if err != nil || !ok {
			t.Fatalf("record %s lost across reopen: %v", r.ID.Short(), err)
		}
		sameRecord(t, got, r)
	}
	var forks int
	if err := s.Forks(func(Fork) bool { forks++; return true }); err != nil || forks != 1 {
		t.Fatalf("forks after reopen = %d, %v", forks, err)
	}
	if ok, err := s.HasBlob(blob); err != nil || !ok {
		t.Fatalf("blob lost across reopen: %v", err)
	}
	// Insertion numbers continue after the last one, so All keeps Put order.
	later := rec(1, 1000, 0, 77)
	mustPut(t, s, later)
	ids := allIDs(t, s)
	if len(ids) != 302 || ids[301] != later.ID || ids[300] != fork.ID || ids[0] != first[0].ID {
		t.Fatalf("All after reopen: %d ids, wrong order", len(ids))
	}
	seq, _, ok, err := s.AuthorHead(acct(1))
	if err != nil || !ok || seq != 1000 {
		t.Fatalf("head after reopen = %d %v %v", seq, ok, err)
	}
	checkConsistency(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestIncompatibleFormat(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.kv.commit([]kvw{{kVersion, []byte("guild-store/0")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("Open of a foreign format = %v, want ErrIncompatible", err)
	}
}

func TestClosed(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		r := rec(1, 1, 0, 10)
		tk := s.Put(r)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := tk.Wait(ctx); err != nil {
			t.Fatalf("ticket of a record pending at Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := s.Put(r).Wait(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Put after Close: %v", err)
		}
		if err := s.PutSync(ctx, r); !errors.Is(err, ErrClosed) {
			t.Fatalf("PutSync after Close: %v", err)
		}
		if _, _, err := s.Get(r.ID); !errors.Is(err, ErrClosed) {
			t.Fatalf("Get after Close: %v", err)
		}
		if err := s.All(func(Record) bool { return true }); !errors.Is(err, ErrClosed) {
			t.Fatalf("All after Close: %v", err)
		}
		if _, err := s.PutBlob(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
			t.Fatalf("PutBlob after Close: %v", err)
		}
	})
}

// TestDurableMeansFsynced checks, through a file system that counts WAL
// writes and fsyncs, that a resolved Ticket or a returned PutSync leaves no
// WAL byte unsynced, and that a group of records costs one fsync.
func TestDurableMeansFsynced(t *testing.T) {
	ctx := context.Background()
	fs := &countFS{FS: vfs.Default}
	// An hour-long window: only size, PutSync or Flush can trigger a commit,
	// so the counts below do not depend on timing.
	s, err := Open(t.TempDir(), withFS(fs), WithGroupCommit(time.Hour, 64))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	_, syncs0 := fs.state()
	if err := s.PutSync(ctx, rec(1, 1, 0, 300)); err != nil {
		t.Fatal(err)
	}
	unsynced, syncs := fs.state()
	if unsynced != 0 || syncs <= syncs0 {
		t.Fatalf("after PutSync: %d WAL bytes unsynced, fsyncs %d → %d", unsynced, syncs0, syncs)
	}

	// 64 Puts fill one group: one commit, one fsync, every ticket resolved.
	g0 := s.Stats().Groups
	_, syncs0 = fs.state()
	var tks []Ticket
	for i := 0; i < 64; i++ {
		tks = append(tks, s.Put(rec(2, uint64(i+1), 0, 300)))
	}
	for _, tk := range tks {
		if err := tk.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	unsynced, syncs = fs.state()
	if unsynced != 0 || syncs != syncs0+1 {
		t.Fatalf("full group: %d WAL bytes unsynced, %d fsyncs, want 0 and 1", unsynced, syncs-syncs0)
	}
	if st := s.Stats(); st.Groups != g0+1 {
		t.Fatalf("full group took %d commits", st.Groups-g0)
	}

	// 10 Puts then a PutSync: the PutSync carries the pending ten in the same
	// fsync.
	_, syncs0 = fs.state()
	tks = tks[:0]
	for i := 0; i < 10; i++ {
		tks = append(tks, s.Put(rec(3, uint64(i+1), 0, 300)))
	}
	for _, tk := range tks {
		select {
		case <-tk.Done():
			t.Fatal("ticket resolved before any commit was due")
		default:
		}
	}
	if err := s.PutSync(ctx, rec(3, 11, 0, 300)); err != nil {
		t.Fatal(err)
	}
	for _, tk := range tks {
		select {
		case <-tk.Done():
		default:
			t.Fatal("PutSync returned before the group it joined was durable")
		}
	}
	unsynced, syncs = fs.state()
	if unsynced != 0 || syncs != syncs0+1 {
		t.Fatalf("PutSync with pending group: %d bytes unsynced, %d fsyncs, want 0 and 1", unsynced, syncs-syncs0)
	}

	// Flush makes a partial group durable.
	tk := s.Put(rec(4, 1, 0, 300))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tk.Done():
	default:
		t.Fatal("Flush returned before the pending record was durable")
	}
	if unsynced, _ := fs.state(); unsynced != 0 {
		t.Fatalf("after Flush: %d WAL bytes unsynced", unsynced)
	}

	// Blobs and metadata are durable on return.
	if _, err := s.PutBlob(ctx, make([]byte, 3*BlobChunkSize)); err != nil {
		t.Fatal(err)
	}
	if unsynced, _ := fs.state(); unsynced != 0 {
		t.Fatalf("after PutBlob: %d WAL bytes unsynced", unsynced)
	}
	if err := s.PutMeta(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if unsynced, _ := fs.state(); unsynced != 0 {
		t.Fatalf("after PutMeta: %d WAL bytes unsynced", unsynced)
	}
}

// TestGroupWindow: with the default settings a lone Put becomes durable by
// itself (through the window timer), without Flush.
func TestGroupWindow(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Put(rec(1, 1, 0, 300)).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Groups != 1 || st.Records != 1 {
		t.Fatalf("stats %+v, want one group of one record", st)
	}
}

// TestConcurrentReaders runs scans and point reads while one writer stores
// records; each reader checks what it sees is whole and ordered. Meant for
// -race.
func TestConcurrentReaders(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		const n = 2000
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = rec(byte(i%5), uint64(i/5+1), 0, 64+i%100)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		fail := make(chan string, 8)
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					switch w {
					case 0:
						prev := -1
						err := s.All(func(r Record) bool {
							i := int(r.Seq-1)*5 + int(r.Author[0])
							if i <= prev {
								fail <- "All out of order or duplicated"
								return false
							}
							prev = i
							return true
						})
						if err != nil {
							fail <- err.Error()
						}
					case 1:
						var last uint64
						err := s.Range(acct(2), 0, math.MaxUint64, func(r Record) bool {
							if r.Seq != last+1 {
								fail <- "Range skipped a seq"
								return false
							}
							last = r.Seq
							return true
						})
						if err != nil {
							fail <- err.Error()
						}
					case 2:
						heads, err := s.Heads()
						if err != nil {
							fail <- err.Error()
						}
						for _, h := range heads {
							ids, err := s.ByAuthorSeq(h.Author, h.Seq)
							if err != nil || len(ids) != 1 {
								fail <- "head without a record"
								continue
							}
							if _, ok, err := s.Get(ids[0]); err != nil || !ok {
								fail <- "indexed record not readable"
							}
						}
					}
				}
			}(w)
		}
		var tks []Ticket
		for i, r := range recs {
			tks = append(tks, s.Put(r))
			if i%300 == 0 {
				if err := s.Flush(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}
		for _, tk := range tks {
			if err := tk.Wait(context.Background()); err != nil {
				t.Error(err)
			}
		}
		close(done)
		wg.Wait()
		select {
		case m := <-fail:
			t.Fatal(m)
		default:
		}
		if c := checkConsistency(t, s); c != n {
			t.Fatalf("%d records stored, want %d", c, n)
		}
	})
}

// TestCloseDuringScan: a scan callback that calls another read while Close
// waits for the scan gets ErrClosed instead of deadlocking, and Close then
// completes.
func TestCloseDuringScan(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		r := rec(1, 1, 0, 10)
		mustPut(t, s, r)
		closed := make(chan error, 1)
		var inner error
		err := s.All(func(Record) bool {
			go func() { closed <- s.Close() }()
			for {
				s.life.mu.Lock()
				c := s.life.closed
				s.life.mu.Unlock()
				if c {
					break
				}
				runtime.Gosched()
			}
			_, _, inner = s.Get(r.ID)
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(inner, ErrClosed) {
			t.Fatalf("Get inside a scan during Close: %v, want ErrClosed", inner)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
	})
}

// TestCompact checks that compaction makes pending records durable and loses nothing,
// in insertion order, on both backends.
func TestCompact(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		var want []Record
		for i := range 2000 {
			r := rec(byte(i%7), uint64(i/7+1), 0, 200)
			s.Put(r) // pending: Compact must flush it first
			want = append(want, r)
		}
		if err := s.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		i := 0
		if err := s.All(func(r Record) bool {
			sameRecord(t, r, want[i])
			i++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if i != len(want) {
			t.Fatalf("%d records after compaction, want %d", i, len(want))
		}
	})
}

// TestLen: Len counts distinct messages, pending ones included, and a reopened store
// counts what it held.
func TestLen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("empty store: Len %d", n)
	}
	a, b := rec(1, 1, 0, 200), rec(2, 1, 0, 200)
	mustPut(t, s, a)
	mustPut(t, s, a) // a duplicate is not a second message
	s.Put(b)         // counted while pending
	if n := s.Len(); n != 2 {
		t.Fatalf("Len %d, want 2", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := s.Len(); n != 2 {
		t.Fatalf("reopened: Len %d, want 2", n)
	}
}
