package api

// Status is GET /v1/status.
type Status struct {
	Network string `json:"network"`
	Name    string `json:"name"`
	Account string `json:"account"`
	// Epoch is the epoch the node's clock is in; DutyEpoch the newest epoch whose
	// end(k)+g has passed (the newest one checkpoints may exist for).
	Epoch     uint64  `json:"epoch"`
	DutyEpoch *uint64 `json:"duty_epoch,omitempty"`
	// Computed is the newest computed epoch (absent before epoch 0 is computed).
	Computed *uint64 `json:"computed_epoch,omitempty"`
	Live     bool    `json:"live"`
	Settled  bool    `json:"settled"`
	// SettledEpoch is the newest settled epoch (absent when none).
	SettledEpoch   *uint64      `json:"settled_epoch,omitempty"`
	StateRoot      string       `json:"state_root,omitempty"`
	LiveEpochs     uint64       `json:"live_epochs"`
	Peers          int          `json:"peers"`
	Addrs          []string     `json:"addrs"`
	OwnSeq         uint64       `json:"own_seq"`
	Witness        bool         `json:"witness"`
	LastCheckpoint *uint64      `json:"last_checkpoint,omitempty"`
	Clock          ClockStatus  `json:"clock"`
	Messages       MessageStats `json:"messages"`
	Store          StoreStats   `json:"store"`
	// Alarms are conditions an operator must look at (divergence, key in use
	// elsewhere); empty when all is well.
	Alarms   []string `json:"alarms"`
	UptimeMs int64    `json:"uptime_ms"`
}

// ClockStatus is the witness clock check (SPEC §4).
type ClockStatus struct {
	OffsetMs int64  `json:"offset_ms"`
	Peers    int    `json:"peers"`
	Skip     bool   `json:"skip_duty"`
	Reason   string `json:"reason"`
}

// MessageStats counts the node's message graph.
type MessageStats struct {
	InDag      int `json:"in_dag"`
	Held       int `json:"held"`
	Invalid    int `json:"invalid"`
	Orphans    int `json:"orphans"`
	Deferred   int `json:"deferred"`
	Unadmitted int `json:"unadmitted"`
	Authors    int `json:"authors"`
	Forks      int `json:"forks"`
}

// StoreStats are the store's group-commit counters since start.
type StoreStats struct {
	Groups  uint64 `json:"group_commits"`
	Records uint64 `json:"records_committed"`
}

// Peer is one entry of GET /v1/peers.
type Peer struct {
	ID    string   `json:"id"`
	Score *float64 `json:"score,omitempty"`
	Addrs []string `json:"addrs,omitempty"`
}

// AuthorHeads is one entry of GET /v1/heads.
type AuthorHeads struct {
	Account  string   `json:"account"`
	Heads    []Head   `json:"heads"`
	ForkSeqs []uint64 `json:"fork_seqs,omitempty"`
}

// Head is one held branch head.
type Head struct {
	Seq  uint64 `json:"seq"`
	ID   string `json:"id"`
	TsMs uint64 `json:"ts_ms"`
}

// Epoch is one entry of GET /v1/epochs.
type Epoch struct {
	Epoch     uint64 `json:"epoch"`
	StartMs   uint64 `json:"start_ms"`
	EndMs     uint64 `json:"end_ms"`
	Batch     int    `json:"batch"`
	Cut       int    `json:"cut"`
	Live      bool   `json:"live"`
	Settled   bool   `json:"settled"`
	Forks     int    `json:"forks,omitempty"`
	Seed      string `json:"seed"`
	StateRoot string `json:"state_root"`
	// IDs is the batch, only for GET /v1/epochs/{k}.
	IDs []string `json:"ids,omitempty"`
	// NoEffect lists the batch's messages without effect, only for GET /v1/epochs/{k}.
	NoEffect []NoEffect `json:"no_effect,omitempty"`
}

// NoEffect is a batch message that had no (or partial) effect.
type NoEffect struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Seq     uint64 `json:"seq"`
	Partial bool   `json:"partial,omitempty"`
	Reason  string `json:"reason"`
}

// StateRoot is GET /v1/state/root.
type StateRoot struct {
	Epoch      uint64            `json:"epoch"`
	Settled    bool              `json:"settled"`
	Root       string            `json:"root"`
	Components map[string]string `json:"components"`
}

