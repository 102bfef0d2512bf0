package p2p

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/zeebo/blake3"

	"github.com/guild-net/guild/msg"
)

// bucketTag domain-separates bucket hashes from every other BLAKE3 use.
const bucketTag = "guild/v1/sync/bucket\x00"

// digest is a frontier summary: one hash per bucket, bucket = first byte of
// the author key. An empty bucket hashes to 32 zero bytes.
type digest [256]msg.ID

// computeDigest hashes each bucket's entries, sorted by (author, seq, id):
//
//	BLAKE3(bucketTag ‖ (author(32) ‖ u64be(seq) ‖ id(32))…)
func computeDigest(heads []Head) digest {
	var d digest
	var hs *blake3.Hasher
	var buf [72]byte
	cur := -1
	for _, h := range heads {
		b := int(h.Author[0])
		if b != cur {
			if hs != nil {
				copy(d[cur][:], hs.Sum(nil))
			}
			cur = b
			hs = blake3.New()
			_, _ = hs.Write([]byte(bucketTag))
		}
		copy(buf[:32], h.Author[:])
		binary.BigEndian.PutUint64(buf[32:40], h.Seq)
		copy(buf[40:], h.ID[:])
		_, _ = hs.Write(buf[:])
	}
	if hs != nil {
		copy(d[cur][:], hs.Sum(nil))
	}
	return d
}

// compareHeads orders frontier entries by (author, seq, id).
func compareHeads(a, b Head) int {
	if c := bytes.Compare(a.Author[:], b.Author[:]); c != 0 {
		return c
	}
	if a.Seq != b.Seq {
		if a.Seq < b.Seq {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// sortHeads sorts and deduplicates a frontier in place.
func sortHeads(hs []Head) []Head {
	slices.SortFunc(hs, compareHeads)
	return slices.CompactFunc(hs, func(a, b Head) bool { return compareHeads(a, b) == 0 })
}
