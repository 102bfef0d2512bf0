package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/msg"
)

// publishFlags are the flags of every command that has the node sign a message.
type publishFlags struct {
	clientFlags
	force  bool
	dryRun bool
	// refusePartial treats a partial effect as none (a governance post whose diff
	// would be dropped is pointless).
	refusePartial bool
}

func (f *publishFlags) register(cmd *cobra.Command) {
	f.clientFlags.register(cmd)
	cmd.Flags().BoolVar(&f.force, "force", false, "publish even when the node says the message would have no effect")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "ask the node whether the message would take effect, publish nothing")
	cmd.Flags().Lookup("json").Usage = "print the result as JSON (amounts in micro-units)"
	usageFlagErrors(cmd)
}

// usageFlagErrors makes flag parsing errors usage errors (exit status 2).
func usageFlagErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
}

// usageArgs makes a positional-argument validator's errors usage errors.
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())}
		}
		return nil
	}
}

// nodeSession is a connection to the running node and the account it signs with.
type nodeSession struct {
	c    *api.Client
	self msg.Account
}

func (f *clientFlags) session(ctx context.Context) (nodeSession, error) {
	c, err := f.client()
	if err != nil {
		return nodeSession{}, err
	}
	s, err := c.Status(ctx)
	if err != nil {
		return nodeSession{}, f.clientError(err)
	}
	a, err := msg.ParseAccount(s.Account)
	if err != nil {
		return nodeSession{}, fmt.Errorf("node reports account %q: %w", s.Account, err)
	}
	return nodeSession{c: c, self: a}, nil
}

// ErrRefused is returned when the node says a message would have no effect and
// --force was not given: nothing was signed.
var ErrRefused = errors.New("refused before signing")

// published is what a publishing command reports (its --json output, plus fields
// each command adds).
type published struct {
	// ID is the message id (empty on --dry-run).
	ID     string `json:"id,omitempty"`
	Kind   string `json:"kind"`
	Author string `json:"author"`
	Seq    uint64 `json:"seq,omitempty"`
	// Status is the node's dag verdict on its own message (accepted).
	Status string `json:"status,omitempty"`
	// Published is true when the network took the message now; false means it is
	// stored and spreads by sync.
	Published bool            `json:"published"`
	DryRun    bool            `json:"dry_run,omitempty"`
	Forced    bool            `json:"forced,omitempty"`
	Check     api.CheckResult `json:"check"`
}

// checkedPublish asks the node whether p would take effect, refuses with the node's
// reason when it would not (unless --force), then has the node sign and publish it.
// before runs after a successful check and before signing (blob uploads); it is
// skipped on --dry-run.
func (f *publishFlags) checkedPublish(cmd *cobra.Command, ns nodeSession, p msg.Payload, before func() error) (published, error) {
	ctx := cmd.Context()
	out := published{Kind: p.Kind().String(), Author: ns.self.String(), DryRun: f.dryRun}
	if _, err := msg.EncodePayload(p); err != nil {
		return out, usageError{err}
	}
	res, err := ns.c.Check(ctx, ns.self, p)
	if err != nil {
		return out, f.clientError(err)
	}
	out.Check = res
	where := "the genesis state"
	if res.Epoch != nil {
		where = fmt.Sprintf("the state after epoch %d, the newest the node has computed; messages published since are not in it yet", *res.Epoch)
	}
	effect := res.Effect && !(res.Partial && f.refusePartial)
	switch {
	case !effect && !f.force:
		return out, fmt.Errorf("%w: the node says %s (judged on %s; --force publishes anyway)", ErrRefused, res.Reason, where)
	case !effect:
		out.Forced = true
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: publishing although the node says %s\n", res.Reason)
	case res.Partial:
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: only part of it will take effect: %s\n", res.Reason)
	}
	if f.dryRun {
		return out, nil
	}
	if before != nil {
		if err := before(); err != nil {
			return out, err
		}
	}
	r, err := ns.c.Publish(ctx, p)
	if err != nil {
		return out, f.clientError(err)
	}
	out.ID, out.Seq, out.Status, out.Published = r.ID, r.Seq, r.Status, r.Published
	return out, nil
}

