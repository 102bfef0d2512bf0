package forum

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/guild-net/guild/internal/pmap"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/reputation"
)

// MaxAuthors is the WIRE §3 ceiling on authors per post.
const MaxAuthors = 16

// WeightLimit bounds a citation's |weight| (SPEC §7.2).
const WeightLimit = 1_000_000

// Reasons a post has no effect. Every rejection wraps one of them in a *RejectError.
var (
	ErrDuplicate          = errors.New("post id already exists")
	ErrIncineratorID      = errors.New("post id is the incinerator")
	ErrNoAuthors          = errors.New("post has no authors")
	ErrTooManyAuthors     = errors.New("more than 16 authors")
	ErrAuthorsOrder       = errors.New("authors not distinct (or not sorted by account)")
	ErrZeroPPM            = errors.New("author with ppm 0")
	ErrPPMSum             = errors.New("author ppm do not sum to 1,000,000")
	ErrSignerNotAuthor    = errors.New("signer is not among the authors")
	ErrTooManyCitations   = errors.New("more citations than max_citations")
	ErrCitationWeight     = errors.New("citation weight outside [-1e6, 1e6] or zero")
	ErrCitationsOrder     = errors.New("citation targets not distinct (or not sorted)")
	ErrRevaluationLimit   = errors.New("Σ|citation weight| exceeds revaluation_limit_ppm")
	ErrUnknownTarget      = errors.New("cited post does not exist")
	ErrTargetTooNew       = errors.New("cited post is from this batch")
	ErrNegativeIncinerate = errors.New("the incinerator may only be cited with positive weight")
)

// RejectError says why a post has no effect.
type RejectError struct {
	Post msg.ID
	Err  error
	// Detail names the offending author or citation, if any.
	Detail string
}

func (e *RejectError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("post %s: %v: %s", e.Post.Short(), e.Err, e.Detail)
	}
	return fmt.Sprintf("post %s: %v", e.Post.Short(), e.Err)
}

func (e *RejectError) Unwrap() error { return e.Err }

// Author is one (account, ppm) pair of a post.
type Author struct {
	_       struct{} `cbor:",toarray"`
	Account msg.Account
	PPM     uint64
}

// Citation is one signed citation: weight in ppm, negative for a leach.
type Citation struct {
	_      struct{} `cbor:",toarray"`
	Target msg.ID
	Weight int64
}

func (c Citation) abs() uint64 {
	if c.Weight < 0 {
		return uint64(-c.Weight)
	}
	return uint64(c.Weight)
}

// Post is a post as the state keeps it. It never changes after Add.
type Post struct {
	ID        msg.ID
	Signer    msg.Account
	Authors   []Author   // ascending account
	Citations []Citation // ascending target
	// Module is the attached module blob id; zero means none.
	Module msg.ID
	// Params is the post's governance diff; nil when it has none or it was invalid.
	Params params.Diff
	// Batch is the epoch whose batch added the post (or whose deadline phase created an
	// evidence post).
	Batch    uint64
	Evidence bool
}

// Barred reports whether a may not vote in pools on this post: the signer of an
// ordinary post, any author of an evidence post (the committee winners) (SPEC §7.3).
func (p *Post) Barred(a msg.Account) bool {
	if p.Evidence {
		for _, au := range p.Authors {
			if au.Account == a {
				return true
			}
		}
		return false
	}
	return p.Signer == a
}

// BarredAccounts lists the barred accounts, ascending.
func (p *Post) BarredAccounts() []msg.Account {
	if !p.Evidence {
		return []msg.Account{p.Signer}
	}
	out := make([]msg.Account, len(p.Authors))
	for i, au := range p.Authors {
		out[i] = au.Account
	}
	return out
}

// AppendAuthorWeights appends the authors as Split weights (by ppm) to dst. A post
// does not keep them: splits over a post's authors are rare next to posts, and the
// callers have scratch to build them in.
func (p *Post) AppendAuthorWeights(dst []reputation.Weighted) []reputation.Weighted {
	for _, a := range p.Authors {
		dst = append(dst, reputation.Weighted{Key: reputation.AccountKey(a.Account), W: a.PPM})
	}
	return dst
}

// FlowKey is one citation edge.
type FlowKey struct {
	From, To msg.ID
}

// Forum holds posts, values and flows. Use New.
type Forum struct {
	// The state keeps a forum per epoch, so Clone must cost what an epoch changes, not
	// the size of the forum: posts live in shared immutable runs (see postSet), values
	// and flows in persistent maps.
	posts postSet
	value pmap.Map[msg.ID, uint64]
	flow  pmap.Map[FlowKey, uint64]

	// Scratch for Propagate; never shared between clones.
	split   []reputation.Splitter
	parts   [][]reputation.Weighted
	author  reputation.Splitter
	weights []reputation.Weighted
}

