// Package msg owns the bytes of Guild's messages: the envelope and body of WIRE
// §2, the payload of each of the eleven kinds of WIRE §3 with their fixed
// ceilings, the canonical CBOR codec of WIRE §1, message ids, Ed25519 signing with
// the domain tag and ZIP-215 verification (single and batch), and the derived ids
// and random streams of WIRE §4.
//
// Decode is the one door into the node for bytes from outside: it applies every
// stateless check of SPEC §3 and answers with a *RejectError whose Reason is one
// sentinel, so a pubsub validator, the API and the CLI can branch on the reason.
// Seal is its inverse for an author's own messages; what Seal emits always passes
// Decode. DecodeStored is Decode for the node's own store only: the same checks
// and reasons, but the id is the one the store recorded when the message was
// verified, so neither the body hash nor the signature is computed again. A
// StoredDecoder is DecodeStored for a rebuild, which keeps every envelope it
// decodes: the same values, carved from shared slabs (arena.go) instead of three
// allocations per envelope, but without the bytes (Raw is nil; Size gives the
// length): the store holds them.
//
// Bodies and payloads are decoded by hand with strict readers (cbor.go), which
// accept exactly the canonical form; the reflection decoder with a re-encode
// check that they replaced is kept in reference_test.go as the oracle of the
// differential fuzz targets. A body, a plain post and a listed head are first
// matched against the one byte form nearly all of them have (fastBody, fastPost,
// fastHead); anything else goes to the strict readers, which name the fault.
//
// Everything here is pure and deterministic: no clock, I/O or goroutines. Rules
// that need state (balances, parameters in force, ancestors) belong to dag and
// state, not here.
package msg
