package node

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/dag"
	"github.com/guild-net/guild/duty"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
	"github.com/guild-net/guild/state"
	"github.com/guild-net/guild/store"
)

var _ api.Backend = (*Node)(nil)

// loopErr maps the loop's own errors to API errors.
func loopErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrStopped), errors.Is(err, ErrBusy):
		return api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return api.Errorf(http.StatusServiceUnavailable, api.CodeUnavailable, "%v", err)
	case errors.Is(err, ErrKeyInUse):
		return api.Errorf(http.StatusConflict, api.CodeKeyInUse, "%v", err)
	}
	return err
}

func u64p(v uint64) *uint64 { return &v }

// Status implements api.Backend.
func (n *Node) Status(ctx context.Context) (api.Status, error) {
	var s api.Status
	err := n.do(ctx, func() {
		now := n.clk.NowMs()
		s = api.Status{Network: n.gen.NetworkID().String(), Name: n.gen.Name, Account: n.self.String(),
			Epoch: n.ecfg.EpochOf(uint64(max(now, 0))), OwnSeq: n.own.seq, Alarms: n.alarms.get(),
			UptimeMs: now - n.startedMs, Addrs: []string{}}
		if k, ok := duty.Latest(n.ecfg, now); ok {
			s.DutyEpoch = u64p(k)
		}
		if c := n.led.Epochs() - 1; c >= 0 {
			r, _ := n.led.Epoch(uint64(c))
			s.Computed, s.Live, s.Settled, s.StateRoot = u64p(uint64(c)), r.Batch.Live, r.Settled, r.Root().String()
		}
		if sn := n.snap.Load(); sn != nil && sn.settled >= 0 {
			s.SettledEpoch = u64p(uint64(sn.settled))
		}
		s.LiveEpochs = n.led.Latest().LiveEpochs()
		if s.DutyEpoch != nil {
			s.Witness = n.obliged(*s.DutyEpoch)
		}
		if n.hasCP {
			s.LastCheckpoint = u64p(n.lastCP)
		}
		v := n.clockV
		s.Clock = api.ClockStatus{OffsetMs: v.OffsetMs, Peers: v.Peers, Skip: v.Skip, Reason: v.Reason.String()}
		ds := n.led.DAG().Stats()
		s.Messages = api.MessageStats{InDag: ds.Nodes, Held: ds.Held, Invalid: ds.Invalid, Orphans: ds.Orphans,
			Deferred: ds.Deferred, Unadmitted: ds.Unadmitted, Authors: ds.Authors, Forks: ds.ForkedAuthors}
	})
	if err != nil {
		return s, loopErr(err)
	}
	st := n.st.Stats()
	s.Store = api.StoreStats{Groups: st.Groups, Records: st.Records}
	if n.tr != nil {
		s.Peers = len(n.tr.Peers())
		s.Addrs = append(s.Addrs, n.tr.Addrs()...)
	}
	if s.Alarms == nil {
		s.Alarms = []string{}
	}
	return s, nil
}

// Peers implements api.Backend.
func (n *Node) Peers(ctx context.Context) ([]api.Peer, error) {
	out := []api.Peer{}
	if n.tr == nil {
		return out, nil
	}
	for _, p := range n.tr.Peers() {
		ap := api.Peer{ID: p.ID, Addrs: p.Addrs}
		if p.HasScore {
			sc := p.Score
			ap.Score = &sc
		}
		out = append(out, ap)
	}
	return out, nil
}

// Heads implements api.Backend.
func (n *Node) Heads(ctx context.Context) ([]api.AuthorHeads, error) {
	var out []api.AuthorHeads
	err := n.do(ctx, func() {
		d := n.led.DAG()
		out = make([]api.AuthorHeads, 0, len(d.Authors()))
		for _, a := range d.Authors() {
			ah := api.AuthorHeads{Account: a.String(), Heads: []api.Head{}}
			for _, h := range d.Heads(a) {
				ah.Heads = append(ah.Heads, api.Head{Seq: h.Seq(), ID: h.ID().String(), TsMs: h.TsMs()})
			}
			for _, f := range d.ForksOf(a) {
				ah.ForkSeqs = append(ah.ForkSeqs, f.Seq)
			}
			out = append(out, ah)
		}
	})
	return out, loopErr(err)
}

