package simlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/guild-net/guild/genesis"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// Config shapes a generated log.
type Config struct {
	Seed       uint64
	Authors    int // authors that post (witnesses only checkpoint)
	Witnesses  int
	Epochs     int // epochs with traffic; checkpoints cover them all
	PerEpoch   int // messages per author per epoch
	EpochMs    uint64
	GraceMs    uint64
	MaxDelayMs uint64 // gossip delay to each witness is uniform in [0, MaxDelayMs)
	MaxParents int    // parents per message, drawn from other authors' older messages
	// ParentEpochs, when > 0, draws parents only from the messages of the last
	// ParentEpochs epochs before the current one, as honest parent selection (SPEC §3)
	// does: it picks other authors' heads in a recent cut. 0 draws from the whole past,
	// the harder case for the property tests.
	ParentEpochs int

	LateCheckpoint     float64 // probability a checkpoint is signed and released late (by up to 3 epochs)
	WithheldCheckpoint float64 // probability a checkpoint is signed on time but released late
	OfflineWitness     bool    // witness 0 is offline for a stretch, then signs empty checkpoints for what it missed
	ForkingAuthor      bool    // author 0 forks its chain once
	ForkingWitness     bool    // the last witness forks its chain and checkpoints on both branches
	Backdated          int     // messages released well after their epoch's checkpoints
}

// Default is a small log with every adversarial schedule switched on.
func Default() Config {
	return Config{Seed: 1, Authors: 20, Witnesses: 4, Epochs: 24, PerEpoch: 11, EpochMs: 2000, GraceMs: 400,
		MaxDelayMs: 300, MaxParents: 2, LateCheckpoint: 0.05, WithheldCheckpoint: 0.05,
		OfflineWitness: true, ForkingAuthor: true, ForkingWitness: true, Backdated: 5}
}

// Replay is the log of the rebuild benchmarks (ingest's BenchmarkReplay, state's
// BenchmarkApplyReplay): 1,000 authors posting once an epoch for 100 epochs of 10 s,
// 4 witnesses checkpointing every epoch, no adversarial schedule; about 100,000
// messages.
func Replay() Config {
	c := Default()
	c.Authors, c.Witnesses, c.PerEpoch, c.Epochs, c.EpochMs = 1000, 4, 1, 100, 10_000
	c.LateCheckpoint, c.WithheldCheckpoint, c.Backdated = 0, 0, 0
	c.OfflineWitness, c.ForkingAuthor, c.ForkingWitness = false, false, false
	c.ParentEpochs = 2
	return c
}

// Log is a generated log.
type Log struct {
	Config    Config
	Genesis   *genesis.Genesis
	Keys      []ed25519.PrivateKey // authors first, then witnesses
	Witnesses []msg.Account
	Envelopes []*msg.Envelope
	Release   map[msg.ID]uint64 // when a message was first released (ms)
	// Received[w][id] is when witness w received the message (ms).
	Received  []map[msg.ID]uint64
	Backdated []msg.ID
	// Blobs holds the checkpoint head lists too large for an envelope.
	Blobs map[msg.ID][]byte
}

// Blob appends a blob of the log to dst, for ledger.Options.Blobs.
func (l *Log) Blob(dst []byte, id msg.ID) ([]byte, bool) {
	b, ok := l.Blobs[id]
	return append(dst, b...), ok
}

type chain struct {
	key  ed25519.PrivateKey
	seq  uint64
	prev *msg.Envelope
}

