package p2p

import (
	"strings"
	"testing"
	"time"
)

func TestBootstrapPeersAreDialed(t *testing.T) {
	a := newNode(t, 0, nodeOpts{memory: true})
	b := newNode(t, 1, nodeOpts{memory: true, extra: []Option{WithBootstrapAddrs(a.host.Addrs()...)}})
	eventually(t, 20*time.Second, "bootstrap connection", func() bool {
		return len(b.host.Libp2p().Network().ConnsToPeer(a.host.ID())) > 0
	})
	if !b.host.Libp2p().ConnManager().IsProtected(a.host.ID(), protectTag) {
		t.Fatal("bootstrap peer is not protected from connection trimming")
	}
}

func TestDHTFindsPeersThroughBootstrap(t *testing.T) {
	// a is the bootstrap node; b and c know only a and meet through the
	// DHT rendezvous under the /guild prefix.
	a := newNode(t, 0, nodeOpts{memory: true, extra: []Option{WithDHT(true)}})
	boot := WithBootstrapAddrs(a.host.Addrs()...)
	b := newNode(t, 1, nodeOpts{memory: true, extra: []Option{WithDHT(true), boot}})
	c := newNode(t, 2, nodeOpts{memory: true, extra: []Option{WithDHT(true), boot}})
	eventually(t, 60*time.Second, "b and c connected via the DHT", func() bool {
		return len(c.host.Libp2p().Network().ConnsToPeer(b.host.ID())) > 0
	})
	guild := false
	for _, p := range a.host.Libp2p().Mux().Protocols() {
		if strings.HasPrefix(string(p), "/ipfs/kad") {
			t.Fatalf("host speaks the public DHT protocol %s", p)
		}
		if strings.HasPrefix(string(p), DHTPrefix+"/kad") {
			guild = true
		}
	}
	if !guild {
		t.Fatal("no /guild/kad protocol registered")
	}
}