// describe is the human summary line of a publication.
func (p *published) describe() string {
	if p.DryRun {
		v := "would take effect"
		if !p.Check.Effect {
			v = "would have NO effect: " + p.Check.Reason
		} else if p.Check.Partial {
			v = "would take effect only in part: " + p.Check.Reason
		}
		return fmt.Sprintf("dry run: this %s %s; nothing was signed", p.Kind, v)
	}
	net := "gossiped to the network"
	if !p.Published {
		net = "stored; it spreads when peers sync"
	}
	return fmt.Sprintf("signed by the node's account %s, seq %d of its chain; %s", p.Author, p.Seq, net)
}

// postResult is the --json output of `guild post`.
type postResult struct {
	published
	Post     string `json:"post,omitempty"`
	BodyBlob string `json:"body_blob,omitempty"`
	BodySize int    `json:"body_bytes"`
}

func newPostCmd() *cobra.Command {
	var (
		f       publishFlags
		text    string
		authors []string
		cites   []string
		tags    []string
	)
	cmd := &cobra.Command{
		Use:   "post TITLE [BODY-FILE] [--author ACCOUNT:PPM]... [--cite POST:±PPM]...",
		Short: "Publish a forum post through the running node",
		Long: `Publish a forum post (SPEC §6 POST), signed by the running node's account (the
node holds the key; it signs on its own chain). The body comes from BODY-FILE ("-"
reads standard input) or from --text. A body over 16 KiB, or one that is not UTF-8
text, is uploaded to the node as a blob and the post carries its id.

Authors share the post's value in parts per million (1,000,000 = all of it). By
default the node's account is the only author. --author ACCOUNT:PPM adds a co-author
(a peer id 12D3KooW…, 64 hex digits, or a key file); the node's account, which signs,
must be an author: unless you list it yourself it gets whatever the others leave
(--author bob.key:400000 leaves it 600,000). Co-authors need not consent and may
vote on pools about the post; the signer may not.

--cite POST:±PPM cites an earlier post (64 hex digits, or "incinerator") with a
signed weight in ppm: +500000 passes half of what this post earns to POST when a
pool ratifies it; a negative weight takes value away from POST (and burns as much
of this post's own). Rules the node enforces: at most max_citations citations,
Σ|weight| ≤ revaluation_limit_ppm, each target already in a computed epoch, the
incinerator only with positive weight (guild params shows the values).

Before signing, the CLI asks the node whether the post would take effect on its
newest computed state, and refuses with the node's reason when it would not
(--force publishes anyway, --dry-run only asks). Prints the post id (the message
id); open a validation pool on it with 'guild pool open'.`,
		Example: `  guild post "Word counts of Moby Dick" report.md
  guild post "Joint result" notes.txt --author 12D3KooWAbc…:300000 --cite 5f2e…c0:+250000
  echo "short body" | guild post "A note" - --tag notes --json`,
		Args: usageArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			title := args[0]
			if title == "" || len(title) > msg.MaxTitleBytes || !utf8.ValidString(title) {
				return usageError{fmt.Errorf("the title must be 1–%d bytes of UTF-8 text", msg.MaxTitleBytes)}
			}
			hasFile := len(args) == 2
			if hasFile == cmd.Flags().Changed("text") {
				return usageError{errors.New("give the body as BODY-FILE or as --text, exactly one")}
			}
			var body []byte
			if hasFile {
				var err error
				if body, err = readBodyFile(cmd, args[1]); err != nil {
					return err
				}
			} else {
				body = []byte(text)
			}
			cs, err := parseCitations(cites)
			if err != nil {
				return err
			}
			ts, err := parseTags(tags)
			if err != nil {
				return err
			}
			ns, err := f.session(cmd.Context())
			if err != nil {
				return err
			}
			as, err := parseAuthors(authors, ns.self)
			if err != nil {
				return err
			}
			p := &msg.Post{Title: title, Authors: as, Citations: cs, Tags: ts}
			res, err := f.publishPost(cmd, ns, p, body)
			if err != nil {
				return err
			}
			if f.asJSON {
				return printJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			if res.DryRun {
				fmt.Fprintln(w, res.describe())
				return nil
			}
			fmt.Fprintf(w, "post %s\n  %s\n", res.Post, res.describe())
			if res.BodyBlob != "" {
				fmt.Fprintf(w, "  body: blob %s (%d bytes)\n", res.BodyBlob, res.BodySize)
			}
			fmt.Fprintf(w, "It is in the state once the epoch it lands in is computed (guild status).\nOpen a pool on it: guild pool open %s --fee CREDITS --epochs N\n", res.Post)
			return nil
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&text, "text", "", "the body as a string, instead of BODY-FILE")
	fl.StringArrayVar(&authors, "author", nil, "ACCOUNT:PPM co-author and share in ppm (repeatable)")
	fl.StringArrayVar(&cites, "cite", nil, "POST:±PPM citation of an earlier post, weight in ppm (repeatable)")
	fl.StringArrayVar(&tags, "tag", nil, "tag of at most 32 bytes (repeatable, at most 8)")
	return cmd
}

// publishPost fills the post's body (inline text, or a blob uploaded after the
// check passes) and publishes it.
func (f *publishFlags) publishPost(cmd *cobra.Command, ns nodeSession, p *msg.Post, body []byte) (postResult, error) {
	if len(body) == 0 {
		return postResult{}, usageError{errors.New("the body is empty")}
	}
	res := postResult{BodySize: len(body)}
	var upload func() error
	// Text must be UTF-8 (a CBOR text string); anything else, or anything longer
	// than the inline ceiling, goes as a content-addressed blob.
	if len(body) <= msg.MaxTextBytes && utf8.Valid(body) {
		p.Text = string(body)
	} else {
		id := msg.BlobID(body)
		p.BodyBlob = &id
		res.BodyBlob = id.String()
		upload = func() error {
			r, err := ns.c.PutBlob(cmd.Context(), body)
			if err != nil {
				return fmt.Errorf("upload body blob: %w", f.clientError(err))
			}
			if r.ID != id.String() {
				return fmt.Errorf("upload body blob: the node stored it as %s, expected %s", r.ID, id)
			}
			return nil
		}
	}
	pub, err := f.checkedPublish(cmd, ns, p, upload)
	res.published = pub
	res.Post = pub.ID
	return res, err
}

func readBodyFile(cmd *cobra.Command, path string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), api.MaxBlobBody+1))
		if err != nil {
			return nil, fmt.Errorf("read body from standard input: %w", err)
		}
		if len(b) > api.MaxBlobBody {
			return nil, usageError{fmt.Errorf("body larger than %d bytes", api.MaxBlobBody)}
		}
		return b, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("body file: %w", err)}
	}
	if st.Size() > api.MaxBlobBody {
		return nil, usageError{fmt.Errorf("body file %s: %d bytes, more than the %d a blob may hold", path, st.Size(), api.MaxBlobBody)}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("body file: %w", err)
	}
	return b, nil
}