func idHash(id msg.ID) uint64 { return pmap.Hash32(id) }

func flowHash(k FlowKey) uint64 { return pmap.Hash32(k.From) ^ bits.RotateLeft64(pmap.Hash32(k.To), 8) }

// New gives an empty forum.
func New() *Forum {
	return &Forum{
		value: pmap.New[msg.ID, uint64](idHash),
		flow:  pmap.New[FlowKey, uint64](flowHash),
	}
}

// Clone gives an independent copy: the maps are persistent and posts never change, so
// after Seal it costs O(log posts); posts added since Seal are copied. A forum that is
// not being written may be cloned from several goroutines.
func (f *Forum) Clone() *Forum {
	return &Forum{posts: f.posts.clone(), value: f.value.Clone(), flow: f.flow.Clone()}
}

// Seal files the posts added since the last Seal into the shared runs, so that clones
// no longer copy them. The state calls it at the end of each epoch; it changes no
// content.
func (f *Forum) Seal() { f.posts.seal() }

// Get gives a post.
func (f *Forum) Get(id msg.ID) (*Post, bool) { return f.posts.get(id) }

// Len gives the number of posts.
func (f *Forum) Len() int { return f.posts.n }

// Value gives value[p]; Flow gives flow[(from, to)].
func (f *Forum) Value(p msg.ID) uint64 {
	v, _ := f.value.Get(p)
	return v
}

func (f *Forum) Flow(from, to msg.ID) uint64 {
	v, _ := f.flow.Get(FlowKey{from, to})
	return v
}

// NewPost is a decoded POST as Add takes it.
type NewPost struct {
	ID        msg.ID
	Signer    msg.Account
	Authors   []Author
	Citations []Citation
	Module    msg.ID
	// Params is the attached diff, nil if none.
	Params params.Diff
}

// Added reports a post's effect.
type Added struct {
	Post *Post
	// ParamsErr is set when the post carried a params diff that is not a valid governance
	// diff: the post stands, but without a diff, so no governance pool can open on it.
	ParamsErr error
}

// Add records a post from `batch` if it meets every rule of SPEC §6 POST and §7.2, with
// max_citations and revaluation_limit_ppm read from ps (read at post). A rejected post
// has no effect and the error (a *RejectError) says why.
func (f *Forum) Add(np NewPost, batch uint64, ps *params.Set) (Added, error) {
	rej := func(err error, detail string) (Added, error) {
		return Added{}, &RejectError{Post: np.ID, Err: err, Detail: detail}
	}
	if np.ID == msg.Incinerator {
		return rej(ErrIncineratorID, "")
	}
	if _, dup := f.posts.get(np.ID); dup {
		return rej(ErrDuplicate, "")
	}
	if detail, err := checkAuthors(np.Authors); err != nil {
		return rej(err, detail)
	}
	signer := false
	for _, a := range np.Authors {
		signer = signer || a.Account == np.Signer
	}
	if !signer {
		return rej(ErrSignerNotAuthor, np.Signer.String())
	}
	if uint64(len(np.Citations)) > ps.Get(params.MaxCitations) {
		return rej(ErrTooManyCitations, fmt.Sprintf("%d > %d", len(np.Citations), ps.Get(params.MaxCitations)))
	}
	var sumAbs uint64
	for i, c := range np.Citations {
		if c.Weight == 0 || c.Weight > WeightLimit || c.Weight < -WeightLimit {
			return rej(ErrCitationWeight, fmt.Sprintf("%s %d", c.Target.Short(), c.Weight))
		}
		if i > 0 && bytes.Compare(np.Citations[i-1].Target[:], c.Target[:]) >= 0 {
			return rej(ErrCitationsOrder, c.Target.Short())
		}
		sumAbs += c.abs()
		if c.Target == msg.Incinerator {
			if c.Weight < 0 {
				return rej(ErrNegativeIncinerate, "")
			}
			continue
		}
		t, ok := f.posts.get(c.Target)
		if !ok {
			return rej(ErrUnknownTarget, c.Target.Short())
		}
		if t.Batch >= batch {
			return rej(ErrTargetTooNew, c.Target.Short())
		}
	}
	if lim := ps.Get(params.RevaluationLimitPPM); sumAbs > lim {
		return rej(ErrRevaluationLimit, fmt.Sprintf("%d > %d", sumAbs, lim))
	}
	blk := f.posts.alloc()
	p := &blk.post
	*p = Post{
		ID:        np.ID,
		Signer:    np.Signer,
		Citations: slices.Clone(np.Citations),
		Module:    np.Module,
		Batch:     batch,
	}
	if len(np.Authors) == 1 {
		blk.author[0] = np.Authors[0]
		p.Authors = blk.author[:]
	} else {
		p.Authors = slices.Clone(np.Authors)
	}
	var res Added
	if np.Params != nil {
		if err := params.CheckGovernance(np.Params); err != nil {
			res.ParamsErr = err
		} else {
			p.Params = np.Params.Clone()
		}
	}
	f.posts.add(p)
	res.Post = p
	return res, nil
}

