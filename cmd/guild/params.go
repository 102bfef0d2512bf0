package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/guild-net/guild/api"
	"github.com/guild-net/guild/msg"
	"github.com/guild-net/guild/params"
)

// paramRow is one parameter as `guild params` shows it.
type paramRow struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Value   uint64 `json:"value"`
	Default uint64 `json:"default"`
	Min     uint64 `json:"min"`
	Max     uint64 `json:"max"`
	Odd     bool   `json:"odd,omitempty"`
	// Bounds is WIRE §7's bounds column, cross-parameter bounds included.
	Bounds string `json:"bounds"`
	Scope  string `json:"scope"`
	Unit   string `json:"unit,omitempty"`
	// Governable is false for genesis parameters, which no diff can change.
	Governable bool `json:"governable"`
}

func rowOf(inf params.Info, value uint64) paramRow {
	return paramRow{ID: uint64(inf.ID), Name: inf.Name, Value: value, Default: inf.Default, Min: inf.Min, Max: inf.Max,
		Odd: inf.Odd, Bounds: inf.Bounds, Scope: inf.Scope.String(), Unit: inf.Unit, Governable: inf.Scope != params.Genesis}
}

// nodeParams reads the values in force from the node as a Set and as rows.
func nodeParams(cmd *cobra.Command, f *clientFlags, c *api.Client) (params.Set, []paramRow, error) {
	ps, err := c.Params(cmd.Context())
	if err != nil {
		return params.Set{}, nil, f.clientError(err)
	}
	set := params.Defaults()
	var rows []paramRow
	for _, p := range ps {
		inf, ok := params.Lookup(params.ID(p.ID))
		if !ok {
			// A newer node may know parameters this CLI does not: show what it says.
			rows = append(rows, paramRow{ID: p.ID, Name: p.Name, Value: p.Value, Scope: p.Scope, Unit: p.Unit, Bounds: "unknown to this CLI"})
			continue
		}
		set = set.With(inf.ID, p.Value)
		rows = append(rows, rowOf(inf, p.Value))
	}
	return set, rows, nil
}

