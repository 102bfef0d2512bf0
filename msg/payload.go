package msg

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
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

func newPayload(k Kind) Payload {
	switch k {
	case KindPost:
		return new(Post)
	case KindPoolOpen:
		return new(PoolOpen)
	case KindVote:
		return new(Vote)
	case KindAvailability:
		return new(Availability)
	case KindUnstake:
		return new(Unstake)
	case KindRequest:
		return new(Request)
	case KindCommit:
		return new(Commit)
	case KindReveal:
		return new(Reveal)
	case KindDeposit:
		return new(Deposit)
	case KindWithdraw:
		return new(Withdraw)
	case KindCheckpoint:
		return new(Checkpoint)
	}
	return nil
}

// DecodePayload decodes and checks the payload bytes of kind k.
func DecodePayload(k Kind, data []byte) (Payload, error) {
	p := newPayload(k)
	if p == nil {
		return nil, reject(ErrUnknownKind, "body.kind", "%d", uint64(k))
	}
	field := "payload(" + k.String() + ")"
	ks := payloadKeys[k]
	if err := checkKeys(data, ks.allowed, ks.required, field); err != nil {
		return nil, err
	}
	if err := unmarshalScanned(data, p, field); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		if re, ok := err.(*RejectError); ok {
			re.Field = field + "." + re.Field
		}
		return nil, err
	}
	return p, nil
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
			return schema("heads", "not sorted by (author, seq, id) and unique")
		}
	}
	return nil
}

func headLess(a, b *Head) bool { return CompareHeads(*a, *b) < 0 }

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
	hs, err := decodeHeads(data)
	if err != nil {
		return nil, withField(err, "heads_blob")
	}
	return hs, nil
}

// decodeHeads reads the head list by hand: a node rebuilding its state decodes every
// stored checkpoint's blob, thousands of heads each, and reflection made that a fifth
// of a replay. The strict readers make any byte form but the canonical one an error.
func decodeHeads(data []byte) ([]Head, error) {
	major, count, off, err := readHead(data)
	if err != nil {
		return nil, err
	}
	if major != 4 {
		return nil, &RejectError{Reason: ErrSchema, Detail: "want a list, got " + majorName(major)}
	}
	if count == 0 {
		return nil, &RejectError{Reason: ErrSchema, Detail: "empty"}
	}
	// A head takes at least 70 bytes; a count the bytes cannot hold is truncation,
	// found before allocating for it.
	if count > uint64(len(data)-off)/70+1 {
		return nil, errTruncated()
	}
	hs := make([]Head, count)
	for i := range hs {
		m, n, k, err := readHead(data[off:])
		if err != nil {
			return nil, err
		}
		if m != 4 || n != 3 {
			return nil, &RejectError{Reason: ErrSchema, Detail: "a head is [author, seq, id]"}
		}
		off += k
		if k, err = readFixed(data[off:], hs[i].Author[:]); err != nil {
			return nil, err
		}
		off += k
		if hs[i].Seq, k, err = readUint(data[off:]); err != nil {
			return nil, err
		}
		off += k
		if k, err = readFixed(data[off:], hs[i].ID[:]); err != nil {
			return nil, err
		}
		off += k
	}
	if off != len(data) {
		return nil, &RejectError{Reason: ErrMalformed, Detail: strconv.Itoa(len(data)-off) + " trailing bytes"}
	}
	if err := checkHeadsSorted(hs); err != nil {
		return nil, err
	}
	return hs, nil
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