// SubmitResult answers POST /v1/envelopes and POST /v1/publish: the envelope is
// durable in the node's store when this is returned.
type SubmitResult struct {
	ID     string `json:"id"`
	Author string `json:"author"`
	Seq    uint64 `json:"seq"`
	// Status is the dag's verdict: accepted, duplicate, orphan (waits for ancestors,
	// which the node fetches), deferred (timestamp too far ahead), ignored (author not
	// admitted yet).
	Status string `json:"status"`
	// Missing lists the ancestors an orphan waits for.
	Missing []string `json:"missing,omitempty"`
	// Published is false when the envelope was stored but the network could not take
	// it now; sync spreads it later.
	Published bool `json:"published"`
}

// Publish is the body of POST /v1/publish: a payload the node signs on its own chain.
type Publish struct {
	Kind    uint64 `json:"kind"`
	Payload []byte `json:"payload"` // canonical CBOR of the payload (base64 in JSON)
}

// Account is GET /v1/accounts/{account}, read from the newest computed state.
type Account struct {
	Account       string  `json:"account"`
	Epoch         *uint64 `json:"epoch,omitempty"`
	RepMicro      uint64  `json:"rep_micro"`
	RepLocked     uint64  `json:"rep_locked_micro"`
	CreditsFree   uint64  `json:"credits_free_micro"`
	CreditsFrozen uint64  `json:"credits_frozen_micro"`
	Admitted      bool    `json:"admitted"`
	Equivocator   bool    `json:"equivocator"`
	Misbehaver    bool    `json:"misbehaver"`
	Gateway       bool    `json:"gateway"`
}

// AccountEpoch is one entry of GET /v1/accounts/{account}/history: the account's
// balances in the state after one computed epoch.
type AccountEpoch struct {
	Epoch         uint64 `json:"epoch"`
	Live          bool   `json:"live"`
	Settled       bool   `json:"settled"`
	RepMicro      uint64 `json:"rep_micro"`
	RepLocked     uint64 `json:"rep_locked_micro"`
	CreditsFree   uint64 `json:"credits_free_micro"`
	CreditsFrozen uint64 `json:"credits_frozen_micro"`
}

// Param is one entry of GET /v1/params.
type Param struct {
	ID    uint64 `json:"id"`
	Name  string `json:"name"`
	Value uint64 `json:"value"`
	Unit  string `json:"unit,omitempty"`
	Scope string `json:"scope"`
}

// Post is GET /v1/posts/{id}.
type Post struct {
	ID         string       `json:"id"`
	Signer     string       `json:"signer"`
	Authors    []PostAuthor `json:"authors"`
	Citations  []Citation   `json:"citations,omitempty"`
	Module     string       `json:"module,omitempty"`
	HasParams  bool         `json:"has_params_diff"`
	Batch      uint64       `json:"batch"`
	Evidence   bool         `json:"evidence"`
	ValueMicro uint64       `json:"value_micro"`
}

// PostAuthor is one author of a post.
type PostAuthor struct {
	Account string `json:"account"`
	PPM     uint64 `json:"ppm"`
}

// Citation is one citation of a post.
type Citation struct {
	Target string `json:"target"`
	PPM    int64  `json:"ppm"`
}

// Pool is GET /v1/pools/{id}.
type Pool struct {
	ID        string `json:"id"`
	Post      string `json:"post"`
	Opener    string `json:"opener"`
	Kind      string `json:"kind"`
	FeeMicro  uint64 `json:"fee_micro"`
	OpenBatch uint64 `json:"open_batch"`
	CloseLive uint64 `json:"close_live"`
	Votes     []Vote `json:"votes"`
}

// Vote is one vote in a pool.
type Vote struct {
	Voter string `json:"voter"`
	Side  string `json:"side"`
	Stake uint64 `json:"stake_micro"`
}

// Check is the body of POST /v1/check.
type Check struct {
	Author  string `json:"author"`
	Kind    uint64 `json:"kind"`
	Payload []byte `json:"payload"`
}

// CheckResult answers POST /v1/check: would the payload take effect in the next batch
// on top of the newest computed state?
type CheckResult struct {
	Effect  bool    `json:"effect"`
	Partial bool    `json:"partial,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Epoch   *uint64 `json:"epoch,omitempty"`
}

// BlobPut answers PUT /v1/blobs.
type BlobPut struct {
	ID   string `json:"id"`
	Size int    `json:"size"`
}