func checkAuthors(as []Author) (string, error) {
	if len(as) == 0 {
		return "", ErrNoAuthors
	}
	if len(as) > MaxAuthors {
		return fmt.Sprint(len(as)), ErrTooManyAuthors
	}
	var sum uint64
	for i, a := range as {
		if i > 0 && bytes.Compare(as[i-1].Account[:], a.Account[:]) >= 0 {
			return a.Account.String(), ErrAuthorsOrder
		}
		if a.PPM == 0 {
			return a.Account.String(), ErrZeroPPM
		}
		if a.PPM > reputation.PPM {
			return a.Account.String(), ErrPPMSum
		}
		sum += a.PPM
	}
	if sum != reputation.PPM {
		return fmt.Sprint(sum), ErrPPMSum
	}
	return "", nil
}

// AddEvidence records an evidence post created by the state (SPEC §8 step 5): the
// winners as authors with equal weights, at most one citation (to the module post), and
// no signer check. winners must be distinct; they are sorted here.
func (f *Forum) AddEvidence(id msg.ID, winners []msg.Account, cite *Citation, batch uint64) (*Post, error) {
	if _, dup := f.posts.get(id); dup {
		return nil, &RejectError{Post: id, Err: ErrDuplicate}
	}
	ws := slices.Clone(winners)
	slices.SortFunc(ws, func(x, y msg.Account) int { return bytes.Compare(x[:], y[:]) })
	ppm := reputation.EqualPPM(ws)
	p := &Post{ID: id, Batch: batch, Evidence: true, Authors: make([]Author, len(ws))}
	for i, a := range ws {
		p.Authors[i] = Author{Account: a, PPM: ppm[i]}
	}
	if detail, err := checkAuthors(p.Authors); err != nil {
		return nil, &RejectError{Post: id, Err: err, Detail: detail}
	}
	if cite != nil {
		if _, ok := f.posts.get(cite.Target); !ok {
			return nil, &RejectError{Post: id, Err: ErrUnknownTarget, Detail: cite.Target.Short()}
		}
		p.Citations = []Citation{{Target: cite.Target, Weight: cite.Weight}}
	}
	f.posts.add(p)
	return p, nil
}

// PostRow is one row of the posts state component.
type PostRow struct {
	_         struct{} `cbor:",toarray"`
	ID        msg.ID
	Batch     uint64
	Signer    msg.Account
	Evidence  bool
	Authors   []Author
	Citations []Citation
	Module    msg.ID
	Params    params.Diff
	Value     uint64
}

// FlowRow is one row of the flows state component (non-zero flows only).
type FlowRow struct {
	_    struct{} `cbor:",toarray"`
	From msg.ID
	To   msg.ID
	Flow uint64
}

// Posts gives every post by ascending id. The slice may be shared with other versions:
// read it, never write it.
func (f *Forum) Posts() []*Post { return f.posts.sorted() }

// Rows gives the posts component by ascending post id.
func (f *Forum) Rows() []PostRow {
	posts := f.posts.sorted()
	out := make([]PostRow, 0, len(posts))
	for _, p := range posts {
		out = append(out, PostRow{ID: p.ID, Batch: p.Batch, Signer: p.Signer, Evidence: p.Evidence,
			Authors: p.Authors, Citations: p.Citations, Module: p.Module, Params: p.Params, Value: f.Value(p.ID)})
	}
	return out
}

// FlowRows gives the flows component by ascending (from, to).
func (f *Forum) FlowRows() []FlowRow {
	out := make([]FlowRow, 0, f.flow.Len())
	f.flow.Range(func(k FlowKey, v uint64) bool {
		out = append(out, FlowRow{From: k.From, To: k.To, Flow: v})
		return true
	})
	slices.SortFunc(out, func(x, y FlowRow) int {
		if c := bytes.Compare(x.From[:], y.From[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.To[:], y.To[:])
	})
	return out
}