func (n *Node) epochView(k uint64, detail bool) (api.Epoch, bool) {
	r, ok := n.led.Epoch(k)
	if !ok {
		return api.Epoch{}, false
	}
	e := api.Epoch{Epoch: k, StartMs: n.ecfg.Start(k), EndMs: n.ecfg.End(k), Batch: len(r.Batch.IDs), Cut: r.Cut.Len(),
		Live: r.Batch.Live, Settled: r.Settled, Forks: len(r.Batch.Forks), Seed: r.Seed.String(), StateRoot: r.Root().String()}
	if detail {
		e.IDs = make([]string, len(r.Batch.IDs))
		for i, id := range r.Batch.IDs {
			e.IDs[i] = id.String()
		}
		if rep := r.State.Report(); rep != nil {
			for _, ne := range rep.NoEffect {
				e.NoEffect = append(e.NoEffect, api.NoEffect{ID: ne.ID.String(), Author: ne.Author.String(), Seq: ne.Seq,
					Partial: ne.Err.Partial, Reason: ne.Err.Error()})
			}
		}
	}
	return e, true
}

// Epochs implements api.Backend.
func (n *Node) Epochs(ctx context.Context, from, to uint64) ([]api.Epoch, error) {
	out := []api.Epoch{}
	err := n.do(ctx, func() {
		for k := from; k <= to; k++ {
			e, ok := n.epochView(k, false)
			if !ok {
				break
			}
			out = append(out, e)
			if k == to {
				break
			}
		}
	})
	return out, loopErr(err)
}

// Epoch implements api.Backend.
func (n *Node) Epoch(ctx context.Context, k uint64) (api.Epoch, error) {
	var e api.Epoch
	var ok bool
	if err := n.do(ctx, func() { e, ok = n.epochView(k, true) }); err != nil {
		return e, loopErr(err)
	}
	if !ok {
		return e, api.NotFound("epoch %d is not computed", k)
	}
	return e, nil
}

// StateRoot implements api.Backend.
func (n *Node) StateRoot(ctx context.Context, k *uint64) (api.StateRoot, error) {
	var out api.StateRoot
	var aerr error
	err := n.do(ctx, func() {
		c := n.led.Epochs() - 1
		if c < 0 {
			aerr = api.Errorf(http.StatusNotFound, api.CodeNotComputed, "no epoch computed yet (the first is computed at genesis + epoch_ms + grace_ms)")
			return
		}
		j := uint64(c)
		if k != nil {
			j = *k
		}
		r, ok := n.led.Epoch(j)
		if !ok {
			aerr = api.NotFound("epoch %d is not computed (newest: %d)", j, c)
			return
		}
		out = api.StateRoot{Epoch: j, Settled: r.Settled, Root: r.Root().String(), Components: map[string]string{}}
		for name, id := range r.State.Components() {
			out.Components[name] = id.String()
		}
	})
	if err != nil {
		return out, loopErr(err)
	}
	return out, aerr
}

// rejectCode maps stateless rejections to stable API codes.
var rejectCodes = []struct {
	err  error
	code string
}{
	{msg.ErrOversized, api.CodeOversized}, {msg.ErrTruncated, api.CodeTruncated}, {msg.ErrMalformed, api.CodeMalformed},
	{msg.ErrNonCanonical, api.CodeNonCanonical}, {msg.ErrSchema, api.CodeSchema}, {msg.ErrVersion, api.CodeVersion},
	{msg.ErrWrongNetwork, api.CodeWrongNetwork}, {msg.ErrBadSignature, api.CodeBadSignature}, {msg.ErrLamport, api.CodeLamport},
	{msg.ErrUnknownKind, api.CodeUnknownKind},
}

var structCodes = []struct {
	err  error
	code string
}{
	{dag.ErrPrevMismatch, api.CodePrevMismatch}, {dag.ErrParentSameAuthor, api.CodeParentSameAuthor},
	{dag.ErrLamport, api.CodeStructLamport}, {dag.ErrTimestamp, api.CodeTimestamp},
}

func rejectError(err error) error {
	var re *msg.RejectError
	if errors.As(err, &re) {
		for _, c := range rejectCodes {
			if errors.Is(re.Reason, c.err) {
				return &api.Error{Status: http.StatusUnprocessableEntity, Code: c.code, Message: re.Error(), Field: re.Field}
			}
		}
		return &api.Error{Status: http.StatusUnprocessableEntity, Code: api.CodeSchema, Message: re.Error(), Field: re.Field}
	}
	if errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrFailed) {
		return api.Errorf(http.StatusServiceUnavailable, api.CodeStorage, "%v", err)
	}
	return api.Errorf(http.StatusInternalServerError, api.CodeStorage, "%v", err)
}

func structError(reason error) error {
	for _, c := range structCodes {
		if errors.Is(reason, c.err) {
			return api.Errorf(http.StatusUnprocessableEntity, c.code, "structurally invalid (kept only as evidence): %v", reason)
		}
	}
	return api.Errorf(http.StatusUnprocessableEntity, api.CodeSchema, "structurally invalid: %v", reason)
}