// Generate builds the log for c.
func Generate(c Config) (*Log, error) {
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
	n := c.Authors + c.Witnesses
	l := &Log{Config: c, Release: map[msg.ID]uint64{}, Blobs: map[msg.ID][]byte{}}
	// Authors hold a little REP (so their votes lock something) and credits (to open
	// pools); the witnesses hold far more, and witnesses_n is their number, so the
	// REP-weighted witness set is exactly the witnesses the log simulates.
	f := &genesis.File{Name: fmt.Sprintf("simlog-%d", c.Seed), GenesisTsMs: 1_700_000_000_000, EpochMs: c.EpochMs, GraceMs: c.GraceMs,
		Params: map[string]uint64{"sigma_max_ms": c.GraceMs / 2, "witnesses_n": uint64(c.Witnesses), "witnesses_min": uint64(min(c.Witnesses, 4))}}
	for i := 0; i < n; i++ {
		var seed [32]byte
		seed[0], seed[1], seed[2] = byte(i), byte(i>>8), 0x5e
		seed[3] = byte(c.Seed)
		k := ed25519.NewKeyFromSeed(seed[:])
		l.Keys = append(l.Keys, k)
		a := msg.AccountOf(k)
		alloc := genesis.FileAllocation{Account: a.String(), RepMicro: 1_000_000, CreditsMicro: 10_000_000}
		if i >= c.Authors {
			alloc.RepMicro = 1_000_000_000
			f.Witnesses = append(f.Witnesses, a.String())
			l.Witnesses = append(l.Witnesses, a)
		}
		f.Allocations = append(f.Allocations, alloc)
	}
	g, err := genesis.FromFile(f)
	if err != nil {
		return nil, err
	}
	l.Genesis = g
	net := g.NetworkID()
	l.Received = make([]map[msg.ID]uint64, c.Witnesses)
	for i := range l.Received {
		l.Received[i] = map[msg.ID]uint64{}
	}
	start := func(k uint64) uint64 { return g.GenesisTsMs + k*c.EpochMs }
	end := func(k uint64) uint64 { return start(k + 1) }

	chains := make([]*chain, n)
	for i := range chains {
		chains[i] = &chain{key: l.Keys[i]}
	}
	lamport := map[msg.ID]uint64{}
	var older []*msg.Envelope // author messages at least one epoch old: parent candidates
	var epochStart []int      // where each epoch's messages start in older
	var posts, pools []msg.ID // posts and pool openings at least one epoch old

	// Offline stretch of witness 0 (as a witness index), in epochs.
	offFrom, offTo := uint64(c.Epochs/3), uint64(c.Epochs/3+3)
	online := func(w int, t uint64) bool {
		if !c.OfflineWitness || w != 0 {
			return true
		}
		return t < start(offFrom) || t >= start(offTo)
	}

	deliver := func(e *msg.Envelope, release uint64) {
		l.Envelopes = append(l.Envelopes, e)
		l.Release[e.ID] = release
		for w := 0; w < c.Witnesses; w++ {
			t := release + uint64(rng.Int64N(int64(c.MaxDelayMs)+1))
			if !online(w, t) {
				t = start(offTo) + uint64(rng.Int64N(int64(c.MaxDelayMs)+1)) // synced on return
			}
			l.Received[w][e.ID] = t
		}
	}
	seal := func(ch *chain, prev *msg.Envelope, seq uint64, parents []*msg.Envelope, ts uint64, p msg.Payload) (*msg.Envelope, error) {
		b := msg.Body{Network: net, Seq: seq, TsMs: ts}
		var lam uint64
		if prev != nil {
			id := prev.ID
			b.Prev = &id
			lam = lamport[id]
		}
		for _, pe := range parents {
			b.Parents = append(b.Parents, pe.ID)
			lam = max(lam, lamport[pe.ID])
		}
		slices.SortFunc(b.Parents, func(x, y msg.ID) int { return bytes.Compare(x[:], y[:]) })
		b.Lamport = lam + 1
		e, err := msg.Seal(ch.key, b, p)
		if err != nil {
			return nil, err
		}
		lamport[e.ID] = b.Lamport
		return e, nil
	}

	type pendingCP struct {
		w       int
		k       uint64
		signAt  uint64
		release uint64
		branch  int
	}
	var cps []pendingCP
	listed := make([]map[msg.ID]bool, c.Witnesses) // per witness: heads listed by its main branch
	for i := range listed {
		listed[i] = map[msg.ID]bool{}
	}
	var all []*msg.Envelope
	lastSign := make([]uint64, c.Witnesses)
	views := make([]*view, c.Witnesses)
	for i := range views {
		views[i] = newView()
	}
	forkDone := false
	backdated := 0

	total := uint64(c.Epochs) + 4
	for k := uint64(0); k < total; k++ {
		// Author traffic in epoch k.
		var fresh []*msg.Envelope
		if k < uint64(c.Epochs) {
			for i := 0; i < c.Authors; i++ {
				ch := chains[i]
				for j := 0; j < c.PerEpoch; j++ {
					ts := start(k) + uint64(j)*c.EpochMs/uint64(c.PerEpoch+1) + uint64(rng.Int64N(int64(c.EpochMs/uint64(c.PerEpoch+1))))
					var parents []*msg.Envelope
					pool := older
					if c.ParentEpochs > 0 && len(epochStart) > c.ParentEpochs {
						pool = older[epochStart[len(epochStart)-c.ParentEpochs]:]
					}
					for p := 0; p < c.MaxParents && len(pool) > 0; p++ {
						cand := pool[rng.IntN(len(pool))]
						if cand.Body.Author == msg.AccountOf(ch.key) || slices.Contains(parents, cand) {
							continue
						}
						parents = append(parents, cand)
					}
					// Parents must not be younger than the message.
					parents = slices.DeleteFunc(parents, func(pe *msg.Envelope) bool { return pe.Body.TsMs > ts })
					ch.seq++
					e, err := seal(ch, ch.prev, ch.seq, parents, ts, payload(rng, msg.AccountOf(ch.key), ch.seq, posts, pools))
					if err != nil {
						return nil, err
					}
					release := ts
					if backdated < c.Backdated && k > 2 && k < uint64(c.Epochs)-2 && j == c.PerEpoch-1 && i == 1+backdated {
						// Backdated: stamped inside epoch k, first released two epochs later.
						release = end(k) + 2*c.EpochMs
						l.Backdated = append(l.Backdated, e.ID)
						backdated++
					}
					if c.ForkingAuthor && !forkDone && i == 0 && k == uint64(c.Epochs/2) && j == 0 {
						// A second message with the same seq on the same prev.
						twin, err := seal(ch, ch.prev, ch.seq, nil, ts+1, payload(rng, msg.AccountOf(ch.key), ch.seq+1000, nil, nil))
						if err != nil {
							return nil, err
						}
						deliver(twin, ts+1)
						all = append(all, twin)
						forkDone = true
					}
					ch.prev = e
					deliver(e, release)
					all = append(all, e)
					fresh = append(fresh, e)
				}
			}
		}
		// Witness duty for epoch k at end(k)+g (+ jitter), possibly late or withheld.
		for w := 0; w < c.Witnesses; w++ {
			signAt := end(k) + c.GraceMs + uint64(rng.Int64N(int64(c.GraceMs/2)+1))
			release := signAt
			if !online(w, signAt) {
				signAt = start(offTo) + c.GraceMs // returns: empty checkpoint for k
				release = signAt
			} else if r := rng.Float64(); r < c.LateCheckpoint {
				signAt += uint64(1+rng.IntN(3)) * c.EpochMs
				release = signAt
			} else if r < c.LateCheckpoint+c.WithheldCheckpoint {
				release = signAt + uint64(1+rng.IntN(3))*c.EpochMs
			}
			// A witness signs its checkpoints in epoch order: one that is late for k is
			// late for what follows until it catches up.
			if signAt <= lastSign[w] {
				release += lastSign[w] + 1 - signAt
				signAt = lastSign[w] + 1
			}
			lastSign[w] = signAt
			cps = append(cps, pendingCP{w: w, k: k, signAt: signAt, release: release})
			if c.ForkingWitness && w == c.Witnesses-1 && k == uint64(c.Epochs/2) {
				cps = append(cps, pendingCP{w: w, k: k, signAt: signAt + 1, release: signAt + 1, branch: 1})
			}
		}
		// Sign, in time order, every checkpoint whose time has come before the next epoch's end.
		slices.SortStableFunc(cps, func(a, b pendingCP) int {
			if a.signAt != b.signAt {
				if a.signAt < b.signAt {
					return -1
				}
				return 1
			}
			return a.w - b.w
		})
		horizon := end(k + 1)
		keep := cps[:0]
		for _, p := range cps {
			if p.signAt >= horizon {
				keep = append(keep, p)
				continue
			}
			ch := chains[c.Authors+p.w]
			var heads []msg.Head
			if online(p.w, end(p.k)+c.GraceMs) {
				lst := listed[p.w]
				if p.branch == 1 {
					lst = map[msg.ID]bool{} // the other branch never saw the main branch's lists
				}
				heads = headsFor(l, views[p.w], all, p.w, end(p.k), end(p.k)+c.GraceMs, lst)
			}
			cp := &msg.Checkpoint{Epoch: p.k, Heads: heads}
			if len(heads) > 600 { // ~75 bytes a head: too large for a 64 KiB envelope
				b, err := msg.EncodeHeadsBlob(heads)
				if err != nil {
					return nil, err
				}
				id := msg.BlobID(b)
				l.Blobs[id] = b
				cp = &msg.Checkpoint{Epoch: p.k, HeadsBlob: &id}
			}
			prev := ch.prev
			seq := ch.seq + 1
			if p.branch == 1 {
				// The forked branch hangs off the checkpoint before the tip.
				if ch.prev == nil || ch.prev.Body.Prev == nil {
					continue
				}
				prev = findByID(all, *ch.prev.Body.Prev)
				seq = ch.seq
			}
			e, err := seal(ch, prev, seq, nil, p.signAt, cp)
			if err != nil {
				return nil, fmt.Errorf("checkpoint w%d k%d: %w", p.w, p.k, err)
			}
			if p.branch == 0 {
				ch.seq, ch.prev = seq, e
			}
			deliver(e, p.release)
			all = append(all, e)
		}
		cps = keep
		epochStart = append(epochStart, len(older))
		older = append(older, fresh...)
		for _, e := range fresh {
			switch e.Body.Kind {
			case msg.KindPost:
				posts = append(posts, e.ID)
			case msg.KindPoolOpen:
				pools = append(pools, e.ID)
			}
		}
	}
	return l, nil
}

