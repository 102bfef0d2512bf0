// Package identity owns an expert's key file: an Ed25519 private key in libp2p's
// protobuf encoding, written with mode 0600. The same key signs the expert's messages
// and, by default, is the node's libp2p identity, so the account id and the peer id
// are one and the same.
package identity
