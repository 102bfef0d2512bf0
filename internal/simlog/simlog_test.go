package simlog

import (
	"testing"

	"github.com/guild-net/guild/msg"
)

func TestGenerateShape(t *testing.T) {
	l, err := Generate(Default())
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config
	if min := c.Authors * c.Epochs * c.PerEpoch; len(l.Envelopes) < min {
		t.Fatalf("%d envelopes, want ≥ %d", len(l.Envelopes), min)
	}
	if len(l.Backdated) != c.Backdated {
		t.Fatalf("%d backdated, want %d", len(l.Backdated), c.Backdated)
	}
	net := l.Genesis.NetworkID()
	seen := map[msg.ID]bool{}
	cps := 0
	for _, e := range l.Envelopes {
		if seen[e.ID] {
			t.Fatalf("duplicate id %s", e.ID)
		}
		seen[e.ID] = true
		d, err := msg.Decode(e.Raw, msg.Options{Network: net})
		if err != nil {
			t.Fatalf("generated envelope does not decode: %v", err)
		}
		if d.ID != e.ID {
			t.Fatal("id changed on decode")
		}
		if e.Body.Kind == msg.KindCheckpoint {
			cps++
		}
	}
	if want := c.Witnesses * (c.Epochs + 3); cps < want {
		t.Fatalf("%d checkpoints, want ≥ %d", cps, want)
	}
	t.Logf("%d envelopes, %d checkpoints", len(l.Envelopes), cps)
}
