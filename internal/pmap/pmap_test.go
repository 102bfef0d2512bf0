package pmap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"testing"

	"pgregory.net/rapid"
)

func checkSame(t *rapid.T, m *Map[uint64, int], ref map[uint64]int) {
	if m.Len() != len(ref) {
		t.Fatalf("Len %d, want %d", m.Len(), len(ref))
	}
	got := map[uint64]int{}
	m.Range(func(k uint64, v int) bool {
		if _, dup := got[k]; dup {
			t.Fatalf("Range gives %d twice", k)
		}
		got[k] = v
		return true
	})
	if !maps.Equal(got, ref) {
		t.Fatalf("Range gives %v, want %v", got, ref)
	}
	for k, v := range ref {
		if g, ok := m.Get(k); !ok || g != v {
			t.Fatalf("Get(%d) = %d, %v; want %d", k, g, ok, v)
		}
	}
}

// TestVersions runs random writes and clones over several versions at once and checks
// every version against a Go map after each step, with hashes that collide on purpose
// (few distinct values, or equal low bits so paths run deep).
func TestVersions(t *testing.T) {
	hashes := map[string]func(uint64) uint64{
		"spread":    func(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 },
		"collide":   func(k uint64) uint64 { return k % 5 },
		"deep":      func(k uint64) uint64 { return (k % 3) << 61 },
		"identity":  func(k uint64) uint64 { return k },
		"highequal": func(k uint64) uint64 { return k&7 | 0xabcdef<<20 },
	}
	for name, h := range hashes {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(t *rapid.T) {
				ms := []Map[uint64, int]{New[uint64, int](h)}
				refs := []map[uint64]int{{}}
				steps := rapid.IntRange(1, 300).Draw(t, "steps")
				for range steps {
					i := rapid.IntRange(0, len(ms)-1).Draw(t, "version")
					k := rapid.Uint64Range(0, 40).Draw(t, "key")
					switch rapid.IntRange(0, 9).Draw(t, "op") {
					case 0:
						ms = append(ms, ms[i].Clone())
						refs = append(refs, maps.Clone(refs[i]))
					case 1, 2, 3:
						ms[i].Delete(k)
						delete(refs[i], k)
					default:
						v := rapid.Int().Draw(t, "val")
						ms[i].Set(k, v)
						refs[i][k] = v
					}
					for j := range ms {
						checkSame(t, &ms[j], refs[j])
					}
				}
			})
		})
	}
}

func TestRangeStops(t *testing.T) {
	m := New[uint64, int](func(k uint64) uint64 { return k })
	for k := range uint64(100) {
		m.Set(k, int(k))
	}
	n := 0
	m.Range(func(uint64, int) bool { n++; return n < 7 })
	if n != 7 {
		t.Fatalf("Range visited %d after stopping at 7", n)
	}
}

// TestDeleteShrinks checks that deleting leaves no subtree behind that holds only one
// entry or none.
func TestDeleteShrinks(t *testing.T) {
	m := New[uint64, int](func(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 })
	for k := range uint64(5000) {
		m.Set(k, 1)
	}
	c := m.Clone()
	for k := uint64(1); k < 5000; k++ {
		m.Delete(k)
	}
	if m.Len() != 1 || len(m.root.kids) != 0 || len(m.root.entries) != 1 {
		t.Fatalf("one key left: len %d, root %d kids %d entries", m.Len(), len(m.root.kids), len(m.root.entries))
	}
	m.Delete(0)
	if m.Len() != 0 || len(m.root.kids) != 0 || len(m.root.entries) != 0 {
		t.Fatalf("after deleting all: len %d, root %d kids %d entries", m.Len(), len(m.root.kids), len(m.root.entries))
	}
	if c.Len() != 5000 {
		t.Fatalf("clone lost keys: %d", c.Len())
	}
}

func BenchmarkCloneAndSet(b *testing.B) {
	h := func(k [32]byte) uint64 { return binary.LittleEndian.Uint64(k[:8]) }
	m := New[[32]byte, uint64](h)
	var k [32]byte
	for i := range uint64(100_000) {
		binary.LittleEndian.PutUint64(k[:], i*0x9e3779b97f4a7c15)
		m.Set(k, i)
	}
	b.ResetTimer()
	cur := &m
	for i := range b.N {
		c := cur.Clone()
		for j := range 1000 {
			binary.LittleEndian.PutUint64(k[:], uint64(i*1000+j)*0x9e3779b97f4a7c15+1)
			c.Set(k, 1)
		}
		cur = &c
	}
}

// TestConcurrentClone: a published version (written, then handed to readers) may be
// cloned and read from several goroutines at once, and each clone written on its own.
// Run with -race.
func TestConcurrentClone(t *testing.T) {
	m := New[uint64, int](func(k uint64) uint64 { return k * 0x9e3779b97f4a7c15 })
	for k := range uint64(1000) {
		m.Set(k, int(k))
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			c := m.Clone()
			for k := range uint64(1000) {
				c.Set(k, g)
			}
			for k := range uint64(1000) {
				if v, _ := m.Get(k); v != int(k) {
					done <- fmt.Errorf("goroutine %d: source changed at %d: %d", g, k, v)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestCompare32(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var x, y [32]byte
		copy(x[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "x"))
		copy(y[:], x[:])
		// Mostly keys sharing a prefix, so that every word position decides sometimes.
		for range rapid.IntRange(0, 2).Draw(t, "changes") {
			y[rapid.IntRange(0, 31).Draw(t, "at")] = rapid.Byte().Draw(t, "b")
		}
		if got, want := Compare32(x, y), bytes.Compare(x[:], y[:]); got != want {
			t.Fatalf("Compare32(%x, %x) = %d, want %d", x, y, got, want)
		}
	})
}