// Submit implements api.Backend: a client-signed envelope is stored durably before
// the reply, then published.
func (n *Node) Submit(ctx context.Context, raw []byte) (api.SubmitResult, error) {
	// A quick look at the author first: the node's own account is signed only by the
	// node (a second signer forks the chain).
	e, err := msg.Decode(raw, n.pipe.Options())
	if err != nil {
		return api.SubmitResult{}, rejectError(err)
	}
	if e.Body.Author == n.self {
		return api.SubmitResult{}, api.Errorf(http.StatusConflict, api.CodeOwnAccount,
			"the envelope is signed by this node's own account, whose chain only the node signs; send the payload to POST /v1/publish instead")
	}
	outs, err := n.submit(ctx, [][]byte{raw}, fromAPI)
	if err != nil {
		return api.SubmitResult{}, loopErr(err)
	}
	o := outs[0]
	if o.Err != nil {
		return api.SubmitResult{}, rejectError(o.Err)
	}
	res := api.SubmitResult{ID: o.ID.String(), Author: e.Body.Author.String(), Seq: e.Body.Seq, Status: o.Result.Status.String()}
	if o.Result.Status == dag.Rejected {
		// Stored as evidence, but never held: tell the client why.
		if err := o.Ticket.Wait(ctx); err != nil {
			return api.SubmitResult{}, rejectError(err)
		}
		return res, structError(o.Result.Reason)
	}
	// SPEC §1.4: acknowledged only once durable.
	if err := o.Ticket.Wait(ctx); err != nil {
		return api.SubmitResult{}, rejectError(err)
	}
	for _, id := range o.Result.Missing {
		res.Missing = append(res.Missing, id.String())
	}
	if len(o.Result.Missing) > 0 && n.tr != nil {
		n.tr.Want(o.Result.Missing...)
	}
	if o.Result.Status != dag.Duplicate && n.tr != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res.Published = n.tr.Publish(pctx, raw) == nil
		cancel()
	}
	return res, nil
}

// Publish implements api.Backend: the node signs the payload on its own chain.
func (n *Node) Publish(ctx context.Context, p api.Publish) (api.SubmitResult, error) {
	pl, err := msg.DecodePayload(msg.Kind(p.Kind), p.Payload)
	if err != nil {
		return api.SubmitResult{}, api.Errorf(http.StatusUnprocessableEntity, api.CodeBadPayload, "%v", err)
	}
	if _, ok := pl.(*msg.Checkpoint); ok {
		return api.SubmitResult{}, api.Errorf(http.StatusUnprocessableEntity, api.CodeBadPayload,
			"checkpoints are signed by the node's witness duty only (a second checkpoint for an epoch is misbehaviour)")
	}
	e, err := n.Sign(ctx, pl)
	if err != nil {
		var re *msg.RejectError
		if errors.As(err, &re) {
			return api.SubmitResult{}, api.Errorf(http.StatusUnprocessableEntity, api.CodeBadPayload, "%v", err)
		}
		return api.SubmitResult{}, loopErr(err)
	}
	return api.SubmitResult{ID: e.ID.String(), Author: n.self.String(), Seq: e.Body.Seq, Status: dag.Accepted.String(), Published: n.tr != nil}, nil
}

// Blob implements api.Backend.
func (n *Node) Blob(ctx context.Context, id msg.ID) ([]byte, error) {
	b, ok, err := n.st.GetBlob(id)
	if err != nil {
		return nil, api.Errorf(http.StatusInternalServerError, api.CodeStorage, "%v", err)
	}
	if !ok && n.tr != nil {
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		ferr := n.tr.FetchBlob(fctx, id)
		cancel()
		if ferr == nil {
			b, ok, err = n.st.GetBlob(id)
			if err != nil {
				return nil, api.Errorf(http.StatusInternalServerError, api.CodeStorage, "%v", err)
			}
		}
	}
	if !ok {
		return nil, api.NotFound("blob %s is not held here and no connected peer has it", id.Short())
	}
	return b, nil
}

// PutBlob implements api.Backend; the blob is durable when it returns.
func (n *Node) PutBlob(ctx context.Context, content []byte) (msg.ID, error) {
	id, err := n.st.PutBlob(ctx, content)
	if errors.Is(err, store.ErrBlobTooLarge) {
		return id, api.Errorf(http.StatusRequestEntityTooLarge, api.CodeBadRequest, "%v", err)
	}
	if err != nil {
		return id, api.Errorf(http.StatusInternalServerError, api.CodeStorage, "%v", err)
	}
	return id, nil
}

