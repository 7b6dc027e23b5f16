package runcli

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/compiler/bundle"
	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/runtime"
)

func newApplyCmd() *cobra.Command {
	var (
		complain  bool
		events    string
		readyFile string
		pin       bool
		pinDir    string
	)
	cmd := &cobra.Command{
		Use:   "apply [flags] BUNDLE",
		Short: "Enforce a bundle until interrupted",
		Long: `apply checks the kernel, loads BUNDLE into BPF maps, attaches the BPF LSM programs
and enforces the bundle's profiles until SIGINT or SIGTERM, then detaches cleanly:
from then on nothing is enforced.

A process is confined when it executes a file whose resolved path matches a
profile; its children and threads inherit the profile and the taint. Events
(denials, audits, taints, transitions, attachments) go to standard output, one
per line, naming the rule that decided as FILE:LINE:COL; progress and warnings go
to standard error.

With --pin, apply returns as soon as enforcement is live and enforcement outlives
it: programs and maps are pinned in bpffs (--pin-dir), 'bpfbox-run events' follows
the events, 'bpfbox-run status' shows what is confined, and 'bpfbox-run unload'
removes the policy.

apply --pin over a pinned policy replaces it, with no moment where a confined
process runs unconfined: the new programs are attached while the old ones still
are (meanwhile every access must pass both policies), then the old ones are
detached. Processes keep their taint, and their profile when the new bundle has
one with the same pattern; a process whose profile the new bundle drops is
unconfined from then on, and #[func]/#[kfunc] scopes start afresh. A replacement
that fails leaves the pinned policy as it was. It prints what it replaced.

Without --pin, apply is a policy of its own, even while one is pinned: both
enforce, each confining the processes that exec one of its profiles.

Everything is loaded and filled before anything is attached: a bundle that fails
any step is never partly applied.`,
		Example: `  bpfbox-run apply login.bundle
  bpfbox-run apply --complain --events json login.bundle > events.jsonl
  bpfbox-run apply --pin login.bundle && bpfbox-run events
  bpfbox-run apply --pin login-v2.bundle    # replaces the pinned policy`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.Usagef("apply: want exactly one BUNDLE, got %d arguments (see 'bpfbox-run apply --help')", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := runtime.ParseEventFormat(events)
			if err != nil {
				return cli.Usagef("apply: --events: %v", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if pin {
				return runApplyPinned(cmd.ErrOrStderr(), args[0], runtime.Options{Complain: complain}, pinDir)
			}
			return runApply(ctx, cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], runtime.Options{Complain: complain}, format, readyFile)
		},
	}
	cmd.Flags().BoolVar(&complain, "complain", false, "log every decision as it would be enforced, refuse nothing")
	cmd.Flags().StringVar(&events, "events", "text", "event output: text, json (one object per line) or none")
	cmd.Flags().StringVar(&readyFile, "ready-file", "", "create `FILE` once enforcement is live (for scripts and service managers)")
	cmd.Flags().BoolVar(&pin, "pin", false, "pin the policy in bpffs and return once it is live; it stays until 'bpfbox-run unload'")
	cmd.Flags().StringVar(&pinDir, "pin-dir", runtime.DefaultPinDir, "bpffs `DIR` of the pinned policy")
	return cmd
}

// loadBundle reads, decodes and plans a bundle: everything that needs no kernel.
func loadBundle(path string, opt runtime.Options) ([]byte, *bundle.Bundle, *runtime.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read bundle: %w", err)
	}
	b, err := bundle.Decode(data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	plan, err := runtime.NewPlan(b, opt)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, b, plan, nil
}

// applyBundle plans and applies a bundle, printing warnings: the common part
// of apply with and without --pin.
func applyBundle(stderr io.Writer, path string, opt runtime.Options) (*bundle.Bundle, []byte, *runtime.Enforcer, error) {
	data, b, plan, err := loadBundle(path, opt)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "bpfbox-run: warning: %s\n", w)
	}
	if os.Geteuid() != 0 {
		return nil, nil, nil, fmt.Errorf("apply: must run as root (loading BPF LSM programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)")
	}
	e, err := runtime.Apply(b, plan)
	if err != nil {
		return nil, nil, nil, err
	}
	return b, data, e, nil
}

