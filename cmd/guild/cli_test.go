package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func TestKeygenAndGenesis(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	out, _, err := run(t, "keygen", "-o", a)
	if err != nil {
		t.Fatal(err)
	}
	accA, err := msg.ParseAccount(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("keygen printed %q: %v", out, err)
	}
	if _, _, err := run(t, "keygen", "-o", a); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	if _, _, err := run(t, "keygen", "-o", b); err != nil {
		t.Fatal(err)
	}
	gpath := filepath.Join(dir, "genesis.json")
	_, _, err = run(t, "genesis", "new", "--name", "test", "-o", gpath, "--start-ms", "1700000000000",
		"--alloc", a+"=10:2.5", "--alloc", accA.String()+"=1:0", "--witness", a, "--witness", b, "--epoch-ms", "2000", "--grace-ms", "400")
	if err == nil {
		t.Fatal("an account allocated twice was accepted")
	}
	out, _, err = run(t, "genesis", "new", "--name", "test", "-o", gpath, "--start-ms", "1700000000000",
		"--alloc", a+"=10:2.5", "--witness", a, "--witness", b, "--epoch-ms", "2000", "--grace-ms", "400", "--param", "sigma_max_ms=200")
	if err != nil {
		t.Fatal(err)
	}
	g, err := genesis.Load(gpath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != g.NetworkID().String() {
		t.Fatalf("printed network id %q, file gives %s", out, g.NetworkID())
	}
	if g.Allocations[0].RepMicro != 10_000_000 || g.Allocations[0].CreditsMicro != 2_500_000 {
		t.Fatalf("allocation %+v", g.Allocations[0])
	}
	if _, _, err := run(t, "genesis", "new", "--name", "x", "-o", filepath.Join(dir, "g2.json"), "--witness", a, "--param", "nonsense=1"); err == nil {
		t.Fatal("unknown parameter accepted")
	}
	if _, _, err := run(t, "genesis", "new", "--name", "x", "-o", filepath.Join(dir, "g3.json"), "--witness", a, "--epoch-ms", "2000", "--grace-ms", "900"); err == nil {
		t.Fatal("grace above epoch/4 accepted")
	}
}

func TestLogInspect(t *testing.T) {
	c := simlog.Default()
	c.Epochs = 6
	log, err := simlog.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := log.Genesis.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, dataGenesisFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(dir, dataStoreDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log.Envelopes {
		st.Put(store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: int64(log.Release[e.ID])})
	}
	if err := st.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out, _, err := run(t, "log", "inspect", "--json", dir)
	if err != nil {
		t.Fatal(err)
	}
	var rep inspectReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Messages != len(log.Envelopes) || len(rep.Authors) != c.Authors+c.Witnesses {
		t.Fatalf("report: %d messages, %d authors", rep.Messages, len(rep.Authors))
	}
	live := 0
	for _, e := range rep.Epochs {
		if e.Live {
			live++
		}
	}
	if live < c.Epochs-1 {
		t.Fatalf("%d live epochs in %+v", live, rep.Epochs)
	}
	forked := 0
	for _, a := range rep.Authors {
		if len(a.ForkSeqs) > 0 {
			forked++
		}
	}
	if forked == 0 {
		t.Fatal("the forking author does not show")
	}
	text, _, err := run(t, "log", "inspect", "--authors", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "STATE ROOT") || !strings.Contains(text, rep.Epochs[1].StateRoot) {
		t.Fatalf("text report:\n%s", text)
	}
	if _, _, err := run(t, "log", "inspect", t.TempDir()); err == nil {
		t.Fatal("inspect of an empty directory succeeded")
	}
}
