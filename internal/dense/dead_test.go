package dense

import (
	"testing"

	"pgregory.net/rapid"
)

// TestVersionsManySlots is TestVersions over enough keys that the slots, and the dead
// bits walked by Live and All, span several words.
func TestVersionsManySlots(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		vs := []*Map[byte, uint64]{New[byte, uint64]()}
		want := []map[byte]uint64{{}}
		for range rapid.IntRange(1, 600).Draw(t, "steps") {
			i := rapid.IntRange(0, len(vs)-1).Draw(t, "version")
			if rapid.IntRange(0, 29).Draw(t, "clone") == 0 {
				vs = append(vs, vs[i].Clone())
				w := map[byte]uint64{}
				for k, v := range want[i] {
					w[k] = v
				}
				want = append(want, w)
				continue
			}
			k := byte(rapid.IntRange(1, 150).Draw(t, "key"))
			switch v := rapid.Uint64Range(0, 3).Draw(t, "value"); v {
			case 0:
				vs[i].Delete(k)
				delete(want[i], k)
			default:
				vs[i].Put(k, v)
				want[i][k] = v
			}
			check(t, i, vs[i], want[i])
		}
		for j, m := range vs {
			check(t, j, m, want[j])
		}
	})
}
