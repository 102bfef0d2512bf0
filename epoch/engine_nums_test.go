package epoch

import (
	"testing"
)

// TestParentNums: a caller that names parents by number builds the engine a caller
// naming them by id builds, and a number that names another message is refused like
// a missing parent.
func TestParentNums(t *testing.T) {
	l := newLog()
	a, c := acct(1), acct(2)
	m1 := l.post(a, 10)
	m2 := l.post(c, 20)
	m3 := l.post(a, 30, m2)
	l.post(c, 40, m3)
	byID, byNum := NewEngine(testCfg), NewEngine(testCfg)
	num := map[*Message]uint32{}
	for _, m := range l.msgs {
		if _, err := byID.Add(m); err != nil {
			t.Fatal(err)
		}
		n := *m
		for _, p := range m.Parents {
			n.ParentNums = append(n.ParentNums, num[l.byID[p]])
		}
		num[m] = uint32(byNum.Len())
		if _, err := byNum.Add(&n); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range l.msgs {
		x, y := byID.index()[m.ID], byNum.index()[m.ID]
		if x.depth != y.depth || len(x.parents) != len(y.parents) || x.num != y.num {
			t.Fatalf("%s: by id depth %d, %d parents, number %d; by number %d, %d, %d",
				m.ID.Short(), x.depth, len(x.parents), x.num, y.depth, len(y.parents), y.num)
		}
		for i := range x.parents {
			if x.parents[i].id != y.parents[i].id {
				t.Fatalf("%s: parent %d differs", m.ID.Short(), i)
			}
		}
	}
	bad := *l.post(c, 50, m3)
	bad.ParentNums = []uint32{num[m1]} // m1, by a as m3 is, but not m3
	if _, err := byNum.Add(&bad); err == nil {
		t.Fatal("a parent number naming another message was accepted")
	}
}
