// Package store is the node's durable storage: the message log (opaque signed
// envelopes plus the metadata the caller derived from them), its indexes, blobs
// and small node metadata. It is a go-datastore wrapper: pebble
// (github.com/ipfs/go-ds-pebble) on disk via Open, the in-memory map datastore
// via OpenMemory for tests. It never decodes envelopes; package dag decides
// what gets stored.
//
// # Durability (SPEC §1.4)
//
// Put joins the pending group and returns a Ticket at once; a committer
// goroutine writes the group as one pebble batch with pebble.Sync (one WAL
// fsync) within DefaultGroupWindow (10 ms) of the group's first record, or as
// soon as it holds DefaultGroupMax (256) records. Ticket.Wait returns when the
// record is durable. PutSync (own messages, checkpoints, anything
// acknowledged to a client) commits the pending group immediately, with the
// record in it, and returns once fsynced. Flush makes everything Put so far
// durable. PutBlob and PutMeta are durable when they return. A record is
// visible to every read from the moment Put returns, durable or not.
//
// Putting an id that is already stored is a no-op: the store never compares
// the bytes (an id is the hash of its envelope). Concurrent readers are
// fine; writers are serialised internally (one ingest goroutine is the
// expected use).
//
// # Key layout
//
// Keys are go-datastore paths of lowercase-hex components; every number is
// fixed-width big-endian before hex encoding, so key order is numeric order
// and a prefix scan of /a/<author>/ yields (seq, id) order. n is the insertion
// number the store assigns to each new record (0, 1, 2, … in Put order).
//
//	/v                              "guild-store/1" (format marker)
//	/o/<n:8>                        record: 0x01 id(32) author(32) seq(8) recvMs(8) envelope
//	/m/<id:32>                      n                  (by id)
//	/a/<author:32>/<seq:8>/<id:32>  n                  (by (author, seq); >1 id at a seq = fork)
//	/h/<author:32>                  seq (8 bytes)      (author head: highest stored seq)
//	/f/<author:32>/<seq:8>/<a:32>/<b:32>  empty        (fork evidence, a < b)
//	/r/<recvMs^2^63:8>/<n:8>        empty              (by receive time)
//	/b/<blob id:32>/<chunk:4>       chunk (256 KiB, last one shorter)
//	/bs/<blob id:32>                size (8 bytes), written with the chunks
//	/x/<hex(key)>                   metadata value
//
// All and Scan return records in insertion order, so a caller that stores a
// message only after its ancestors reads parents before children at start-up.
// Scan lends each envelope's bytes for one callback (a rebuild decodes them and
// keeps none); All copies them side by side into shared 64 KiB buffers, for a
// caller that keeps them all; Get, Range and Received give each record its own.
package store
