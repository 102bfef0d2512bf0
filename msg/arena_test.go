package msg_test

import (
	"reflect"
	"testing"

	"github.com/guild-net/guild/internal/simlog"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

// A StoredDecoder gives what DecodeStored gives for every envelope of a generated
// log (every kind it makes, forks and late checkpoints included) but the bytes,
// which it does not keep: the buffer it decoded from is overwritten at once.
// Envelopes carved from the same slabs stay as they were while later ones are
// decoded and while a caller appends to a slice one of them holds.
func TestStoredDecoderMatchesDecodeStored(t *testing.T) {
	log, err := simlog.Generate(simlog.Default())
	if err != nil {
		t.Fatal(err)
	}
	o := msg.Options{Network: log.Genesis.NetworkID(), MaxBytes: int(log.Genesis.Params.Get(params.EnvelopeMaxBytes))}
	d := msg.NewStoredDecoder(o)
	want := make([]*msg.Envelope, len(log.Envelopes))
	got := make([]*msg.Envelope, len(log.Envelopes))
	kinds := map[msg.Kind]bool{}
	var buf []byte
	for i, e := range log.Envelopes {
		if want[i], err = msg.DecodeStored(e.Raw, e.ID, o); err != nil {
			t.Fatal(err)
		}
		buf = append(buf[:0], e.Raw...)
		if got[i], err = d.Decode(buf, e.ID); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = 0xaa
		}
		if got[i].Raw != nil || got[i].Body.Payload != nil || got[i].BodyBytes() != nil || got[i].Size() != len(e.Raw) {
			t.Fatalf("envelope %d keeps its bytes (%d of them) or has size %d", i, len(got[i].Raw), got[i].Size())
		}
		want[i].Raw, want[i].Body.Payload = nil, nil
		kinds[e.Body.Kind] = true
	}
	if len(kinds) < 4 {
		t.Fatalf("the log holds only kinds %v", kinds)
	}
	for _, g := range got {
		if len(g.Body.Parents) > 0 {
			_ = append(g.Body.Parents, msg.ID{0xff})
		}
		if p, ok := g.Payload.(*msg.Post); ok {
			_ = append(p.Authors, msg.AuthorShare{PPM: 1})
		}
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("envelope %d (%v): StoredDecoder gives\n%+v\nDecodeStored gives\n%+v", i, want[i].Body.Kind, got[i], want[i])
		}
	}
	// Rejections are DecodeStored's too.
	raw := log.Envelopes[0].Raw
	bad := raw[:len(raw)-1]
	_, errWant := msg.DecodeStored(bad, log.Envelopes[0].ID, o)
	_, errGot := d.Decode(bad, log.Envelopes[0].ID)
	if errWant == nil || !reflect.DeepEqual(errGot, errWant) {
		t.Fatalf("StoredDecoder: %v, DecodeStored: %v", errGot, errWant)
	}
}
