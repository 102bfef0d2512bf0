package msg_test

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/guild-net/guild/msg"
)

// An author seals a VOTE; a peer decodes it, which checks the encoding, the
// network, the schema and the signature. A peer on another network rejects it with
// a typed reason.
func Example() {
	var seed [32]byte
	priv := ed25519.NewKeyFromSeed(seed[:])
	network := msg.NetworkID([]byte("a genesis CBOR"))

	sealed, err := msg.Seal(priv, msg.Body{Network: network, Seq: 1, Lamport: 1, TsMs: 1_700_000_000_000},
		&msg.Vote{Pool: msg.BlobID([]byte("a pool")), Side: msg.SideFor, Stake: 2_000_000})
	if err != nil {
		panic(err)
	}

	got, err := msg.Decode(sealed.Raw, msg.Options{Network: network})
	if err != nil {
		panic(err)
	}
	vote := got.Payload.(*msg.Vote)
	fmt.Println(got.Body.Kind, vote.Stake, got.ID == sealed.ID, len(sealed.Raw))

	_, err = msg.Decode(sealed.Raw, msg.Options{Network: msg.NetworkID([]byte("another genesis"))})
	fmt.Println(errors.Is(err, msg.ErrWrongNetwork))
	// Output:
	// VOTE 2000000 true 205
	// true
}