// view is what one witness has received, kept incrementally: the messages it holds
// with all their ancestors (ok) and each author's branch tips among them.
type view struct {
	ok      map[msg.ID]bool
	next    int             // all[:next] has been looked at
	pending []*msg.Envelope // looked at, not held yet, in creation order
	tips    map[msg.Account][]*msg.Envelope
	authors []msg.Account // in first-seen order, for a stable iteration
}

func newView() *view {
	return &view{ok: map[msg.ID]bool{}, tips: map[msg.Account][]*msg.Envelope{}}
}

// headsFor lists, for witness w, the branch heads of every author: the newest messages
// with ts < end that it received, with all their ancestors, before cutoff; heads it has
// listed before are omitted. end and cutoff never decrease between calls for one view.
func headsFor(l *Log, v *view, all []*msg.Envelope, w int, end, cutoff uint64, listed map[msg.ID]bool) []msg.Head {
	recv := l.Received[w]
	cands := append(v.pending, all[v.next:]...)
	v.next = len(all)
	v.pending = nil
	for _, e := range cands { // creation order: ancestors first
		t, seen := recv[e.ID]
		fine := seen && t < cutoff && e.Body.TsMs < end
		if fine && e.Body.Prev != nil {
			fine = v.ok[*e.Body.Prev]
		}
		for _, p := range e.Body.Parents {
			fine = fine && v.ok[p]
		}
		if !fine {
			v.pending = append(v.pending, e)
			continue
		}
		v.ok[e.ID] = true
		a := e.Body.Author
		ts, known := v.tips[a]
		if !known {
			v.authors = append(v.authors, a)
		}
		if e.Body.Prev != nil {
			ts = slices.DeleteFunc(ts, func(x *msg.Envelope) bool { return x.ID == *e.Body.Prev })
		}
		v.tips[a] = append(ts, e)
	}
	var heads []msg.Head
	for _, a := range v.authors {
		for _, x := range v.tips[a] {
			if listed[x.ID] {
				continue
			}
			listed[x.ID] = true
			heads = append(heads, msg.Head{Author: a, Seq: x.Body.Seq, ID: x.ID})
		}
	}
	slices.SortFunc(heads, msg.CompareHeads)
	return heads
}

