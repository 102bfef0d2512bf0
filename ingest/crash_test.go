package ingest

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/ledger"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

const crashChildEnv = "GUILD_CRASH_CHILD_DIR"

func crashLog(t testing.TB) *simlog.Log {
	c := simlog.Default()
	c.Epochs = 10
	log, err := simlog.Generate(c)
	if err != nil {
		t.Fatal(err)
	}
	return log
}

func receivedAt(log *simlog.Log) int64 {
	return int64(log.Genesis.GenesisTsMs) + int64(log.Config.Epochs+20)*int64(log.Config.EpochMs)
}

// TestCrashChild is the child half of TestCrashSafety: it ingests the generated log
// and prints each id once its group commit is durable, until it is killed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("child process of TestCrashSafety")
	}
	log := crashLog(t)
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(st, log.Genesis, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	now := receivedAt(log)
	var pending []Outcome
	ctx := context.Background()
	for i, e := range log.ByRelease() {
		o := p.Submit(e.Raw, now)
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		pending = append(pending, o)
		if i%7 == 0 { // wait for this group, as a validator answering Accept would
			for _, q := range pending {
				if err := q.Ticket.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				out.WriteString(q.ID.String() + "\n")
			}
			out.Flush()
			pending = pending[:0]
		}
	}
	out.WriteString("done\n")
	out.Flush()
	time.Sleep(time.Minute) // wait to be killed
}

// TestCrashSafety kills a process with SIGKILL while it ingests, reopens its store,
// and checks that every acknowledged message is there and that the rebuilt state
// equals that of a fresh node fed exactly the stored messages.
func TestCrashSafety(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("in child")
	}
	log := crashLog(t)
	dir := filepath.Join(t.TempDir(), "store")
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[msg.ID]bool{}
	sc := bufio.NewScanner(stdout)
	killAt := len(log.Envelopes) / 2
	for sc.Scan() {
		line := sc.Text()
		if line == "done" {
			t.Fatal("child finished before it was killed")
		}
		id, err := msg.ParseID(line)
		if err != nil {
			continue // test framework chatter
		}
		acked[id] = true
		if len(acked) >= killAt {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) < killAt {
		t.Fatalf("child acknowledged only %d messages", len(acked))
	}

	st, err := store.Open(dir)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer st.Close()
	p, err := New(st, log.Genesis, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.Load(receivedAt(log), nil)
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if ok, err := st.Has(id); err != nil || !ok {
			t.Fatalf("acknowledged message %s lost (err %v)", id.Short(), err)
		}
	}
	t.Logf("acknowledged %d, stored after the crash %d, of %d", len(acked), n, len(log.Envelopes))

	// A fresh node fed exactly the stored messages, in another order.
	var raws [][]byte
	if err := st.All(func(r store.Record) bool { raws = append(raws, r.Envelope); return true }); err != nil {
		t.Fatal(err)
	}
	fresh, err := New(store.OpenMemory(), log.Genesis, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(raws) - 1; i >= 0; i-- {
		if o := fresh.Submit(raws[i], receivedAt(log)); o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	target := uint64(log.Config.Epochs + 2)
	if err := p.Ledger().Advance(target); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Ledger().Advance(target); err != nil {
		t.Fatal(err)
	}
	for k := uint64(0); k <= target; k++ {
		a, _ := p.Ledger().Epoch(k)
		b, _ := fresh.Ledger().Epoch(k)
		if a.Root() != b.Root() || a.Batch.Hash != b.Batch.Hash {
			t.Fatalf("epoch %d: reopened root %s batch %s, fresh root %s batch %s", k, a.Root().Short(), a.Batch.Hash.Short(), b.Root().Short(), b.Batch.Hash.Short())
		}
	}
}
