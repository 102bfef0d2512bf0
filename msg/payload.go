package msg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Salt is the 32-byte secret of a result commitment.
type Salt [32]byte

// Fixed ceilings of WIRE §3. Governance bounds are checked in Apply, never here.
const (
	MaxParents         = 16
	MaxTitleBytes      = 256
	MaxTextBytes       = 16 << 10
	MaxAuthors         = 16
	MaxCitations       = 64
	MaxTags            = 8
	MaxTagBytes        = 32
	MaxArgs            = 32
	MaxArgBytes        = 256
	MaxRefBytes        = 64
	MaxLamport         = 1 << 53
	PPM                = 1_000_000
	MaxCommitWindow    = 50
	MaxOutcomeClass    = 255
	DefaultEnvelopeMax = 65536
)

// Payload is the decoded payload of one kind.
type Payload interface {
	Kind() Kind
	validate() error
}

// AuthorShare is one author of a post and its share in parts per million.
type AuthorShare struct {
	_       struct{} `cbor:",toarray"`
	Account Account
	PPM     uint64
}

// Citation is a signed weight from a post to an earlier post, in parts per million.
type Citation struct {
	_      struct{} `cbor:",toarray"`
	Target ID
	Weight int64
}

// Post (kind 1) is a forum post.
type Post struct {
	Title     string            `cbor:"1,keyasint"`
	Text      string            `cbor:"2,keyasint,omitempty"`
	BodyBlob  *ID               `cbor:"3,keyasint,omitempty"`
	Authors   []AuthorShare     `cbor:"4,keyasint"`
	Citations []Citation        `cbor:"5,keyasint,omitempty"`
	Tags      []string          `cbor:"6,keyasint,omitempty"`
	Module    *ID               `cbor:"7,keyasint,omitempty"`
	Params    map[uint64]uint64 `cbor:"8,keyasint,omitempty"`
}

// PoolOpen (kind 2) opens a validation pool on a post.
type PoolOpen struct {
	Post     ID     `cbor:"1,keyasint"`
	Fee      uint64 `cbor:"2,keyasint"`
	Duration uint64 `cbor:"3,keyasint"`
	PoolKind uint64 `cbor:"4,keyasint"`
}

// Pool kinds.
const (
	PoolExecutive  = 0
	PoolGovernance = 1
)

// Vote (kind 3) stakes REP on one side of a pool.
type Vote struct {
	Pool  ID     `cbor:"1,keyasint"`
	Side  uint64 `cbor:"2,keyasint"`
	Stake uint64 `cbor:"3,keyasint"`
}

// Vote sides.
const (
	SideAgainst = 0
	SideFor     = 1
)

// Availability (kind 4) stakes REP to be drawn into work committees.
type Availability struct {
	Stake    uint64 `cbor:"1,keyasint"`
	Until    uint64 `cbor:"2,keyasint"`
	Runtime  string `cbor:"3,keyasint"`
	MaxFuel  uint64 `cbor:"4,keyasint"`
	MaxPages uint64 `cbor:"5,keyasint"`
}

// Unstake (kind 5) withdraws an availability stake.
type Unstake struct {
	Availability ID `cbor:"1,keyasint"`
}

// Request (kind 6) posts WebAssembly work with a fee per run.
type Request struct {
	Module       ID       `cbor:"1,keyasint"`
	ModulePost   *ID      `cbor:"2,keyasint,omitempty"`
	Input        ID       `cbor:"3,keyasint"`
	Args         []string `cbor:"4,keyasint,omitempty"`
	Fuel         uint64   `cbor:"5,keyasint"`
	Pages        uint64   `cbor:"6,keyasint"`
	FeePerRun    uint64   `cbor:"7,keyasint"`
	Deadline     uint64   `cbor:"8,keyasint"`
	CommitWindow uint64   `cbor:"9,keyasint,omitempty"`
	RepeatEvery  uint64   `cbor:"10,keyasint,omitempty"`
	RepeatCount  uint64   `cbor:"11,keyasint,omitempty"`
	Runtime      string   `cbor:"12,keyasint"`
}

// Runs is the number of runs the request pays for.
func (r *Request) Runs() uint64 {
	if r.RepeatCount == 0 {
		return 1
	}
	return r.RepeatCount
}

// Commit (kind 7) binds a committee member to an outcome.
type Commit struct {
	Request    ID     `cbor:"1,keyasint"`
	Run        uint64 `cbor:"2,keyasint"`
	Round      uint64 `cbor:"3,keyasint"`
	Commitment ID     `cbor:"4,keyasint"`
}

