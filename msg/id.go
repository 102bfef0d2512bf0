package msg

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/mr-tron/base58"
	"github.com/zeebo/blake3"
)

// ID is a 32-byte BLAKE3-256 digest: a message id, blob id, post id or pool id.
type ID [32]byte

// Account is an Ed25519 public key. People see it as a libp2p peer id.
type Account [32]byte

// String gives the lowercase hex form of the id.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short gives the first 8 hex digits, for logs and tables.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether every byte is zero.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID reads a 64-digit hex id.
func ParseID(s string) (ID, error) {
	var id ID
	b, err := hex.DecodeString(s)
	if err != nil {
		return id, fmt.Errorf("parse id %q: %w", s, err)
	}
	if len(b) != len(id) {
		return id, fmt.Errorf("parse id %q: want 32 bytes, got %d", s, len(b))
	}
	copy(id[:], b)
	return id, nil
}

// BlobID is the id of a blob: BLAKE3-256 of its content, untagged (WIRE §4).
func BlobID(content []byte) ID { return blake3.Sum256(content) }

// peerIDPrefix is the identity multihash header (code 0x00, length 36) followed by
// the protobuf encoding of libp2p's PublicKey{Type: Ed25519, Data: <32 bytes>}.
var peerIDPrefix = []byte{0x00, 0x24, 0x08, 0x01, 0x12, 0x20}

// String renders the account as its libp2p peer id ("12D3KooW…").
func (a Account) String() string {
	b := make([]byte, 0, len(peerIDPrefix)+len(a))
	b = append(b, peerIDPrefix...)
	b = append(b, a[:]...)
	return base58.Encode(b)
}

// Hex gives the raw public key in hex.
func (a Account) Hex() string { return hex.EncodeToString(a[:]) }

// ErrNotEd25519PeerID is returned when a peer id does not embed an Ed25519 key.
var ErrNotEd25519PeerID = errors.New("not an Ed25519 libp2p peer id")

// ParseAccount reads an account written as a libp2p peer id, or as 64 hex digits.
func ParseAccount(s string) (Account, error) {
	var a Account
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			copy(a[:], b)
			return a, nil
		}
	}
	b, err := base58.Decode(s)
	if err != nil {
		return a, fmt.Errorf("parse account %q: %w", s, err)
	}
	if len(b) != len(peerIDPrefix)+32 || string(b[:len(peerIDPrefix)]) != string(peerIDPrefix) {
		return a, fmt.Errorf("parse account %q: %w", s, ErrNotEd25519PeerID)
	}
	copy(a[:], b[len(peerIDPrefix):])
	return a, nil
}