// parseAuthors reads ACCOUNT:PPM flags and makes sure the signer is an author: when
// it is not listed it gets the remainder of 1,000,000.
func parseAuthors(flags []string, signer msg.Account) ([]msg.AuthorShare, error) {
	var as []msg.AuthorShare
	seen := map[msg.Account]bool{}
	var sum uint64
	for _, s := range flags {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return nil, usageError{fmt.Errorf("--author %q: want ACCOUNT:PPM", s)}
		}
		acc, err := parseAccountArg(s[:i])
		if err != nil {
			return nil, usageError{fmt.Errorf("--author %q: %w", s, err)}
		}
		ppm, err := strconv.ParseUint(s[i+1:], 10, 64)
		if err != nil || ppm == 0 || ppm > msg.PPM {
			return nil, usageError{fmt.Errorf("--author %q: the share must be a whole number of ppm in 1–1000000", s)}
		}
		if seen[acc] {
			return nil, usageError{fmt.Errorf("--author %q: account listed twice", s)}
		}
		seen[acc] = true
		sum += ppm
		as = append(as, msg.AuthorShare{Account: acc, PPM: ppm})
	}
	if sum > msg.PPM {
		return nil, usageError{fmt.Errorf("the authors' shares sum to %d ppm, more than 1000000", sum)}
	}
	switch {
	case seen[signer] && sum != msg.PPM:
		return nil, usageError{fmt.Errorf("the authors' shares sum to %d ppm; they must sum to 1000000", sum)}
	case !seen[signer] && sum == msg.PPM:
		return nil, usageError{fmt.Errorf("the shares leave nothing for the node's account %s, which signs the post and must be an author: give it a share with --author %s:PPM", signer, signer)}
	case !seen[signer]:
		as = append(as, msg.AuthorShare{Account: signer, PPM: msg.PPM - sum})
	}
	slices.SortFunc(as, func(a, b msg.AuthorShare) int { return bytes.Compare(a.Account[:], b.Account[:]) })
	return as, nil
}