// Reveal (kind 8) opens a commitment.
type Reveal struct {
	Request  ID     `cbor:"1,keyasint"`
	Run      uint64 `cbor:"2,keyasint"`
	Round    uint64 `cbor:"3,keyasint"`
	Outcome  ID     `cbor:"4,keyasint"`
	Class    uint64 `cbor:"5,keyasint"`
	Code     uint64 `cbor:"6,keyasint"`
	FuelUsed uint64 `cbor:"7,keyasint"`
	Output   ID     `cbor:"8,keyasint"`
	Salt     Salt   `cbor:"9,keyasint"`
}

// Deposit (kind 9) credits an account; only gateways' deposits have effect.
type Deposit struct {
	Account Account `cbor:"1,keyasint"`
	Amount  uint64  `cbor:"2,keyasint"`
	Ref     []byte  `cbor:"3,keyasint"`
}

// Withdraw (kind 10) burns credits, to be paid out by the named gateway.
type Withdraw struct {
	Amount  uint64  `cbor:"1,keyasint"`
	Gateway Account `cbor:"2,keyasint"`
	Ref     []byte  `cbor:"3,keyasint"`
}

// Head is one branch head listed by a checkpoint.
type Head struct {
	_      struct{} `cbor:",toarray"`
	Author Account
	Seq    uint64
	ID     ID
}

// Checkpoint (kind 11) is a witness's account of what it held for an epoch.
type Checkpoint struct {
	Epoch     uint64 `cbor:"1,keyasint"`
	Heads     []Head `cbor:"2,keyasint,omitempty"`
	HeadsBlob *ID    `cbor:"3,keyasint,omitempty"`
	StateRoot *ID    `cbor:"4,keyasint,omitempty"`
}

func (*Post) Kind() Kind         { return KindPost }
func (*PoolOpen) Kind() Kind     { return KindPoolOpen }
func (*Vote) Kind() Kind         { return KindVote }
func (*Availability) Kind() Kind { return KindAvailability }
func (*Unstake) Kind() Kind      { return KindUnstake }
func (*Request) Kind() Kind      { return KindRequest }
func (*Commit) Kind() Kind       { return KindCommit }
func (*Reveal) Kind() Kind       { return KindReveal }
func (*Deposit) Kind() Kind      { return KindDeposit }
func (*Withdraw) Kind() Kind     { return KindWithdraw }
func (*Checkpoint) Kind() Kind   { return KindCheckpoint }

// payloadKeys gives the allowed and required map keys of each kind's payload.
var payloadKeys = [...]struct{ allowed, required uint64 }{
	KindPost:         {keys(1, 2, 3, 4, 5, 6, 7, 8), keys(1, 4)},
	KindPoolOpen:     {keys(1, 2, 3, 4), keys(1, 2, 3, 4)},
	KindVote:         {keys(1, 2, 3), keys(1, 2, 3)},
	KindAvailability: {keys(1, 2, 3, 4, 5), keys(1, 2, 3, 4, 5)},
	KindUnstake:      {keys(1), keys(1)},
	KindRequest:      {keys(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), keys(1, 3, 5, 6, 7, 8, 12)},
	KindCommit:       {keys(1, 2, 3, 4), keys(1, 2, 3, 4)},
	KindReveal:       {keys(1, 2, 3, 4, 5, 6, 7, 8, 9), keys(1, 2, 3, 4, 5, 6, 7, 8, 9)},
	KindDeposit:      {keys(1, 2, 3), keys(1, 2, 3)},
	KindWithdraw:     {keys(1, 2, 3), keys(1, 2, 3)},
	KindCheckpoint:   {keys(1, 2, 3, 4), keys(1)},
}

// DecodePayload decodes and checks the payload bytes of kind k.
//
// Every kind is decoded by hand, for the same reason as the body: a node decodes
// every payload it stores and every one it replays. The hand decoders accept
// exactly what the reflection decoder plus its re-encode check accepted before
// them (reference_test.go keeps that reading; FuzzPayloadDifferential holds them
// to it), and reject with the same reason. That reason is a matter of order: the
// old path scanned the whole byte form first, then decoded the values, then
// compared the re-encoding, then checked the ceilings. So a payload the decoder
// refuses is scanned by checkKeys, whose first fault in byte order wins; when
// the byte form is sound, what the decoder stopped at is a value of the wrong
// type (ErrSchema) or a present key holding its default (ErrNonCanonical, found
// only after every value decoded). The ceilings of validate come last.
func DecodePayload(k Kind, data []byte) (Payload, error) {
	_, p, err := decodePayload(k, data, false, nil)
	return p, err
}

