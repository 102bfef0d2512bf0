package main

// Issue 3, "a node stopped and restarted from its data dir catches up and loses
// nothing it had acknowledged", at process level: the real guild binary, two
// `guild node` processes on 127.0.0.1, posts through `guild post`, SIGKILL.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/guild-net/guild/api"
)

// procBuild builds the guild binary into a temporary directory.
func procBuild(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool on PATH to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "guild")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// procRun runs the binary to completion and returns its standard output.
func procRun(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("guild %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

func procMust(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := procRun(t, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// procFreePort asks the kernel for a free loopback TCP port. Another process could
// take it before the node binds it; on loopback in a test that is rare.
func procFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// procNode is one `guild node` process and its data directory.
type procNode struct {
	name string
	dir  string
	api  string
	c    *api.Client
	bin  string
	cmd  *exec.Cmd
	done chan error
	logs *os.File
}

func (p *procNode) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(filepath.Dir(p.dir), p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.logs = f
	p.cmd = exec.Command(p.bin, "node", "--dir", p.dir, "--no-mdns", "--log-level", "info")
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	p.done = done
	cmd := p.cmd
	go func() { done <- cmd.Wait() }()
	procEventually(t, 20*time.Second, p.name+" API answers", func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("%s exited: %v (log %s)", p.name, err, f.Name())
		default:
		}
		_, err := p.c.Status(context.Background())
		return err
	})
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *procNode) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.cmd = nil
	p.logs.Close()
}

// stop sends SIGTERM and waits for a clean exit.
func (p *procNode) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	defer func() { p.cmd = nil }()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s: graceful stop: %v (log %s)", p.name, err, p.logs.Name())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not stop within 20 s of SIGTERM", p.name)
	}
	p.logs.Close()
}

func procEventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// procAck is a post the node acknowledged.
type procAck struct {
	node string
	id   string
	seq  uint64
	at   time.Time
}

