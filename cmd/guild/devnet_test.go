package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDevnet runs the README's first command briefly: four nodes on 127.0.0.1 must
// make live epochs with identical state roots.
func TestDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four real nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := runDevnet(ctx, &out, &errb, devnetOpts{nodes: 4, epochs: 7, epochMs: 1000, graceMs: 250, apiBase: 0})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	if strings.Contains(text, "ROOTS DIFFER") {
		t.Fatalf("nodes disagree:\n%s", text)
	}
	live := strings.Count(text, " live ")
	agree := strings.Count(text, "roots agree")
	if agree < 7 || live < 5 {
		t.Fatalf("%d epochs with agreeing roots, %d live; output:\n%s", agree, live, text)
	}
}
