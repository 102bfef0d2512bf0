package p2p

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/store"
)

// quietSync keeps sync out of gossip tests, so delivery is gossip's alone.
var quietSync = []Option{WithSyncOnConnect(false), WithSyncInterval(0)}

// mesh starts n hosts, connects each to every other and waits until every
// host sees all others on the topic.
func mesh(t *testing.T, n int, o nodeOpts) []*chainNode {
	t.Helper()
	nodes := make([]*chainNode, n)
	for i := range nodes {
		nodes[i] = newNode(t, i, o)
	}
	for i := range nodes {
		for j := i + 1; j < n; j++ {
			connect(t, nodes[i], nodes[j])
		}
	}
	eventually(t, 20*time.Second, "topic peers", func() bool {
		for _, nd := range nodes {
			if len(nd.host.TopicPeers()) < n-1 {
				return false
			}
		}
		return true
	})
	return nodes
}

// publishOwn stores an own envelope durably, then publishes it (SPEC §1.4).
func publishOwn(t *testing.T, n *chainNode, e *msg.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.st.PutSync(ctx, store.Record{ID: e.ID, Author: e.Body.Author, Seq: e.Body.Seq, Envelope: e.Raw, RecvMs: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if err := n.host.Publish(ctx, e.Raw); err != nil {
		t.Fatal(err)
	}
}

func TestGossipDeliveryAndDedup(t *testing.T) {
	nodes := mesh(t, 4, nodeOpts{memory: true, extra: quietSync})
	var all []*msg.Envelope
	authors := make([]*author, len(nodes))
	for i := range authors {
		authors[i] = newAuthor(i)
	}
	for round := 0; round < 10; round++ {
		for i, nd := range nodes {
			e := authors[i].next(t)
			all = append(all, e)
			publishOwn(t, nd, e)
		}
	}
	eventually(t, 30*time.Second, "every envelope at every node", func() bool {
		for _, nd := range nodes {
			if !hasAll(nd, all) {
				return false
			}
		}
		return true
	})
	// Each node accepted each foreign envelope exactly once.
	for i, nd := range nodes {
		if got, want := nd.accepted.Load(), int64(len(all)-10); got != want {
			t.Errorf("node %d accepted %d, want %d", i, got, want)
		}
	}
	// Dedup: republishing a known envelope from another node, and a copy of
	// one with another signature (same body, so the same gossip id), reaches
	// no validator again.
	before := make([]int64, len(nodes))
	for i, nd := range nodes {
		before[i] = nd.accepted.Load() + nd.ignored.Load() + nd.rejected.Load()
	}
	ctx := context.Background()
	if err := nodes[1].host.Publish(ctx, all[0].Raw); err != nil {
		t.Fatal(err)
	}
	resigned := append([]byte(nil), all[2].Raw...)
	resigned[len(resigned)-1] ^= 1
	if err := nodes[3].host.Publish(ctx, resigned); err != nil {
		t.Fatal(err)
	}
	// A fresh message published after them is delivered: by then the
	// duplicates had their chance.
	last := authors[0].next(t)
	publishOwn(t, nodes[0], last)
	eventually(t, 20*time.Second, "the last envelope", func() bool {
		for _, nd := range nodes {
			if !has(nd, last.ID) {
				return false
			}
		}
		return true
	})
	for i, nd := range nodes {
		got := nd.accepted.Load() + nd.ignored.Load() + nd.rejected.Load()
		want := before[i]
		if i != 0 {
			want++ // the last envelope
		}
		if got != want {
			t.Errorf("node %d validated %d envelopes after the duplicates, want %d", i, got-before[i], want-before[i])
		}
	}
}

func TestGossipOverQUIC(t *testing.T) {
	nodes := mesh(t, 3, nodeOpts{memory: true, quic: true, extra: quietSync})
	for _, nd := range nodes {
		for _, a := range nd.host.Addrs() {
			if !contains(a, "/quic-v1/") {
				t.Fatalf("address %s is not QUIC", a)
			}
		}
	}
	a := newAuthor(7)
	var sent []*msg.Envelope
	for i := 0; i < 5; i++ {
		e := a.next(t)
		sent = append(sent, e)
		publishOwn(t, nodes[i%3], e)
	}
	eventually(t, 20*time.Second, "QUIC delivery", func() bool {
		return hasAll(nodes[0], sent) && hasAll(nodes[1], sent) && hasAll(nodes[2], sent)
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestGossipInvalidSenderGraylisted(t *testing.T) {
	// Four honest nodes and one that publishes envelopes with broken
	// signatures (its own validator passes local messages unchecked).
	nodes := mesh(t, 5, nodeOpts{memory: true, extra: quietSync})
	honest, bad := nodes[:4], nodes[4]
	badID := bad.host.ID()
	a := newAuthor(40)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		e := a.next(t)
		junk := append([]byte(nil), e.Raw...)
		junk[len(junk)-5] ^= 0x55
		if err := bad.host.Publish(ctx, junk); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "the bad peer graylisted by every honest node", func() bool {
		for _, nd := range honest {
			s, ok := nd.host.Score(badID)
			if !ok || s >= GraylistThreshold {
				return false
			}
		}
		return true
	})
	var rejected int64
	for _, nd := range honest {
		rejected += nd.rejected.Load()
	}
	if rejected == 0 {
		t.Fatal("no honest node rejected anything")
	}
	// Honest traffic keeps flowing, and honest peers keep non-negative scores.
	h := newAuthor(41)
	var sent []*msg.Envelope
	for i := 0; i < 8; i++ {
		e := h.next(t)
		sent = append(sent, e)
		publishOwn(t, honest[i%4], e)
	}
	eventually(t, 20*time.Second, "honest delivery after the attack", func() bool {
		for _, nd := range honest {
			if !hasAll(nd, sent) {
				return false
			}
		}
		return true
	})
	for i, nd := range honest {
		for j, other := range honest {
			if i == j {
				continue
			}
			if s, ok := nd.host.Score(other.host.ID()); ok && s < 0 {
				t.Errorf("honest node %d scores honest node %d at %v", i, j, s)
			}
		}
	}
	// Messages from the graylisted peer are no longer even validated.
	before := rejectedTotal(honest)
	for i := 0; i < 5; i++ {
		e := a.next(t)
		junk := append([]byte(nil), e.Raw...)
		junk[len(junk)-5] ^= 0x55
		_ = bad.host.Publish(ctx, junk)
	}
	marker := h.next(t)
	publishOwn(t, honest[0], marker)
	eventually(t, 20*time.Second, "marker", func() bool {
		for _, nd := range honest {
			if !has(nd, marker.ID) {
				return false
			}
		}
		return true
	})
	if after := rejectedTotal(honest); after != before {
		t.Errorf("graylisted peer's messages were still validated: %d more rejections", after-before)
	}
}

func rejectedTotal(ns []*chainNode) int64 {
	var n int64
	for _, nd := range ns {
		n += nd.rejected.Load()
	}
	return n
}

var _ = atomic.Int64{}
var _ peer.ID
