package store

import (
	"context"
	"testing"
)

// All copies envelopes into shared buffers: every record still comes back as
// stored, whether committed or pending, small or above the shared size, across
// several buffers; and an append to one envelope leaves the next one alone.
func TestAllSharedBuffers(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		var want []Record
		// 300 records of up to 1 KiB fill several 64 KiB buffers; every 50th is
		// larger than the share a buffer takes.
		for i := range 300 {
			size := 100 + i*3
			if i%50 == 7 {
				size = slabSize/16 + 1 + i
			}
			r := rec(byte(i%7), uint64(i/7+1), 0, size)
			mustPut(t, s, r)
			want = append(want, r)
		}
		// Two more, not waited for: most likely still pending when All runs.
		for i := range 2 {
			r := rec(9, uint64(i+1), 0, 200)
			_ = s.Put(r)
			want = append(want, r)
		}
		var got []Record
		if err := s.All(func(r Record) bool { got = append(got, r); return true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("All gave %d records, want %d", len(got), len(want))
		}
		for i := range got {
			_ = append(got[i].Envelope, 0xee, 0xee, 0xee, 0xee)
		}
		for i := range got {
			sameRecord(t, got[i], want[i])
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// Scan gives what All gives, committed and pending records alike, and stops when
// told to.
func TestScanMatchesAll(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		for i := range 120 {
			mustPut(t, s, rec(byte(i%5), uint64(i/5+1), 0, 150+i))
		}
		_ = s.Put(rec(9, 1, 0, 300)) // most likely still pending
		var all []Record
		if err := s.All(func(r Record) bool { all = append(all, r); return true }); err != nil {
			t.Fatal(err)
		}
		i := 0
		err := s.Scan(func(r Record) bool {
			if i >= len(all) {
				t.Fatalf("Scan gave more than All's %d records", len(all))
			}
			sameRecord(t, r, all[i])
			i++
			return true
		})
		if err != nil || i != len(all) {
			t.Fatalf("Scan gave %d of %d records (%v)", i, len(all), err)
		}
		n := 0
		if err := s.Scan(func(Record) bool { n++; return n < 10 }); err != nil || n != 10 {
			t.Fatalf("Scan went on to %d records after told to stop at 10 (%v)", n, err)
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