func findByID(all []*msg.Envelope, id msg.ID) *msg.Envelope {
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].ID == id {
			return all[i]
		}
	}
	return nil
}

// payload gives a ~300-byte POST, or a VOTE on an older pool, or now and then a
// POOL_OPEN on an older post.
func payload(rng *rand.Rand, author msg.Account, seq uint64, posts, pools []msg.ID) msg.Payload {
	switch r := rng.IntN(100); {
	case r < 5 && len(posts) > 0:
		return &msg.PoolOpen{Post: posts[rng.IntN(len(posts))], Fee: 10_000 + uint64(rng.IntN(10_000)), Duration: 2, PoolKind: msg.PoolExecutive}
	case r < 40 && len(pools) > 0:
		return &msg.Vote{Pool: pools[rng.IntN(len(pools))], Side: uint64(rng.IntN(2)), Stake: uint64(1 + rng.IntN(100_000))}
	}
	text := make([]byte, 160+rng.IntN(40))
	for i := range text {
		text[i] = 'a' + byte(rng.IntN(26))
	}
	return &msg.Post{Title: fmt.Sprintf("post %d", seq), Text: string(text),
		Authors: []msg.AuthorShare{{Account: author, PPM: msg.PPM}}}
}

// Shuffled gives the envelopes in a random order with some duplicates.
func (l *Log) Shuffled(seed uint64, dupFrac float64) []*msg.Envelope {
	rng := rand.New(rand.NewPCG(seed, ^seed))
	out := slices.Clone(l.Envelopes)
	for i := range out {
		if rng.Float64() < dupFrac {
			out = append(out, out[i])
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// ByRelease gives the envelopes in release order (ties by id).
func (l *Log) ByRelease() []*msg.Envelope {
	out := slices.Clone(l.Envelopes)
	slices.SortStableFunc(out, func(a, b *msg.Envelope) int {
		ra, rb := l.Release[a.ID], l.Release[b.ID]
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// WriteStore stores the log in a new pebble store at dir, as a node that received it
// would have: blobs, then every envelope in release order with its release time as
// the receive time. It compacts the store before closing it, so that a reader
// measured on it does not share the machine with the compactions the writes set off.
func (l *Log) WriteStore(dir string) error {
	ctx := context.Background()
	st, err := store.Open(dir)
	if err != nil {
		return err
	}
	for _, blob := range l.Blobs {
		if _, err := st.PutBlob(ctx, blob); err != nil {
			st.Close()
			return err
		}
	}
	for _, e := range l.ByRelease() {
		st.Put(store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: int64(l.Release[e.ID])})
	}
	if err := st.Compact(ctx); err != nil {
		st.Close()
		return err
	}
	return st.Close()
}

// ByLamport gives the envelopes by (lamport, id): ancestors first, the order a node
// rebuilding from its store replays them in.
func (l *Log) ByLamport() []*msg.Envelope {
	out := slices.Clone(l.Envelopes)
	slices.SortFunc(out, func(a, b *msg.Envelope) int {
		if a.Body.Lamport != b.Body.Lamport {
			if a.Body.Lamport < b.Body.Lamport {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	return out
}
