package msg

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/zeebo/blake3"
)

// checkTyped fails unless err is a *RejectError with one of the sentinels.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	for _, s := range allReasons {
		if re.Reason == s {
			return
		}
	}
	t.Fatalf("reason %v is not a sentinel", re.Reason)
}

// FuzzDecode: any bytes. Decode never panics and every rejection is typed. When it
// accepts, the body and payload re-encode to the very bytes received, the frame
// rebuilds the input, the id is the body hash and stays the same on a second
// decode, and the hand-written body decoder agrees with the reflection decoder
// plus re-encode check (the reference reading of WIRE §1). Signatures are skipped
// so mutations get past them; a valid one must re-seal byte for byte.
func FuzzDecode(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		f.Add(e.Raw)
	}
	for _, c := range rejectCases(f) {
		f.Add(c.raw)
	}
	net := goldenNetwork(f)
	priv := goldenKey()
	me := AccountOf(priv)
	f.Fuzz(func(t *testing.T, data []byte) {
		// Differential check of the body decoder on whatever body the frame holds.
		if body, _, err := splitEnvelope(data); err == nil {
			var mine, ref Body
			var prev ID
			errMine := decodeBody(body, &mine, &prev)
			errRef := unmarshalCanonical(body, &ref, "body")
			if errRef == nil {
				errRef = checkKeys(body, bodyKeys.allowed, bodyKeys.required, "body")
			}
			if errRef == nil && len(ref.Parents) > MaxParents {
				errRef = reject(ErrSchema, "body.parents", "too many") // the hand decoder checks it before allocating
			}
			if (errMine == nil) != (errRef == nil) {
				t.Fatalf("body decoders disagree: hand %v, reference %v", errMine, errRef)
			}
			if errMine == nil && !reflect.DeepEqual(mine, ref) {
				t.Fatalf("body decoders disagree:\nhand %+v\nref  %+v", mine, ref)
			}
		}

		e, err := Decode(data, Options{Network: net, SkipVerify: true})
		if err != nil {
			checkTyped(t, err)
			return
		}
		body, err := Marshal(&e.Body)
		if err != nil || !bytes.Equal(body, e.BodyBytes()) {
			t.Fatalf("body re-encodes differently (%v)", err)
		}
		p, err := EncodePayload(e.Payload)
		if err != nil || !bytes.Equal(p, e.Body.Payload) {
			t.Fatalf("payload re-encodes differently (%v)", err)
		}
		frame := append([]byte{0x82}, appendHead(nil, 2, uint64(len(body)))...)
		frame = append(append(append(frame, body...), 0x58, 64), e.Sig[:]...)
		if !bytes.Equal(frame, data) {
			t.Fatal("frame rebuilds differently")
		}
		if e.ID != ID(blake3.Sum256(body)) {
			t.Fatal("id is not the body hash")
		}
		again, err := Decode(frame, Options{Network: net, SkipVerify: true})
		if err != nil || again.ID != e.ID {
			t.Fatalf("second decode: %v", err)
		}
		// With verification on, the outcome is the same or a bad signature.
		if _, err := Decode(data, Options{Network: net}); err != nil {
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("verify changed the reason: %v", err)
			}
			return
		}
		if e.Body.Author == me {
			s, err := Seal(priv, e.Body, e.Payload)
			if err != nil || !bytes.Equal(s.Raw, data) {
				t.Fatalf("re-seal differs (%v)", err)
			}
		}
	})
}

// FuzzDecodePayload: any kind byte, any payload bytes. Accepted payloads
// re-encode to the same bytes and decode again to an equal value.
func FuzzDecodePayload(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		f.Add(byte(e.Body.Kind), e.Body.Payload)
	}
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		p, err := DecodePayload(Kind(kind), data)
		if err != nil {
			checkTyped(t, err)
			return
		}
		if p.Kind() != Kind(kind) {
			t.Fatalf("kind %d decoded as %v", kind, p.Kind())
		}
		b, err := EncodePayload(p)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encodes differently (%v)", err)
		}
		q, err := DecodePayload(Kind(kind), b)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("second decode differs (%v)", err)
		}
	})
}

// FuzzHeadsBlob: any bytes as a checkpoint's heads blob.
func FuzzHeadsBlob(f *testing.F) {
	for _, e := range goldenEnvelopes(f) {
		if c, ok := e.Payload.(*Checkpoint); ok && len(c.Heads) > 0 {
			b, err := EncodeHeadsBlob(c.Heads)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
			f.Add(b[:len(b)-1])
		}
	}
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := DecodeHeadsBlob(data)
		if err != nil {
			checkTyped(t, err)
			return
		}
		b, err := EncodeHeadsBlob(hs)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encodes differently (%v)", err)
		}
	})
}
