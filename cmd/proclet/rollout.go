package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"proclet.dev/proclet/apis/v1alpha1"
	"proclet.dev/proclet/internal/atomicfile"
	"proclet.dev/proclet/internal/manifestedit"
	"proclet.dev/proclet/watchers"
)

func newRolloutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollout restart|status APP",
		Short: "Restart an app's instances, or wait for its rollout to finish",
		Example: `  proclet rollout restart web --manifests manifests
  proclet rollout status web --timeout 5m`,
		Args: unknownCommand,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newRolloutRestartCmd(), newRolloutStatusCmd())
	return cmd
}

// newRolloutRestartCmd is `proclet rollout restart APP`: it sets the app's
// proclet.dev/restartedAt annotation to now in the manifest file that
// defines it, under --manifests, which the daemon then rolls out.
func newRolloutRestartCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "restart APP",
		Short: "Restart every instance of an app through its manifest file",
		Long: `Set the annotation proclet.dev/restartedAt of APP to the current time in the
manifest file that defines it, keeping the file's comments and layout. The
daemon then rolls the app to a new revision following its strategy. Nothing
is sent to the daemon; a file reached through a symlink (a synced checkout)
is not edited: the change to commit is printed instead (exit 1).`,
		Example: `  proclet rollout restart web --manifests manifests
  proclet rollout restart web && proclet rollout status web`,
		Args: argsBetween(1, 1, "want exactly one app"),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return manifestAppNames(dir, len(args)), cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.Flags().StringVar(&dir, "manifests", "./manifests", "the daemon's manifests directory, where the file that defines APP is found")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return rolloutRestart(dir, args[0], time.Now(), cmd.OutOrStdout())
	}
	return cmd
}

// restartRefused is a restart that was not written: the error says why
// and the change to make instead.
type restartRefused struct {
	why, change string
}

func (e *restartRefused) Error() string { return e.why + "\n" + e.change }

// rolloutRestart edits the file of app under dir. now is the annotation's
// value (RFC 3339, in UTC).
func rolloutRestart(dir, app string, now time.Time, stdout io.Writer) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	snap, err := watchers.ReadOnce(abs)
	if err != nil {
		return err
	}
	sa := findSourced(snap, app)
	if sa == nil {
		return notDefined(dir, app, snap)
	}
	shown := filepath.Join(dir, sa.Path)
	file := filepath.Join(abs, sa.Path)
	data, err := watchers.ReadManifest(file)
	if err != nil {
		return err
	}
	value := now.UTC().Format(time.RFC3339)
	if sa.App.Metadata.Annotations[v1alpha1.RestartedAtAnnotation] == value {
		value = now.UTC().Format("2006-01-02T15:04:05.000000000Z07:00") // a second restart within the second
	}
	out, err := manifestedit.SetAnnotation(shown, data, app, v1alpha1.RestartedAtAnnotation, value)
	if re := (*manifestedit.RefusedError)(nil); errors.As(err, &re) {
		return &restartRefused{why: err.Error() + "; nothing was written. Make this change by hand:", change: "  " + re.Change}
	}
	if err != nil {
		return err
	}
	link, err := firstSymlink(file)
	if err != nil {
		return err
	}
	if link != "" {
		return &restartRefused{
			why:    fmt.Sprintf("%s is reached through the symlink %s (a synced checkout, as git-sync makes: the next sync would undo an edit here); nothing was written. Commit this change to the repository instead:", shown, link),
			change: lineChange(sa.Path, data, out),
		}
	}
	if err := writeKeepingMode(file, data, out); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	edited := sa.App
	edited.Metadata.Annotations = map[string]string{v1alpha1.RestartedAtAnnotation: value}
	for k, v := range sa.App.Metadata.Annotations {
		if k != v1alpha1.RestartedAtAnnotation {
			edited.Metadata.Annotations[k] = v
		}
	}
	rev := v1alpha1.AppRevision(&edited, sa.ContentDigest())
	fmt.Fprintf(stdout, "app %q restarted: %s: %s=%s (revision %s)\n", app, shown, v1alpha1.RestartedAtAnnotation, value, rev)
	fmt.Fprintf(stdout, "Follow it with: proclet rollout status %s --revision %s\n", app, rev)
	return nil
}

func findSourced(snap v1alpha1.Snapshot, app string) *v1alpha1.SourcedApp {
	for i := range snap.Apps {
		if snap.Apps[i].App.Metadata.Name == app {
			return &snap.Apps[i]
		}
	}
	return nil
}

// notDefined is the error for an app no valid file of dir defines; it
// names the files with problems, which may be where the app is.
func notDefined(dir, app string, snap v1alpha1.Snapshot) error {
	var bad []string
	for _, f := range snap.Files {
		if f.Error != nil {
			bad = append(bad, f.Path)
		}
	}
	if len(bad) == 0 {
		return fmt.Errorf("app %q is not defined in %s", app, dir)
	}
	return fmt.Errorf("app %q is not defined in a valid file of %s (files with problems: %s; see proclet validate %s)",
		app, dir, strings.Join(bad, ", "), dir)
}

// firstSymlink is the first symlink on the absolute path (the file itself
// or any folder above it), or "".
func firstSymlink(path string) (string, error) {
	p := string(filepath.Separator)
	for _, part := range strings.Split(filepath.Clean(path), string(filepath.Separator)) {
		if part == "" {
			continue
		}
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return p, nil
		}
	}
	return "", nil
}

// writeKeepingMode replaces path with out, atomically, with path's mode,
// unless its content is no longer old (edited meanwhile).
func writeKeepingMode(path string, old, out []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	now, err := watchers.ReadManifest(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(now, old) {
		return errors.New("the file changed while it was edited; nothing was written, run the command again")
	}
	return atomicfile.WriteFunc(path, func(w io.Writer) error {
		if f, ok := w.(*os.File); ok {
			if err := f.Chmod(fi.Mode().Perm()); err != nil {
				return err
			}
		}
		_, err := w.Write(out)
		return err
	})
}

// lineChange prints the lines that differ between old and out, as
// FILE:LINE then -old and +new lines.
func lineChange(name string, old, out []byte) string {
	a := strings.SplitAfter(string(old), "\n")
	b := strings.SplitAfter(string(out), "\n")
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s:%d\n", name, pre+1)
	for _, l := range a[pre : len(a)-suf] {
		sb.WriteString("-" + strings.TrimSuffix(l, "\n") + "\n")
	}
	for _, l := range b[pre : len(b)-suf] {
		sb.WriteString("+" + strings.TrimSuffix(l, "\n") + "\n")
	}
	return strings.TrimSuffix(sb.String(), "\n")
}
