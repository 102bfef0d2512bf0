package dag_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/msg"
)

// A message that arrives before its prev waits as an orphan and enters, held, when
// the prev arrives.
func ExampleDAG_Ingest() {
	net := msg.TaggedHash("guild/example\x00")
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	vote := &msg.Vote{Pool: msg.ID{1}, Side: msg.SideFor, Stake: 5}
	first, _ := msg.Seal(key, msg.Body{Network: net, Seq: 1, Lamport: 1, TsMs: 1000}, vote)
	second, _ := msg.Seal(key, msg.Body{Network: net, Seq: 2, Prev: &first.ID, Lamport: 2, TsMs: 1001}, vote)

	d := dag.New(dag.DefaultConfig())
	now := int64(2000)
	r := d.Ingest(second, now, nil)
	fmt.Println(r.Status, len(r.Missing) == 1 && r.Missing[0] == first.ID)
	r = d.Ingest(first, now, nil)
	fmt.Println(r.Status, len(r.Added), r.Added[1].Held)
	fmt.Println(d.Ingest(first, now, nil).Status)
	// Output:
	// orphan true
	// accepted 2 true
	// duplicate
}