// decodePayload is DecodePayload. With env set, it allocates an envelope together
// with the payload and returns it too, as Decode wants it: one allocation costs
// less than two. A payload kept without its envelope would keep the envelope and
// its bytes alive; nothing in the node does that (the dag keeps envelopes, state
// copies what it keeps). With an arena (env set too), the envelope, the payload
// and its texts come from the arena's slabs instead of allocations of their own.
func decodePayload(k Kind, data []byte, env bool, a *arena) (*Envelope, Payload, error) {
	var e *Envelope
	var p Payload
	var err error
	switch k {
	case KindPost:
		e, p, err = decodePost(data, env, a)
	case KindPoolOpen:
		e, p, err = decodePoolOpen(data, env, a)
	case KindVote:
		e, p, err = decodeVote(data, env, a)
	case KindAvailability:
		e, p, err = decodeAvailability(data, env, a)
	case KindUnstake:
		e, p, err = decodeUnstake(data, env, a)
	case KindRequest:
		e, p, err = decodeRequest(data, env, a)
	case KindCommit:
		e, p, err = decodeCommit(data, env, a)
	case KindReveal:
		e, p, err = decodeReveal(data, env, a)
	case KindDeposit:
		e, p, err = decodeDeposit(data, env, a)
	case KindWithdraw:
		e, p, err = decodeWithdraw(data, env, a)
	case KindCheckpoint:
		e, p, err = decodeCheckpoint(data, env, a)
	default:
		return nil, nil, reject(ErrUnknownKind, "body.kind", "%d", uint64(k))
	}
	if err != nil {
		return nil, nil, payloadError(k, data, err)
	}
	if err := p.validate(); err != nil {
		if re, ok := err.(*RejectError); ok {
			re.Field = payloadField(k) + "." + re.Field
		}
		return nil, nil, err
	}
	return e, p, nil
}

// withEnvelope is a payload (with what it points to) and its envelope.
type withEnvelope[T any] struct {
	e Envelope
	p T
}

// alloc allocates a T, with an envelope around it when env is set, from a's slab for
// T when there is an arena.
func alloc[T any](env bool, a *arena) (*Envelope, *T) {
	if a != nil {
		x := slabFor[T](a).next()
		return &x.e, &x.p
	}
	if env {
		x := new(withEnvelope[T])
		return &x.e, &x.p
	}
	return nil, new(T)
}

func payloadField(k Kind) string { return "payload(" + k.String() + ")" }

// payloadError gives the reason for a payload the hand decoder refused with err,
// the one the old path gave: the first fault of the byte form, which checkKeys
// finds in byte order, comes first; with the byte form sound, err is a value of
// the wrong type (ErrSchema) or a value the canonical form writes otherwise
// (ErrNonCanonical).
func payloadError(k Kind, data []byte, err error) error {
	field := payloadField(k)
	ks := payloadKeys[k]
	if serr := checkKeys(data, ks.allowed, ks.required, field); serr != nil {
		return serr
	}
	re, ok := err.(*RejectError)
	if !ok || (re.Reason != ErrSchema && re.Reason != ErrNonCanonical) {
		// With the byte form sound, a truncation the decoder saw was its estimate
		// from a count of items too short to be what the field holds: the items
		// are of the wrong type.
		return reject(ErrSchema, field, "%v", err)
	}
	return withField(re, field)
}

func errDefaultPresent() error {
	return &RejectError{Reason: ErrNonCanonical, Detail: "a present key holds its default (an empty list, empty text, zero or empty map must be omitted), or a value in another form"}
}

// decodeFields walks the payload map of kind k with f and checks that every
// required key was there.
func decodeFields(b []byte, k Kind, f fieldFunc) error {
	ks := payloadKeys[k]
	seen, err := walkMap(b, 64, ks.allowed, f)
	if err != nil {
		return err
	}
	if key, ok := missingKey(ks.required, seen); ok {
		return &RejectError{Reason: ErrSchema, Detail: "missing key " + strconv.Itoa(key)}
	}
	return nil
}

// Each decoder below allocates its payload together with the ids its optional
// keys point to (and a post's first author), and with its envelope when env is
// set, so a payload costs one allocation plus its strings. The flag dflt records
// a value the canonical form writes otherwise (an optional key holding its
// default, a reference as a list): it is reported only once every value has
// decoded (see DecodePayload).

type postBuf struct {
	p            Post
	author       [1]AuthorShare
	blob, module ID
}

func decodePost(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, pb := alloc[postBuf](env, a)
	p := &pb.p
	title, text, ok := fastPost(b, pb)
	if !ok {
		// Not the common form: start again with the strict readers, which also
		// name the fault if there is one.
		*pb = postBuf{}
		var err error
		if title, text, err = readPost(b, pb); err != nil {
			return nil, nil, err
		}
	}
	if a != nil {
		p.Title, p.Text = a.texts(title, text)
	} else {
		p.Title, p.Text = joinTexts(title, text)
	}
	return e, p, nil
}