func describe(b *bundle.Bundle, path string, opt runtime.Options) string {
	var names []string
	for _, p := range b.Profiles {
		names = append(names, p.Pattern)
	}
	mode := "enforcing"
	if opt.Complain {
		mode = "complaining about"
	}
	return fmt.Sprintf("%s %d profile(s) from %s (sha256 %s): %s", mode, len(b.Profiles), path,
		hex.EncodeToString(b.Digest[:])[:16], strings.Join(names, ", "))
}

func runApplyPinned(stderr io.Writer, path string, opt runtime.Options, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return runReplace(stderr, path, opt, dir)
	}
	b, data, e, err := applyBundle(stderr, path, opt)
	if err != nil {
		return err
	}
	if err := e.Pin(dir, data); err != nil {
		e.Close()
		return err
	}
	if err := e.Close(); err != nil {
		return fmt.Errorf("apply: release handles: %w", err)
	}
	fmt.Fprintf(stderr, "bpfbox-run: %s; pinned at %s (bpfbox-run unload removes it)\n", describe(b, path, opt), dir)
	return nil
}

func runApply(ctx context.Context, stdout, stderr io.Writer, path string, opt runtime.Options, format runtime.EventFormat, readyFile string) error {
	b, _, e, err := applyBundle(stderr, path, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bpfbox-run: %s\n", describe(b, path, opt))
	digest := hex.EncodeToString(b.Digest[:])
	if readyFile != "" {
		if err := os.WriteFile(readyFile, []byte(digest+"\n"), 0o644); err != nil {
			e.Close()
			return fmt.Errorf("apply: write ready file: %w", err)
		}
	}

	done := copyEvents(e.ReadEvent, stdout, format)
	var readErr error
	select {
	case <-ctx.Done():
	case readErr = <-done:
	}
	counters, cerr := e.Counters()
	if err := e.Close(); err != nil {
		return fmt.Errorf("apply: detach: %w", err)
	}
	if readErr == nil {
		readErr = <-done
	}
	fmt.Fprintf(stderr, "bpfbox-run: detached; nothing is enforced any more\n")
	if cerr == nil && (counters.EventsLost > 0 || counters.ChildrenUntraced > 0 || counters.TaintsUnshared > 0) {
		fmt.Fprintf(stderr, "bpfbox-run: %d events lost, %d children of confined processes untracked, %d taints not shared with other threads\n",
			counters.EventsLost, counters.ChildrenUntraced, counters.TaintsUnshared)
	}
	return readErr
}

// runReplace applies a bundle over the policy pinned at dir.
func runReplace(stderr io.Writer, path string, opt runtime.Options, dir string) error {
	data, b, plan, err := loadBundle(path, opt)
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintf(stderr, "bpfbox-run: warning: %s\n", w)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("apply: must run as root (loading BPF LSM programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)")
	}
	r, err := runtime.Replace(dir, b, data, plan)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bpfbox-run: %s; pinned at %s (bpfbox-run unload removes it)\n", describe(b, path, opt), dir)
	list := func(s []string) string {
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(stderr, "bpfbox-run: replaced sha256 %s with %s: profiles kept: %s; added: %s; removed: %s; "+
		"%d confined process(es) lost their profile\n",
		hex.EncodeToString(r.Old[:])[:16], hex.EncodeToString(r.New[:])[:16],
		list(r.Change.Kept), list(r.Change.Added), list(r.Change.Removed), r.Unconfined)
	return nil
}

// copyEvents writes the events read until the reader is closed, and then
// sends nil on the returned channel (or the first error, of reading or of
// writing).
func copyEvents(read func() (runtime.Event, error), w io.Writer, format runtime.EventFormat) <-chan error {
	done := make(chan error, 1)
	go func() {
		for {
			ev, err := read()
			if err != nil {
				if errors.Is(err, os.ErrClosed) {
					err = nil
				}
				done <- err
				return
			}
			if err := runtime.WriteEvent(w, format, ev); err != nil {
				done <- fmt.Errorf("write event: %w", err)
				return
			}
		}
	}()
	return done
}