// latest gives the newest computed state (immutable) and its epoch.
func (n *Node) latest() (*state.State, *uint64) {
	sn := n.snap.Load()
	if sn == nil || sn.computed < 0 {
		return n.led.GenesisState(), nil
	}
	return sn.latest, u64p(uint64(sn.computed))
}

// Account implements api.Backend.
func (n *Node) Account(ctx context.Context, a msg.Account) (api.Account, error) {
	st, k := n.latest()
	b := st.Rep(a)
	free, frozen := st.Credits(a)
	return api.Account{Account: a.String(), Epoch: k, RepMicro: b.Bal, RepLocked: b.Locked, CreditsFree: free,
		CreditsFrozen: frozen, Admitted: st.Admitted(a), Equivocator: st.IsEquivocator(a), Misbehaver: st.IsMisbehaver(a),
		Gateway: n.gen.IsGateway(a)}, nil
}

// AccountHistory implements api.Backend from the per-epoch states the ledger keeps.
func (n *Node) AccountHistory(ctx context.Context, a msg.Account, from, to uint64) ([]api.AccountEpoch, error) {
	out := []api.AccountEpoch{}
	err := n.do(ctx, func() {
		for k := from; k <= to; k++ {
			r, ok := n.led.Epoch(k)
			if !ok {
				break
			}
			b := r.State.Rep(a)
			free, frozen := r.State.Credits(a)
			out = append(out, api.AccountEpoch{Epoch: k, Live: r.Batch.Live, Settled: r.Settled, RepMicro: b.Bal,
				RepLocked: b.Locked, CreditsFree: free, CreditsFrozen: frozen})
			if k == to {
				break
			}
		}
	})
	return out, loopErr(err)
}

// Params implements api.Backend.
func (n *Node) Params(ctx context.Context) ([]api.Param, error) {
	st, _ := n.latest()
	ps := st.Params()
	out := []api.Param{}
	for _, inf := range params.All() {
		out = append(out, api.Param{ID: uint64(inf.ID), Name: inf.Name, Value: ps.Get(inf.ID), Unit: inf.Unit, Scope: inf.Scope.String()})
	}
	return out, nil
}

// Post implements api.Backend.
func (n *Node) Post(ctx context.Context, id msg.ID) (api.Post, error) {
	st, _ := n.latest()
	p, ok := st.Forum().Get(id)
	if !ok {
		return api.Post{}, api.NotFound("post %s is not in the newest computed state", id.Short())
	}
	out := api.Post{ID: p.ID.String(), Signer: p.Signer.String(), Batch: p.Batch, Evidence: p.Evidence,
		HasParams: p.Params != nil, ValueMicro: st.Forum().Value(id)}
	if !p.Module.IsZero() {
		out.Module = p.Module.String()
	}
	for _, a := range p.Authors {
		out.Authors = append(out.Authors, api.PostAuthor{Account: a.Account.String(), PPM: a.PPM})
	}
	for _, c := range p.Citations {
		out.Citations = append(out.Citations, api.Citation{Target: c.Target.String(), PPM: c.Weight})
	}
	return out, nil
}

// Pool implements api.Backend.
func (n *Node) Pool(ctx context.Context, id msg.ID) (api.Pool, error) {
	st, _ := n.latest()
	p, ok := st.Pools().Get(id)
	if !ok {
		return api.Pool{}, api.NotFound("pool %s is not open in the newest computed state", id.Short())
	}
	out := api.Pool{ID: p.ID.String(), Post: p.Post.String(), Opener: p.Opener.String(), Kind: p.Kind.String(),
		FeeMicro: p.Fee, OpenBatch: p.OpenBatch, CloseLive: p.CloseLive, Votes: []api.Vote{}}
	for _, v := range p.Votes {
		out.Votes = append(out.Votes, api.Vote{Voter: v.Voter.String(), Side: v.Side.String(), Stake: v.Stake})
	}
	return out, nil
}

// Check implements api.Backend.
func (n *Node) Check(ctx context.Context, c api.Check) (api.CheckResult, error) {
	a, err := msg.ParseAccount(c.Author)
	if err != nil {
		return api.CheckResult{}, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "author %q: %v", c.Author, err)
	}
	pl, err := msg.DecodePayload(msg.Kind(c.Kind), c.Payload)
	if err != nil {
		return api.CheckResult{}, api.Errorf(http.StatusUnprocessableEntity, api.CodeBadPayload, "%v", err)
	}
	st, k := n.latest()
	res := api.CheckResult{Effect: true, Epoch: k}
	if err := st.Check(a, pl); err != nil {
		res.Effect = false
		res.Reason = err.Error()
		var ne *state.NoEffectError
		if errors.As(err, &ne) && ne.Partial {
			res.Effect, res.Partial = true, true
		}
	}
	return res, nil
}