// fastPost reads a post in the form nearly every post has, byte for byte: a map
// of a title (1), a non-empty text (2) and one author (4) as [0x58 0x20 account,
// ppm], texts shorter than 64 KiB, ppm in its shortest form. It fills pb but for
// the texts, which it returns. It accepts only bytes readPost accepts, as the same
// values; for anything else it says !ok, leaving pb partly written.
// FuzzPayloadDifferential holds both ways to the reflection decoder.
func fastPost(b []byte, pb *postBuf) (title, text []byte, ok bool) {
	if len(b) < 2 || b[0] != 0xa3 || b[1] != 1 {
		return nil, nil, false
	}
	off := 2
	title, n := shortText(b[off:])
	if n == 0 {
		return nil, nil, false
	}
	off += n
	if len(b) < off+1 || b[off] != 2 {
		return nil, nil, false
	}
	off++
	if text, n = shortText(b[off:]); n == 0 || len(text) == 0 {
		return nil, nil, false
	}
	off += n
	// 4, a list of one [account, ppm]: 0x04 0x81 0x82 0x58 0x20 and 32 bytes.
	v := b[off:]
	if len(v) < 37 || v[0] != 4 || v[1] != 0x81 || v[2] != 0x82 || v[3] != 0x58 || v[4] != 32 {
		return nil, nil, false
	}
	ppm, n := shortUint(v[37:])
	if n == 0 || 37+n != len(v) {
		return nil, nil, false
	}
	a := &pb.author[0]
	copy(a.Account[:], v[5:37])
	a.PPM = ppm
	pb.p.Authors = pb.author[:1]
	return title, text, true
}

// shortText reads a UTF-8 text shorter than 64 KiB whose head is in its shortest
// form at the start of b and gives it (capped, as readText gives it) and its
// length in bytes, or 0 for anything else.
func shortText(b []byte) ([]byte, int) {
	var l, hn int
	switch {
	case len(b) > 0 && b[0] >= 0x60 && b[0] < 0x78:
		l, hn = int(b[0]-0x60), 1
	case len(b) > 1 && b[0] == 0x78 && b[1] >= 24:
		l, hn = int(b[1]), 2
	case len(b) > 2 && b[0] == 0x79 && b[1] != 0:
		l, hn = int(b[1])<<8|int(b[2]), 3
	default:
		return nil, 0
	}
	end := hn + l
	if len(b) < end || !utf8.Valid(b[hn:end]) {
		return nil, 0
	}
	return b[hn:end:end], end
}

