package dense

import (
	"fmt"
	"testing"

	"pgregory.net/rapid"
)

// TestVersions: clones share the numbering until one of them changes membership;
// writes to any version (new keys, removals, renumbering after churn) never show in
// another, and each version holds exactly its keys, through every way of reading.
func TestVersions(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { versions(t, 400, 10, 6) })
}

// TestVersionsManySlots is TestVersions over enough keys that the slots, and the dead
// bits walked by Live and All, span several words.
func TestVersionsManySlots(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) { versions(t, 600, 30, 150) })
}

// versions runs up to steps random puts, deletes and clones (one step in cloneEvery)
// over keys 1..keys, checking every version after each step.
func versions(t *rapid.T, steps, cloneEvery, keys int) {
	vs := []*Map[byte, uint64]{New[byte, uint64]()}
	want := []map[byte]uint64{{}}
	for range rapid.IntRange(1, steps).Draw(t, "steps") {
		i := rapid.IntRange(0, len(vs)-1).Draw(t, "version")
		if rapid.IntRange(0, cloneEvery-1).Draw(t, "clone") == 0 {
			vs = append(vs, vs[i].Clone())
			w := map[byte]uint64{}
			for k, v := range want[i] {
				w[k] = v
			}
			want = append(want, w)
			continue
		}
		k := byte(rapid.IntRange(1, keys).Draw(t, "key"))
		switch v := rapid.Uint64Range(0, 3).Draw(t, "value"); v {
		case 0:
			vs[i].Delete(k)
			delete(want[i], k)
		default:
			vs[i].Put(k, v)
			want[i][k] = v
		}
		for j, m := range vs {
			check(t, j, m, want[j])
		}
	}
}

func check(t *rapid.T, j int, m *Map[byte, uint64], want map[byte]uint64) {
	if m.Len() != len(want) {
		t.Fatalf("version %d: %d keys, want %d", j, m.Len(), len(want))
	}
	n := 0
	for k, v := range m.All() {
		n++
		if want[k] != v {
			t.Fatalf("version %d: %d holds %d, want %d", j, k, v, want[k])
		}
	}
	if n != len(want) {
		t.Fatalf("version %d: All gave %d, want %d", j, n, len(want))
	}
	live := 0
	for i := range m.Slots() {
		k, v := m.At(i)
		if !m.Live(i) {
			if *v != 0 {
				t.Fatalf("version %d: dead slot %d holds %d", j, i, *v)
			}
			continue
		}
		live++
		if s, ok := m.Slot(k); !ok || s != i || want[k] != *v {
			t.Fatalf("version %d: slot %d: key %d at %d (%v), value %d, want %d", j, i, k, s, ok, *v, want[k])
		}
	}
	if live != len(want) {
		t.Fatalf("version %d: %d live slots, want %d", j, live, len(want))
	}
	for k := range byte(8) {
		v, ok := m.Get(k)
		if w, has := want[k]; ok != has || v != w {
			t.Fatalf("version %d: Get %d = %d %v, want %d %v", j, k, v, ok, w, has)
		}
	}
	if m.Slots() > 2*m.Len()+17 {
		t.Fatalf("version %d: %d slots for %d keys", j, m.Slots(), m.Len())
	}
}

// TestChurn: a key leaving and coming back over and over leaves dead slots until a
// renumbering reclaims them; a clone taken before is unaffected.
func TestChurn(t *testing.T) {
	m := New[string, int]()
	m.Put("stay", 7)
	var old *Map[string, int]
	for i := range 100 {
		m.Put("churn", 5)
		if i == 10 {
			old = m.Clone()
		}
		m.Delete("churn")
		if m.Slots() > 2*m.Len()+16 {
			t.Fatalf("round %d: %d slots for %d keys", i, m.Slots(), m.Len())
		}
	}
	m.Put("churn", 3)
	if s, _ := m.Get("stay"); s != 7 {
		t.Fatalf("stay holds %d", s)
	}
	if c, _ := m.Get("churn"); c != 3 || m.Len() != 2 {
		t.Fatalf("churn holds %d, %d keys", c, m.Len())
	}
	if c, _ := old.Get("churn"); c != 5 || old.Len() != 2 {
		t.Fatalf("clone: churn holds %d, %d keys", c, old.Len())
	}
}

// TestConcurrentClones: a published map may be cloned from several goroutines at
// once, and each clone may then change membership on its own (run with -race).
func TestConcurrentClones(t *testing.T) {
	m := New[[2]byte, int]()
	for i := range 100 {
		m.Put([2]byte{byte(i), 1}, 10)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			c := m.Clone()
			c.Delete([2]byte{byte(g), 1})
			c.Put([2]byte{byte(g), 2}, 5)
			for i := range 100 {
				if v, _ := m.Get([2]byte{byte(i), 1}); v != 10 {
					done <- fmt.Errorf("goroutine %d: source changed: %d holds %d", g, i, v)
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
	if m.Len() != 100 {
		t.Fatalf("source has %d keys", m.Len())
	}
}
