package runcli

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bpfbox/bpfbox/internal/cli"
	"github.com/bpfbox/bpfbox/runtime"
)

func noArgs(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return cli.Usagef("%s: takes no arguments, got %q (see 'bpfbox-run %s --help')", name, args, name)
		}
		return nil
	}
}

func newUnloadCmd() *cobra.Command {
	var pinDir string
	cmd := &cobra.Command{
		Use:   "unload [flags]",
		Short: "Remove the policy pinned by apply --pin",
		Long: `unload detaches the programs of the policy pinned by 'bpfbox-run apply --pin' and
removes its pins: from then on nothing is enforced. The exec hook is detached
first, so that no process becomes confined while the rest is removed.`,
		Args: noArgs("unload"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := runtime.Unload(pinDir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bpfbox-run: unloaded the policy pinned at %s; nothing is enforced any more\n", pinDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&pinDir, "pin-dir", runtime.DefaultPinDir, "bpffs `DIR` of the pinned policy")
	return cmd
}

func newStatusCmd() *cobra.Command {
	var pinDir string
	cmd := &cobra.Command{
		Use:   "status [flags]",
		Short: "Show the pinned policy: bundle, profiles, confined processes, lost events",
		Args:  noArgs("status"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.OutOrStdout(), pinDir)
		},
	}
	cmd.Flags().StringVar(&pinDir, "pin-dir", runtime.DefaultPinDir, "bpffs `DIR` of the pinned policy")
	return cmd
}

func runStatus(w io.Writer, dir string) error {
	p, err := runtime.OpenPinned(dir)
	if err != nil {
		return err
	}
	defer p.Close()
	b := p.Bundle
	fmt.Fprintf(w, "policy pinned at %s\n", dir)
	fmt.Fprintf(w, "bundle sha256 %s (compiler %s)\n", hex.EncodeToString(b.Digest[:]), b.CompilerVersion)
	fmt.Fprintf(w, "profiles (%d):\n", len(b.Profiles))
	for _, pr := range b.Profiles {
		fmt.Fprintf(w, "  %s\n", pr.Pattern)
	}
	procs, err := p.Confined()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "confined processes (%d):\n", len(procs))
	for _, c := range procs {
		taint := ""
		if c.Tainted {
			taint = " tainted"
		}
		fmt.Fprintf(w, "  %d %s %s%s\n", c.PID, c.Comm, c.Profile, taint)
	}
	c, err := p.Counters()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "events lost: %d\nchildren untracked: %d\ntaints unshared: %d\n", c.EventsLost, c.ChildrenUntraced, c.TaintsUnshared)
	return nil
}

func newEventsCmd() *cobra.Command {
	var (
		pinDir string
		events string
	)
	cmd := &cobra.Command{
		Use:   "events [flags]",
		Short: "Follow the events of the policy pinned by apply --pin",
		Long: `events prints the events of the pinned policy as they happen, until SIGINT or
SIGTERM. Only one reader should follow them at a time: each event is delivered once.`,
		Args: noArgs("events"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := runtime.ParseEventFormat(events)
			if err != nil {
				return cli.Usagef("events: --events: %v", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runEvents(ctx, cmd.OutOrStdout(), pinDir, format)
		},
	}
	cmd.Flags().StringVar(&pinDir, "pin-dir", runtime.DefaultPinDir, "bpffs `DIR` of the pinned policy")
	cmd.Flags().StringVar(&events, "events", "text", "event output: text or json (one object per line)")
	return cmd
}

func runEvents(ctx context.Context, w io.Writer, dir string, format runtime.EventFormat) error {
	p, err := runtime.OpenPinned(dir)
	if err != nil {
		return err
	}
	defer p.Close()
	rd, err := p.Events()
	if err != nil {
		return err
	}
	done := copyEvents(rd.Read, w, format)
	select {
	case <-ctx.Done():
		rd.Close()
		return <-done
	case err := <-done:
		rd.Close()
		return err
	}
}