// readPost reads a post with the strict readers into pb but for the texts, which
// it returns.
func readPost(b []byte, pb *postBuf) (title, text []byte, err error) {
	p := &pb.p
	var dflt bool
	err = decodeFields(b, KindPost, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			title, n, err = readText(v)
		case 2:
			text, n, err = readText(v)
			dflt = dflt || len(text) == 0
		case 3:
			n, err = readFixed(v, pb.blob[:])
			p.BodyBlob = &pb.blob
		case 4:
			p.Authors, n, err = readAuthors(v, pb.author[:0])
		case 5:
			p.Citations, n, err = readCitations(v)
			dflt = dflt || len(p.Citations) == 0
		case 6:
			p.Tags, n, err = readTextList(v)
			dflt = dflt || len(p.Tags) == 0
		case 7:
			n, err = readFixed(v, pb.module[:])
			p.Module = &pb.module
		case 8:
			p.Params, n, err = readUintMap(v)
			dflt = dflt || len(p.Params) == 0
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dflt {
		return nil, nil, errDefaultPresent()
	}
	return title, text, nil
}

// joinTexts copies two texts into one string and gives back its two parts, so a
// post's title and text cost one allocation between them (strings.Builder hands
// over its buffer without copying it again). Either part keeps both alive, which
// costs nothing while the envelope, which holds the bytes anyway, is alive.
func joinTexts(a, b []byte) (string, string) {
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	sb.Write(a)
	sb.Write(b)
	s := sb.String()
	return s[:len(a)], s[len(a):]
}

// readAuthors reads [account, ppm] pairs into buf when they fit.
func readAuthors(b []byte, buf []AuthorShare) ([]AuthorShare, int, error) {
	count, off, err := readList(b, maxListItems)
	if err != nil {
		return nil, 0, err
	}
	as := buf[:0]
	if count > cap(buf) {
		as = make([]AuthorShare, 0, count)
	}
	for range count {
		var a AuthorShare
		n, err := readTuple(b[off:], 2)
		if err != nil {
			return nil, 0, err
		}
		off += n
		if n, err = readFixed(b[off:], a.Account[:]); err != nil {
			return nil, 0, err
		}
		off += n
		if a.PPM, n, err = readUint(b[off:]); err != nil {
			return nil, 0, err
		}
		off += n
		as = append(as, a)
	}
	return as, off, nil
}

// readCitations reads [target, weight] pairs.
func readCitations(b []byte) ([]Citation, int, error) {
	count, off, err := readList(b, maxListItems)
	if err != nil {
		return nil, 0, err
	}
	cs := make([]Citation, count)
	for i := range cs {
		n, err := readTuple(b[off:], 2)
		if err != nil {
			return nil, 0, err
		}
		off += n
		if n, err = readFixed(b[off:], cs[i].Target[:]); err != nil {
			return nil, 0, err
		}
		off += n
		if cs[i].Weight, n, err = readInt(b[off:]); err != nil {
			return nil, 0, err
		}
		off += n
	}
	return cs, off, nil
}

func decodePoolOpen(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[PoolOpen](env, a)
	err := decodeFields(b, KindPoolOpen, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Post[:])
		case 2:
			p.Fee, n, err = readUint(v)
		case 3:
			p.Duration, n, err = readUint(v)
		case 4:
			p.PoolKind, n, err = readUint(v)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

func decodeVote(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Vote](env, a)
	err := decodeFields(b, KindVote, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Pool[:])
		case 2:
			p.Side, n, err = readUint(v)
		case 3:
			p.Stake, n, err = readUint(v)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

func decodeAvailability(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Availability](env, a)
	err := decodeFields(b, KindAvailability, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			p.Stake, n, err = readUint(v)
		case 2:
			p.Until, n, err = readUint(v)
		case 3:
			var s []byte
			s, n, err = readText(v)
			p.Runtime = string(s)
		case 4:
			p.MaxFuel, n, err = readUint(v)
		case 5:
			p.MaxPages, n, err = readUint(v)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

func decodeUnstake(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Unstake](env, a)
	err := decodeFields(b, KindUnstake, func(_ uint64, v []byte) (int, error) {
		return readFixed(v, p.Availability[:])
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

type requestBuf struct {
	r          Request
	modulePost ID
}

func decodeRequest(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, rb := alloc[requestBuf](env, a)
	p := &rb.r
	var dflt bool
	err := decodeFields(b, KindRequest, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Module[:])
		case 2:
			n, err = readFixed(v, rb.modulePost[:])
			p.ModulePost = &rb.modulePost
		case 3:
			n, err = readFixed(v, p.Input[:])
		case 4:
			p.Args, n, err = readTextList(v)
			dflt = dflt || len(p.Args) == 0
		case 5:
			p.Fuel, n, err = readUint(v)
		case 6:
			p.Pages, n, err = readUint(v)
		case 7:
			p.FeePerRun, n, err = readUint(v)
		case 8:
			p.Deadline, n, err = readUint(v)
		case 9:
			p.CommitWindow, n, err = readUint(v)
			dflt = dflt || p.CommitWindow == 0
		case 10:
			p.RepeatEvery, n, err = readUint(v)
			dflt = dflt || p.RepeatEvery == 0
		case 11:
			p.RepeatCount, n, err = readUint(v)
			dflt = dflt || p.RepeatCount == 0
		case 12:
			var s []byte
			s, n, err = readText(v)
			p.Runtime = string(s)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dflt {
		return nil, nil, errDefaultPresent()
	}
	return e, p, nil
}

func decodeCommit(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Commit](env, a)
	err := decodeFields(b, KindCommit, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Request[:])
		case 2:
			p.Run, n, err = readUint(v)
		case 3:
			p.Round, n, err = readUint(v)
		case 4:
			n, err = readFixed(v, p.Commitment[:])
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

func decodeReveal(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Reveal](env, a)
	err := decodeFields(b, KindReveal, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Request[:])
		case 2:
			p.Run, n, err = readUint(v)
		case 3:
			p.Round, n, err = readUint(v)
		case 4:
			n, err = readFixed(v, p.Outcome[:])
		case 5:
			p.Class, n, err = readUint(v)
		case 6:
			p.Code, n, err = readUint(v)
		case 7:
			p.FuelUsed, n, err = readUint(v)
		case 8:
			n, err = readFixed(v, p.Output[:])
		case 9:
			n, err = readFixed(v, p.Salt[:])
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	return e, p, nil
}

func decodeDeposit(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Deposit](env, a)
	var dflt bool
	err := decodeFields(b, KindDeposit, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			n, err = readFixed(v, p.Account[:])
		case 2:
			p.Amount, n, err = readUint(v)
		case 3:
			p.Ref, n, dflt, err = readRef(v)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dflt {
		return nil, nil, errDefaultPresent()
	}
	return e, p, nil
}

func decodeWithdraw(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, p := alloc[Withdraw](env, a)
	var dflt bool
	err := decodeFields(b, KindWithdraw, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			p.Amount, n, err = readUint(v)
		case 2:
			n, err = readFixed(v, p.Gateway[:])
		case 3:
			p.Ref, n, dflt, err = readRef(v)
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dflt {
		return nil, nil, errDefaultPresent()
	}
	return e, p, nil
}

// readRef reads a deposit's or withdrawal's reference into its own bytes: the
// ledger may keep it longer than the envelope. An empty reference is an empty,
// not a nil, slice, as the reflection decoder gave it.
//
// The reflection decoder also read a list of integers 0–255 as a byte string,
// whose re-encoding then differed: that form is a valid value written in another
// form, ErrNonCanonical, reported like a present default once every value has
// decoded. alien says the reference came in that form.
func readRef(b []byte) (ref []byte, n int, alien bool, err error) {
	if len(b) > 0 && b[0]>>5 == 4 {
		count, off, err := readList(b, maxListItems)
		if err != nil {
			return nil, 0, false, err
		}
		for range count {
			v, n, err := readUint(b[off:])
			if err != nil {
				return nil, 0, false, err
			}
			if v > 0xff {
				return nil, 0, false, &RejectError{Reason: ErrSchema, Detail: "byte " + strconv.FormatUint(v, 10) + " > 255"}
			}
			off += n
		}
		return nil, off, true, nil
	}
	v, n, err := readBytes(b)
	if err != nil {
		return nil, 0, false, err
	}
	return bytes.Clone(v), n, false, nil
}

type checkpointBuf struct {
	c               Checkpoint
	headsBlob, root ID
}

func decodeCheckpoint(b []byte, env bool, a *arena) (*Envelope, Payload, error) {
	e, cb := alloc[checkpointBuf](env, a)
	p := &cb.c
	var dflt bool
	err := decodeFields(b, KindCheckpoint, func(k uint64, v []byte) (n int, err error) {
		switch k {
		case 1:
			p.Epoch, n, err = readUint(v)
		case 2:
			if p.Heads, n, _, err = readHeads(nil, v); err == nil && len(p.Heads) > maxListItems {
				err = &RejectError{Reason: ErrSchema, Detail: strconv.Itoa(len(p.Heads)) + " heads > " + strconv.Itoa(maxListItems)}
			}
			dflt = dflt || len(p.Heads) == 0
		case 3:
			n, err = readFixed(v, cb.headsBlob[:])
			p.HeadsBlob = &cb.headsBlob
		case 4:
			n, err = readFixed(v, cb.root[:])
			p.StateRoot = &cb.root
		}
		return n, err
	})
	if err != nil {
		return nil, nil, err
	}
	if dflt {
		return nil, nil, errDefaultPresent()
	}
	return e, p, nil
}

// EncodePayload gives the canonical bytes of a payload after checking its ceilings.
func EncodePayload(p Payload) ([]byte, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("encode %v payload: %w", p.Kind(), err)
	}
	return encMode.Marshal(p)
}

func schema(field, format string, args ...any) error {
	return &RejectError{Reason: ErrSchema, Field: field, Detail: fmt.Sprintf(format, args...)}
}

func (p *Post) validate() error {
	if len(p.Title) > MaxTitleBytes {
		return schema("title", "%d bytes > %d", len(p.Title), MaxTitleBytes)
	}
	if len(p.Text) > MaxTextBytes {
		return schema("text", "%d bytes > %d", len(p.Text), MaxTextBytes)
	}
	if (p.Text == "") == (p.BodyBlob == nil) {
		return schema("text", "exactly one of text and body_blob")
	}
	if len(p.Authors) < 1 || len(p.Authors) > MaxAuthors {
		return schema("authors", "%d entries, want 1–%d", len(p.Authors), MaxAuthors)
	}
	for i := 1; i < len(p.Authors); i++ {
		if bytes.Compare(p.Authors[i-1].Account[:], p.Authors[i].Account[:]) > 0 {
			return schema("authors", "not sorted by account")
		}
	}
	if len(p.Citations) > MaxCitations {
		return schema("citations", "%d entries > %d", len(p.Citations), MaxCitations)
	}
	for i := 1; i < len(p.Citations); i++ {
		if bytes.Compare(p.Citations[i-1].Target[:], p.Citations[i].Target[:]) > 0 {
			return schema("citations", "not sorted by target")
		}
	}
	if len(p.Tags) > MaxTags {
		return schema("tags", "%d entries > %d", len(p.Tags), MaxTags)
	}
	for i, t := range p.Tags {
		if len(t) > MaxTagBytes {
			return schema("tags", "tag of %d bytes > %d", len(t), MaxTagBytes)
		}
		if i > 0 && p.Tags[i-1] >= t {
			return schema("tags", "not sorted and unique")
		}
	}
	return nil
}

func (p *PoolOpen) validate() error {
	if p.PoolKind > PoolGovernance {
		return schema("kind", "pool kind %d", p.PoolKind)
	}
	return nil
}

func (v *Vote) validate() error {
	if v.Side > SideFor {
		return schema("side", "side %d", v.Side)
	}
	return nil
}

func (a *Availability) validate() error {
	if !utf8.ValidString(a.Runtime) {
		return schema("runtime", "not UTF-8")
	}
	return nil
}

func (*Unstake) validate() error { return nil }

func (r *Request) validate() error {
	if len(r.Args) > MaxArgs {
		return schema("args", "%d entries > %d", len(r.Args), MaxArgs)
	}
	for _, a := range r.Args {
		if len(a) > MaxArgBytes {
			return schema("args", "argument of %d bytes > %d", len(a), MaxArgBytes)
		}
	}
	if (r.RepeatEvery != 0) != (r.RepeatCount > 1) {
		return schema("repeat_every", "required iff repeat_count > 1")
	}
	return nil
}

func (c *Commit) validate() error {
	if c.Run > math.MaxUint32 || c.Round > math.MaxUint32 {
		return schema("run", "run and round must fit 32 bits")
	}
	return nil
}

func (r *Reveal) validate() error {
	if r.Run > math.MaxUint32 || r.Round > math.MaxUint32 {
		return schema("run", "run and round must fit 32 bits")
	}
	if r.Class > MaxOutcomeClass {
		return schema("class", "%d > %d", r.Class, MaxOutcomeClass)
	}
	if r.Code > math.MaxUint32 {
		return schema("code", "%d does not fit 32 bits", r.Code)
	}
	return nil
}

func (d *Deposit) validate() error {
	if len(d.Ref) > MaxRefBytes {
		return schema("ref", "%d bytes > %d", len(d.Ref), MaxRefBytes)
	}
	return nil
}

func (w *Withdraw) validate() error {
	if len(w.Ref) > MaxRefBytes {
		return schema("ref", "%d bytes > %d", len(w.Ref), MaxRefBytes)
	}
	return nil
}

func (c *Checkpoint) validate() error {
	if len(c.Heads) > 0 && c.HeadsBlob != nil {
		return schema("heads", "both heads and heads_blob")
	}
	return checkHeadsSorted(c.Heads)
}

func checkHeadsSorted(hs []Head) error {
	for i := 1; i < len(hs); i++ {
		if !headLess(&hs[i-1], &hs[i]) {
			return errHeadsOrder()
		}
	}
	return nil
}

func errHeadsOrder() error {
	return schema("heads", "not sorted by (author, seq, id) and unique")
}

// headLess is CompareHeads(*a, *b) < 0. Heads next to each other in a list are
// nearly always different authors, which the first eight bytes of the accounts,
// compared as one big-endian word, tell apart.
func headLess(a, b *Head) bool {
	if x, y := binary.BigEndian.Uint64(a.Author[:8]), binary.BigEndian.Uint64(b.Author[:8]); x != y {
		return x < y
	}
	return CompareHeads(*a, *b) < 0
}

// CompareHeads orders heads by (author, seq, id), the order of every head list.
func CompareHeads(a, b Head) int {
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

// DecodeHeadsBlob decodes a checkpoint's heads blob: the same CBOR array, never empty.
func DecodeHeadsBlob(data []byte) ([]Head, error) {
	return DecodeHeadsBlobInto(nil, data)
}

// DecodeHeadsBlobInto is DecodeHeadsBlob reusing dst's storage when it is large
// enough, for a reader that decodes many blobs and keeps none (a rebuild reads every
// stored checkpoint's heads, a thousand or more each).
func DecodeHeadsBlobInto(dst []Head, data []byte) ([]Head, error) {
	hs, err := decodeHeads(dst, data)
	if err != nil {
		return nil, withField(err, "heads_blob")
	}
	return hs, nil
}

// decodeHeads reads the head list by hand: a node rebuilding its state decodes every
// stored checkpoint's blob, thousands of heads each, and reflection made that a fifth
// of a replay. The strict readers make any byte form but the canonical one an error.
func decodeHeads(dst []Head, data []byte) ([]Head, error) {
	hs, off, sorted, err := readHeads(dst, data)
	if err != nil {
		return nil, err
	}
	if len(hs) == 0 {
		return nil, &RejectError{Reason: ErrSchema, Detail: "empty"}
	}
	if off != len(data) {
		return nil, &RejectError{Reason: ErrMalformed, Detail: strconv.Itoa(len(data)-off) + " trailing bytes"}
	}
	if !sorted {
		return nil, errHeadsOrder()
	}
	return hs, nil
}

// readHeads reads a list of [author, seq, id] heads, the form of a checkpoint's
// inline heads and of its heads blob, into dst's storage if it is large enough,
// and says whether they are sorted by (author, seq, id) and unique.
//
// A rebuild reads some 400,000 heads, nearly all of them in the one canonical
// form, byte for byte: 0x83, 0x58 0x20 and the account, the seq, 0x58 0x20 and
// the id. Each head is matched against that form first (fastHead), and read
// with the strict readers only when it does not match, which then name the
// fault. The fast form accepts only bytes the strict readers accept, as these
// values.
func readHeads(dst []Head, data []byte) (hs []Head, off int, sorted bool, err error) {
	major, count, off, err := readHead(data)
	if err != nil {
		return nil, 0, false, err
	}
	if major != 4 {
		return nil, 0, false, &RejectError{Reason: ErrSchema, Detail: "want a list, got " + majorName(major)}
	}
	if count == 0 {
		return nil, off, true, nil
	}
	// A head takes at least 70 bytes; a count the bytes cannot hold is truncation,
	// found before allocating for it.
	if count > uint64(len(data)-off)/70+1 {
		return nil, 0, false, errTruncated()
	}
	hs = dst[:0]
	if uint64(cap(hs)) < count {
		hs = make([]Head, count)
	}
	hs = hs[:count]
	sorted = true
	for i := range hs {
		h := &hs[i]
		if n := fastHead(data[off:], h); n > 0 {
			off += n
		} else if n, err := slowHead(data[off:], h); err != nil {
			return nil, 0, false, err
		} else {
			off += n
		}
		if i > 0 && sorted && !headLess(&hs[i-1], h) {
			sorted = false
		}
	}
	return hs, off, sorted, nil
}

// fastHead reads a head in its canonical byte form into h and gives its length,
// or 0 (h partly written) if b does not start with one.
func fastHead(b []byte, h *Head) int {
	// 70 bytes: the shortest head.
	if len(b) < 70 || b[0] != 0x83 || b[1] != 0x58 || b[2] != 32 {
		return 0
	}
	seq, n := shortUint(b[35:])
	if n == 0 {
		return 0
	}
	id := b[35+n:]
	if len(id) < 34 || id[0] != 0x58 || id[1] != 32 {
		return 0
	}
	copy(h.Author[:], b[3:35])
	h.Seq = seq
	copy(h.ID[:], id[2:34])
	return 35 + n + 34
}

// shortUint reads an unsigned integer in its shortest form at the start of b and
// gives its length, or 0 for anything else, a b too short included.
func shortUint(b []byte) (uint64, int) {
	if len(b) == 0 {
		return 0, 0
	}
	switch c := b[0]; {
	case c < 24:
		return uint64(c), 1
	case c == 24 && len(b) >= 2 && b[1] >= 24:
		return uint64(b[1]), 2
	case c == 25 && len(b) >= 3:
		if v := binary.BigEndian.Uint16(b[1:3]); v > 0xff {
			return uint64(v), 3
		}
	case c == 26 && len(b) >= 5:
		if v := binary.BigEndian.Uint32(b[1:5]); v > 0xffff {
			return uint64(v), 5
		}
	case c == 27 && len(b) >= 9:
		if v := binary.BigEndian.Uint64(b[1:9]); v > 0xffffffff {
			return v, 9
		}
	}
	return 0, 0
}

// slowHead reads one head with the strict readers.
func slowHead(b []byte, h *Head) (int, error) {
	off, err := readTuple(b, 3)
	if err != nil {
		return 0, err
	}
	k, err := readFixed(b[off:], h.Author[:])
	if err != nil {
		return 0, err
	}
	off += k
	if h.Seq, k, err = readUint(b[off:]); err != nil {
		return 0, err
	}
	off += k
	if k, err = readFixed(b[off:], h.ID[:]); err != nil {
		return 0, err
	}
	return off + k, nil
}

// EncodeHeadsBlob gives the blob form of a head list.
func EncodeHeadsBlob(hs []Head) ([]byte, error) {
	if len(hs) == 0 {
		return nil, schema("heads_blob", "empty")
	}
	if err := checkHeadsSorted(hs); err != nil {
		return nil, err
	}
	return encMode.Marshal(hs)
}
