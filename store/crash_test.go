package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/guild-net/guild/msg"
)

// The crash test re-executes this test binary as a child that ingests a
// stream into a store and prints an acknowledgement for each item only after
// the store said it is durable. The parent SIGKILLs the child mid-stream,
// reopens the directory and checks every acknowledged item.
const (
	envCrashDir   = "GUILD_STORE_CRASH_DIR"
	envCrashStart = "GUILD_STORE_CRASH_START"
)

// crashRecord is item i of the child's stream. i is unique across rounds,
// so every record has its own (author, seq).
func crashRecord(i int) Record {
	r := rec(byte(i%16), uint64(i/16+1), 0, 250+i%100)
	r.RecvMs = int64(i) * 3
	return r
}

func crashBlob(i int) []byte { return blobContent(BlobChunkSize/2+(i%5)*BlobChunkSize/3, byte(i)) }

func crashMeta(i int) (string, string) { return "k" + strconv.Itoa(i%7), "v" + strconv.Itoa(i) }

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("helper process for TestCrashSafety")
	}
	start, err := strconv.Atoi(os.Getenv(envCrashStart))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out bytes.Buffer
	emit := func() {
		if _, err := os.Stdout.Write(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		out.Reset()
	}
	type pending struct {
		i  int
		tk Ticket
	}
	var batch []pending
	for i := start; i < start+1_000_000; i++ {
		switch {
		case i%37 == 0:
			if err := s.PutSync(ctx, crashRecord(i)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "r %d\n", i)
			emit()
		case i%101 == 0:
			if _, err := s.PutBlob(ctx, crashBlob(i)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "b %d\n", i)
			emit()
		case i%53 == 0:
			k, v := crashMeta(i)
			if err := s.PutMeta(ctx, k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "m %d\n", i)
			emit()
		default:
			batch = append(batch, pending{i, s.Put(crashRecord(i))})
		}
		if len(batch) == 64 {
			for _, p := range batch {
				if err := p.tk.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&out, "r %d\n", p.i)
			}
			emit()
			batch = batch[:0]
		}
	}
	t.Fatal("child ran to the end without being killed")
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	acked := map[int]bool{}
	blobs := map[int]bool{}
	meta := map[string]string{} // last acknowledged value per key
	killAfter := []int{150, 1200, 3000}
	for round, after := range killAfter {
		start := (round + 1) * 1_000_000
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashStart+"="+strconv.Itoa(start))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(stdout)
		n, killed := 0, false
		for {
			line, err := rd.ReadString('\n')
			if err == io.EOF {
				break // a torn last line (no newline) was never a full ack
			}
			if err != nil {
				t.Fatal(err)
			}
			var kind string
			var i int
			if _, err := fmt.Sscanf(line, "%s %d", &kind, &i); err != nil {
				t.Fatalf("child said %q", line)
			}
			switch kind {
			case "r":
				acked[i] = true
			case "b":
				blobs[i] = true
			case "m":
				k, v := crashMeta(i)
				meta[k] = v
			}
			n++
			if n == after && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("round %d: child exited before %d acknowledgements: %v", round, after, err)
		}
		if ee, ok := err.(*exec.ExitError); !ok || !strings.Contains(ee.String(), "killed") {
			t.Fatalf("round %d: child ended with %v, want killed", round, err)
		}

		s, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for i := range acked {
			want := crashRecord(i)
			got, ok, err := s.Get(want.ID)
			if err != nil || !ok {
				t.Fatalf("round %d: acknowledged record %d lost (%v)", round, i, err)
			}
			sameRecord(t, got, want)
			ids, err := s.ByAuthorSeq(want.Author, want.Seq)
			if err != nil || len(ids) != 1 || ids[0] != want.ID {
				t.Fatalf("round %d: record %d not indexed by (author, seq): %v %v", round, i, ids, err)
			}
		}
		for i := range blobs {
			content := crashBlob(i)
			got, ok, err := s.GetBlob(msg.BlobID(content))
			if err != nil || !ok || !bytes.Equal(got, content) {
				t.Fatalf("round %d: acknowledged blob %d lost or damaged (ok=%v, %v)", round, i, ok, err)
			}
		}
		for k, v := range meta {
			got, ok, err := s.GetMeta(k)
			// A later, unacknowledged PutMeta of the same key may have landed:
			// the value must be the acknowledged one or a later one.
			if err != nil || !ok || metaIndex(string(got)) < metaIndex(v) {
				t.Fatalf("round %d: meta %s = %q (%v), acknowledged %q", round, k, got, err, v)
			}
		}
		total := checkConsistency(t, s)
		if total < len(acked) {
			t.Fatalf("round %d: %d records stored, %d acknowledged", round, total, len(acked))
		}
		t.Logf("round %d: killed after %d acks; %d records acknowledged in all, %d stored (the rest were in flight)",
			round, after, len(acked), total)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func metaIndex(v string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
	if err != nil {
		return -1
	}
	return n
}