// parsePostID reads a post id: 64 hex digits or "incinerator".
func parsePostID(s string) (msg.ID, error) {
	if strings.EqualFold(s, "incinerator") {
		return msg.Incinerator, nil
	}
	id, err := msg.ParseID(s)
	if err != nil {
		return id, fmt.Errorf("%q is not a post id (64 hex digits)", s)
	}
	return id, nil
}

func parseCitations(flags []string) ([]msg.Citation, error) {
	var cs []msg.Citation
	for _, s := range flags {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return nil, usageError{fmt.Errorf("--cite %q: want POST:±PPM", s)}
		}
		t, err := parsePostID(s[:i])
		if err != nil {
			return nil, usageError{fmt.Errorf("--cite %q: %w", s, err)}
		}
		w, err := strconv.ParseInt(s[i+1:], 10, 64)
		if err != nil || w == 0 || w > msg.PPM || w < -msg.PPM {
			return nil, usageError{fmt.Errorf("--cite %q: the weight must be a non-zero whole number of ppm in -1000000…+1000000", s)}
		}
		cs = append(cs, msg.Citation{Target: t, Weight: w})
	}
	slices.SortFunc(cs, func(a, b msg.Citation) int { return bytes.Compare(a.Target[:], b.Target[:]) })
	for i := 1; i < len(cs); i++ {
		if cs[i].Target == cs[i-1].Target {
			return nil, usageError{fmt.Errorf("--cite: post %s cited twice", cs[i].Target)}
		}
	}
	if len(cs) > msg.MaxCitations {
		return nil, usageError{fmt.Errorf("%d citations: at most %d", len(cs), msg.MaxCitations)}
	}
	return cs, nil
}

func parseTags(flags []string) ([]string, error) {
	ts := slices.Clone(flags)
	slices.Sort(ts)
	ts = slices.Compact(ts)
	if len(ts) > msg.MaxTags {
		return nil, usageError{fmt.Errorf("%d tags: at most %d", len(ts), msg.MaxTags)}
	}
	for _, t := range ts {
		if t == "" || len(t) > msg.MaxTagBytes || !utf8.ValidString(t) {
			return nil, usageError{fmt.Errorf("--tag %q: 1–%d bytes of UTF-8 text", t, msg.MaxTagBytes)}
		}
	}
	return ts, nil
}
