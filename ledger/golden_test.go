package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/guild-net/guild/internal/simlog"
)

// TestGoldenRoots pins the state roots of every epoch of two generated logs (the
// adversarial default and one whose checkpoints carry heads blobs). Work on speed
// must leave them alone; a change to the rules, the encodings or the generator
// changes them on purpose, and whoever makes it updates the digests here and says why.
func TestGoldenRoots(t *testing.T) {
	wide := simlog.Replay()
	wide.Authors, wide.Epochs, wide.EpochMs = 700, 3, 4000
	for _, tc := range []struct {
		name   string
		c      simlog.Config
		epochs int
		digest string
	}{
		{"default", simlog.Default(), 27, "e4e0a6ce44efe79c"},
		{"wide", wide, 6, "0e026c6ad858f916"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg, err := simlog.Generate(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			l, err := New(lg.Genesis, Options{Blobs: lg.Blob})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range lg.ByLamport() {
				if _, err := l.IngestAdmitted(e, 1<<50); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Advance(uint64(tc.c.Epochs + 2)); err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			for k := range uint64(l.Epochs()) {
				r, _ := l.Epoch(k)
				root := r.Root()
				h.Write(root[:])
			}
			if got := hex.EncodeToString(h.Sum(nil)[:8]); l.Epochs() != tc.epochs || got != tc.digest {
				t.Fatalf("%d epochs, roots digest %s; want %d, %s", l.Epochs(), got, tc.epochs, tc.digest)
			}
		})
	}
}