func newParamsCmd() *cobra.Command {
	var (
		f        clientFlags
		defaults bool
	)
	cmd := &cobra.Command{
		Use:   "params [NAME...]",
		Short: "List the network parameters in force, with defaults, bounds and scopes",
		Long: `List every network parameter (WIRE §7), or only the NAMEs given: its name and id,
the value in force at the running node's newest computed epoch (marked * when it
differs from the default), the default, the bounds, the scope and the unit.

Units: ms = milliseconds; ppm = parts per million (1000000 = 100 %); µcredits and
µREP = millionths of a credit or REP; "live epochs" count only epochs a witness
quorum checkpointed.

Scopes say when a value is read: genesis (fixed for the network's life, no
governance diff can change it), frozen (copied into a pool when it opens; later
changes do not touch open pools), read at open / request / post / stake /
resolution / window close (the value in force at that moment), read each epoch.

--defaults lists the defaults without asking a node. Values change through
governance: see 'guild params propose'. --json prints one object per parameter.`,
		Example: `  guild params
  guild params min_fee pool_duration_min pool_duration_max
  guild params --defaults --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if _, ok := params.ByName(a); !ok {
					return usageError{fmt.Errorf("unknown parameter %q (guild params lists them all)", a)}
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var rows []paramRow
			if defaults {
				for _, inf := range params.All() {
					rows = append(rows, rowOf(inf, inf.Default))
				}
			} else {
				c, err := f.client()
				if err != nil {
					return err
				}
				if _, rows, err = nodeParams(cmd, &f, c); err != nil {
					return err
				}
			}
			if len(args) > 0 {
				want := map[string]bool{}
				for _, a := range args {
					want[a] = true
				}
				var sel []paramRow
				for _, r := range rows {
					if want[r.Name] {
						sel = append(sel, r)
					}
				}
				rows = sel
			}
			if f.asJSON {
				if rows == nil {
					rows = []paramRow{}
				}
				return printJSON(cmd, rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tVALUE\tDEFAULT\tBOUNDS\tSCOPE\tUNIT")
			for _, r := range rows {
				mark := ""
				if r.Value != r.Default {
					mark = "*"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d%s\t%d\t%s\t%s\t%s\n", r.Name, r.ID, r.Value, mark, r.Default, r.Bounds, r.Scope, r.Unit)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&defaults, "defaults", false, "list the WIRE §7 defaults without contacting a node")
	cmd.Flags().Lookup("json").Usage = "print a JSON array, one object per parameter"
	usageFlagErrors(cmd)
	cmd.AddCommand(newParamsProposeCmd())
	return cmd
}

// proposeChange is one change of a proposal.
type proposeChange struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Current uint64 `json:"current"`
	Value   uint64 `json:"value"`
}

// proposeResult is the --json output of `guild params propose`.
type proposeResult struct {
	postResult
	Changes []proposeChange `json:"changes"`
	// Warning says the diff breaks a cross-parameter bound against the values in
	// force: it would be skipped at activation unless other diffs land first.
	Warning string `json:"warning,omitempty"`
	// OpenCommand opens the governance pool on the post once it is computed.
	OpenCommand string `json:"open_command,omitempty"`
}

// parseDiff reads NAME=VALUE arguments into a governance diff, checked against the
// names and per-parameter bounds of WIRE §7.
func parseDiff(args []string) (params.Diff, error) {
	m := map[params.ID]uint64{}
	for _, a := range args {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			return nil, usageError{fmt.Errorf("%q: want NAME=VALUE", a)}
		}
		inf, known := params.ByName(name)
		if !known {
			return nil, usageError{fmt.Errorf("%q: unknown parameter %q (guild params lists them all)", a, name)}
		}
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return nil, usageError{fmt.Errorf("%q: the value must be an unsigned whole number (in %s)", a, unitOr(inf.Unit))}
		}
		if _, dup := m[inf.ID]; dup {
			return nil, usageError{fmt.Errorf("%s given twice", name)}
		}
		m[inf.ID] = v
	}
	d := params.NewDiff(m)
	if err := params.CheckGovernance(d); err != nil {
		hint := ""
		if errors.Is(err, params.ErrGenesisOnly) {
			hint = "; genesis parameters never change in this version"
		}
		return nil, usageError{fmt.Errorf("refused: %w%s", err, hint)}
	}
	return d, nil
}

func unitOr(u string) string {
	if u == "" {
		return "plain units"
	}
	return u
}

// suggestedEpochs is the window printed in the open command: ten live epochs, or
// the nearest the bounds allow, so REP holders have time to take part.
func suggestedEpochs(set params.Set) uint64 {
	return max(set.Get(params.PoolDurationMin), min(10, set.Get(params.PoolDurationMax)))
}

func newParamsProposeCmd() *cobra.Command {
	var (
		f     publishFlags
		title string
		text  string
		body  string
	)
	cmd := &cobra.Command{
		Use:   "propose NAME=VALUE... [--title T] [--body FILE | --text S]",
		Short: "Publish a governance post carrying a parameter diff",
		Long: `Publish a governance post (SPEC §9) whose parameter diff sets each NAME to VALUE,
signed by the running node's account. Values are whole numbers in the parameter's
unit (guild params shows names, units, bounds and which are governable).

The CLI refuses, before contacting the node, an unknown name, a genesis parameter,
or a value outside the parameter's own bounds; then it asks the node whether the post
would take effect and refuses with the node's reason when not (--force publishes
anyway, --dry-run only asks). It warns when the diff breaks a cross-parameter bound
(e.g. pool_duration_min ≤ pool_duration_max) against the values in force: such a
diff is skipped whole at activation.

The post alone changes nothing: once it is in a computed epoch, open a governance
pool on it (the command is printed). If the pool passes, the values take effect
activation_delay live epochs after it closes; pools already open keep their frozen
parameters.

The post's title defaults to the list of changes; its body lists each change with
the value in force, after your own text (--text or --body FILE) if you give one.`,
		Example: `  guild params propose min_fee=20000
  guild params propose pool_duration_min=2 decay_ppm=1000 --text "Slow decay, longer windows" --json`,
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDiff(args)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("text") && cmd.Flags().Changed("body") {
				return usageError{errors.New("give --text or --body, not both")}
			}
			var intro []byte
			if body != "" {
				if intro, err = readBodyFile(cmd, body); err != nil {
					return err
				}
			} else {
				intro = []byte(text)
			}
			ns, err := f.session(cmd.Context())
			if err != nil {
				return err
			}
			set, _, err := nodeParams(cmd, &f.clientFlags, ns.c)
			if err != nil {
				return err
			}
			res := proposeResult{}
			var names []string
			var list strings.Builder
			m := map[uint64]uint64{}
			for _, ch := range d {
				inf, _ := params.Lookup(ch.ID)
				cur := set.Get(ch.ID)
				res.Changes = append(res.Changes, proposeChange{ID: uint64(ch.ID), Name: inf.Name, Current: cur, Value: ch.Value})
				names = append(names, fmt.Sprintf("%s = %d", inf.Name, ch.Value))
				unit := ""
				if inf.Unit != "" {
					unit = " " + inf.Unit
				}
				fmt.Fprintf(&list, "  %s (id %d): %d → %d%s  [bounds %s; %s]\n", inf.Name, inf.ID, cur, ch.Value, unit, inf.Bounds, inf.Scope)
				m[uint64(ch.ID)] = ch.Value
			}
			if _, err := set.ApplyDiff(d); err != nil {
				res.Warning = fmt.Sprintf("against the values in force the diff breaks a bound (%v): it would be skipped at activation unless other changes land first", err)
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", res.Warning)
			}
			if title == "" {
				title = "Set " + strings.Join(names, ", ")
				if len(title) > msg.MaxTitleBytes {
					title = fmt.Sprintf("Change %d parameters", len(d))
				}
			}
			if len(title) > msg.MaxTitleBytes {
				return usageError{fmt.Errorf("--title: at most %d bytes", msg.MaxTitleBytes)}
			}
			var full strings.Builder
			if len(intro) > 0 {
				full.Write(intro)
				full.WriteString("\n\n")
			}
			fmt.Fprintf(&full, "Parameter changes proposed (they take effect %d live epochs after a governance pool on this post passes):\n%s",
				set.Get(params.ActivationDelay), list.String())
			p := &msg.Post{Title: title, Authors: []msg.AuthorShare{{Account: ns.self, PPM: msg.PPM}}, Params: m}
			f.refusePartial = true
			pr, err := f.publishPost(cmd, ns, p, []byte(full.String()))
			res.postResult = pr
			if err != nil {
				return err
			}
			if !res.DryRun {
				res.OpenCommand = fmt.Sprintf("guild pool open %s --governance --fee %s --epochs %d", res.Post, formatMicro(set.Get(params.MinFee)), suggestedEpochs(set))
			}
			if f.asJSON {
				return printJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			if res.DryRun {
				fmt.Fprintln(w, res.describe())
				return nil
			}
			fmt.Fprintf(w, "governance post %s\n  %s\n%s", res.Post, res.describe(), list.String())
			fmt.Fprintf(w, "Once it is in a computed epoch (guild status), open the governance pool (fee at least min_fee, here the minimum):\n  %s\n", res.OpenCommand)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&title, "title", "", "post title (default: the list of changes)")
	cmd.Flags().StringVar(&text, "text", "", "your reasons, put before the list of changes")
	cmd.Flags().StringVar(&body, "body", "", "file with your reasons (\"-\" for standard input), put before the list of changes")
	return cmd
}