// TestProcessKillRestart runs two witnesses as separate `guild node` processes,
// posts through `guild post` to both, SIGKILLs one mid-traffic and restarts it from
// its data directory: it resumes its chain after the highest acknowledged seq (no
// fork, at either node and in `guild log inspect`), every acknowledged post is in
// the agreed batches of both nodes, and both agree on every settled state root.
func TestProcessKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two node processes, ~30 s")
	}
	t0 := time.Now()
	bin := procBuild(t)
	tBuilt := time.Now()
	dir := t.TempDir()
	names := []string{"a", "b"}
	accts := map[string]string{}
	for _, n := range names {
		accts[n] = procMust(t, bin, "keygen", "-o", filepath.Join(dir, n+".key"))
	}
	gpath := filepath.Join(dir, "genesis.json")
	start := time.Now().Add(1500 * time.Millisecond).UnixMilli()
	procMust(t, bin, "genesis", "new", "--name", "proc-test", "-o", gpath, "--start-ms", strconv.FormatInt(start, 10),
		"--epoch-ms", "1000", "--grace-ms", "250", "--param", "sigma_max_ms=120", "--param", "witnesses_n=2", "--param", "witnesses_min=1",
		"--alloc", filepath.Join(dir, "a.key")+"=10:100", "--alloc", filepath.Join(dir, "b.key")+"=10:100",
		"--witness", filepath.Join(dir, "a.key"), "--witness", filepath.Join(dir, "b.key"))
	p2pPort := map[string]int{"a": procFreePort(t), "b": procFreePort(t)}
	nodes := map[string]*procNode{}
	for i, n := range names {
		other := names[1-i]
		apiAddr := "127.0.0.1:" + strconv.Itoa(procFreePort(t))
		ndir := filepath.Join(dir, n)
		procMust(t, bin, "init", "--genesis", gpath, "--dir", ndir, "--key", filepath.Join(dir, n+".key"), "--api", apiAddr,
			"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p2pPort[n]),
			"--bootstrap", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort[other], accts[other]))
		nodes[n] = &procNode{name: n, dir: ndir, api: apiAddr, c: api.NewClient(apiAddr), bin: bin}
	}
	a, b := nodes["a"], nodes["b"]
	t.Cleanup(func() { a.stop(t); b.stop(t) })
	a.start(t)
	b.start(t)
	ctx := context.Background()
	procEventually(t, 15*time.Second, "the nodes connect", func() error {
		for _, p := range []*procNode{a, b} {
			s, err := p.c.Status(ctx)
			if err != nil {
				return err
			}
			if s.Peers != 1 {
				return fmt.Errorf("%s has %d peers", p.name, s.Peers)
			}
		}
		return nil
	})

	waitSettled := func(what string, k uint64) {
		t.Helper()
		procEventually(t, 40*time.Second, fmt.Sprintf("%s: epoch %d settled at both", what, k), func() error {
			for _, p := range []*procNode{a, b} {
				s, err := p.c.Status(ctx)
				if err != nil {
					return err
				}
				if s.SettledEpoch == nil || *s.SettledEpoch < k {
					return fmt.Errorf("%s settled through %v", p.name, s.SettledEpoch)
				}
			}
			return nil
		})
	}
	waitSettled("before traffic", 1)

	// Traffic: one poster per node, each running `guild post` in a loop until stopped.
	var (
		mu    sync.Mutex
		acks  []procAck
		fails = map[string]int{}
	)
	stopPosting := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range []*procNode{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopPosting:
					return
				default:
				}
				out, err := procRun(t, bin, "post", fmt.Sprintf("post %d via %s", i, p.name), "--text", "body", "--api", p.api, "--json", "--force")
				at := time.Now()
				var r postResult
				if err == nil {
					err = json.Unmarshal([]byte(out), &r)
				}
				mu.Lock()
				if err != nil || r.ID == "" {
					fails[p.name]++
				} else {
					acks = append(acks, procAck{node: p.name, id: r.ID, seq: r.Seq, at: at})
				}
				mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	count := func(node string, after time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		c := 0
		for _, x := range acks {
			if x.node == node && x.at.After(after) {
				c++
			}
		}
		return c
	}
	procEventually(t, 30*time.Second, "a acknowledges 10 posts", func() error {
		if c := count("a", time.Time{}); c < 10 {
			return fmt.Errorf("%d acknowledged", c)
		}
		return nil
	})

	killStatus, err := a.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.kill(t)
	killedAt := time.Now()
	mu.Lock()
	var ackedBefore []procAck
	var maxSeq uint64
	for _, x := range acks {
		if x.node == "a" {
			ackedBefore = append(ackedBefore, x)
			maxSeq = max(maxSeq, x.seq)
		}
	}
	mu.Unlock()
	// Down across at least one duty time: the node owes an empty checkpoint on return.
	time.Sleep(1500 * time.Millisecond)
	a.start(t)
	restartedAt := time.Now()
	s, err := a.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.OwnSeq < maxSeq {
		t.Fatalf("a restarted at own seq %d, below the acknowledged seq %d", s.OwnSeq, maxSeq)
	}
	procEventually(t, 30*time.Second, "a acknowledges posts after the restart", func() error {
		if c := count("a", restartedAt); c < 5 {
			return fmt.Errorf("%d acknowledged since the restart", c)
		}
		return nil
	})
	close(stopPosting)
	wg.Wait()
	if c := count("b", killedAt) - count("b", restartedAt); c == 0 {
		t.Fatal("no post went through b while a was down: the kill was not mid-traffic")
	}
	for _, x := range acks {
		if x.node == "a" && x.at.After(restartedAt) && x.seq <= maxSeq {
			t.Fatalf("a post acknowledged after the restart has seq %d, not above %d acknowledged before the kill", x.seq, maxSeq)
		}
	}

	// Both settle past the restart and agree; every acknowledged post is in an
	// agreed batch at both nodes; neither sees a fork of any chain.
	var target uint64
	procEventually(t, 10*time.Second, "a's status", func() error {
		s, err := a.c.Status(ctx)
		target = s.Epoch + 2
		return err
	})
	waitSettled("after the restart", target)
	roots := map[string][]api.Epoch{}
	batched := map[string]map[string]bool{}
	for _, p := range []*procNode{a, b} {
		eps, err := p.c.Epochs(ctx, 0, target)
		if err != nil {
			t.Fatal(err)
		}
		roots[p.name] = eps
		batched[p.name] = map[string]bool{}
		for k := uint64(0); k <= target; k++ {
			e, err := p.c.Epoch(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range e.IDs {
				batched[p.name][id] = true
			}
		}
		heads, err := p.c.Heads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range heads {
			if len(h.ForkSeqs) > 0 || len(h.Heads) != 1 {
				t.Errorf("%s sees %s with heads %v, fork seqs %v", p.name, h.Account, h.Heads, h.ForkSeqs)
			}
		}
		if s, err := p.c.Status(ctx); err != nil {
			t.Fatal(err)
		} else if len(s.Alarms) > 0 {
			t.Errorf("%s alarms: %v", p.name, s.Alarms)
		}
	}
	if len(roots["a"]) != int(target)+1 || len(roots["b"]) != int(target)+1 {
		t.Fatalf("epochs 0..%d: a lists %d, b lists %d", target, len(roots["a"]), len(roots["b"]))
	}
	for k := range roots["a"] {
		ea, eb := roots["a"][k], roots["b"][k]
		if !ea.Settled || !eb.Settled {
			t.Fatalf("epoch %d: settled a=%v b=%v, but both report epoch %d settled", k, ea.Settled, eb.Settled, target)
		}
		if ea.StateRoot != eb.StateRoot {
			t.Fatalf("settled epoch %d: a root %s, b root %s", k, ea.StateRoot, eb.StateRoot)
		}
	}
	for _, x := range acks {
		for _, p := range names {
			if !batched[p][x.id] {
				t.Errorf("post %s acknowledged by %s (seq %d, %v after the kill) is in no agreed batch at %s",
					x.id[:8], x.node, x.seq, x.at.Sub(killedAt).Round(time.Millisecond), p)
			}
		}
	}

	// Stopped, the stores say the same: one head per author, no fork.
	a.stop(t)
	b.stop(t)
	for _, p := range []*procNode{a, b} {
		out := procMust(t, bin, "log", "inspect", p.dir, "--json")
		var rep inspectReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("log inspect %s: %v", p.name, err)
		}
		if rep.Invalid != 0 {
			t.Errorf("%s: %d structurally invalid messages", p.name, rep.Invalid)
		}
		for _, au := range rep.Authors {
			if len(au.ForkSeqs) > 0 || len(au.Heads) != 1 {
				t.Errorf("%s store: author %s heads %v forks %v", p.name, au.Account, au.Heads, au.ForkSeqs)
			}
		}
	}
	mu.Lock()
	t.Logf("build %v; %d posts acknowledged (%d by a before SIGKILL in epoch %d, up to seq %d; a down %v), %d+%d failed at a+b (a down); settled through epoch %d; total %v",
		tBuilt.Sub(t0).Round(time.Millisecond), len(acks), len(ackedBefore), killStatus.Epoch, maxSeq, restartedAt.Sub(killedAt).Round(time.Millisecond),
		fails["a"], fails["b"], target, time.Since(t0).Round(time.Millisecond))
	mu.Unlock()
}
