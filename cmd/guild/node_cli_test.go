package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/identity"
)

func TestInitAndClientErrors(t *testing.T) {
	dir := t.TempDir()
	k, err := identity.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &genesis.File{Name: "clinet", GenesisTsMs: 1, EpochMs: 2000, GraceMs: 400, Params: map[string]uint64{"sigma_max_ms": 200},
		Witnesses: []string{k.Account().String()}}
	g, err := genesis.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := g.JSON()
	gpath := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(gpath, gj, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "node")
	out, _, err := run(t, "init", "--genesis", gpath, "--dir", data, "--api", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	kf := filepath.Join(data, dataKeyFile)
	st, err := os.Stat(kf)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	key, err := identity.Load(kf)
	if err != nil || key.Account().String() != strings.TrimSpace(out) {
		t.Fatalf("init printed %q, key holds %v (%v)", out, key.Account(), err)
	}
	if _, _, err := run(t, "init", "--genesis", gpath, "--dir", data); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second init: %v", err)
	}
	// Port 1 on loopback: nothing listens, so the client says how to start the node.
	_, _, err = run(t, "status", "--dir", data)
	if err == nil || !strings.Contains(err.Error(), "guild node --dir") {
		t.Fatalf("status without a node: %v", err)
	}
	if _, _, err := run(t, "node", "--dir", filepath.Join(dir, "nothing")); err == nil || !strings.Contains(err.Error(), "guild init") {
		t.Fatalf("node without init: %v", err)
	}
}
