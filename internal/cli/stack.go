package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/stack"
)

func newStackCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stack",
		Short: "Software stacks: root filesystems your tasks run inside, versioned and shared",
		Long: `A stack is an immutable root filesystem with a name and versions: make one
from a directory or an image file, then run tasks inside it on any machine
with --stack. Each version is one blob of the store, named by its SHA-256;
machines fetch it once and run every task from their cache. A task runs in
a sandbox (bubblewrap, unprivileged) whose / is the stack, with its private
directory at /work as its working directory. See docs/stacks.md.

References: NAME (its latest version), NAME:3, NAME@sha256:HEX.`,
		Example: `  burst stack create tools --from-dir ./rootfs --description 'busybox and my scripts'
  burst stack create py --from-image python.tar
  burst run --stack tools -- sh -c 'echo hi > out.txt' --out out.txt
  burst map --stack tools:2 -- ./simulate {} ::: 1 2 3
  burst stack list
  burst stack diff tools:1 tools:2
  burst run --stack tools --keep-changes -- sh -c 'apk add curl'
  burst stack commit 42 --as tools      # tools:3, parent tools:2`,
	}
	c.AddCommand(newStackCreateCmd(), newStackListCmd(), newStackShowCmd(), newStackRmCmd(), newStackDiffCmd(), newStackCommitCmd())
	return c
}

func newStackCreateCmd() *cobra.Command {
	var fromDir, fromImage, desc, project, out string
	c := &cobra.Command{
		Use:   "create NAME (--from-dir ROOTFS | --from-image IMAGE.tar)",
		Short: "Make the next version of a stack from a directory or an image file",
		Long: `Make the next version of stack NAME (version 1 if it is new). --from-dir packs a
directory as the root filesystem: files, directories and symbolic links, in
path order, owners mapped to root, modification times kept, so the same
tree always gives the same digest. --from-image reads an image file: a
docker-archive (docker save -o IMAGE.tar NAME) or an OCI layout packed as a
tar (skopeo copy docker://NAME oci-archive:IMAGE.tar); its layers are
flattened, deletions applied. The tar is uploaded to the project's blob
store (once: the store keeps it by digest) and the version recorded.`,
		Example: `  burst stack create tools --from-dir ./rootfs
  burst stack create py --from-image python-3.12.tar --description 'python 3.12 slim'`,
		Args: argsExactly(1, "stack name"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			if err := burst.CheckStackName(args[0]); err != nil {
				return usage("%v", err)
			}
			if (fromDir == "") == (fromImage == "") {
				return usage("give the root filesystem with --from-dir DIR or --from-image IMAGE.tar (one of them)")
			}
			tmp, err := os.MkdirTemp("", "burst-stack-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			tarPath := tmp + "/rootfs.tar"
			f, err := os.Create(tarPath)
			if err != nil {
				return err
			}
			var p *stack.Packed
			if fromDir != "" {
				if fi, err := os.Stat(fromDir); err != nil || !fi.IsDir() {
					f.Close()
					return usage("--from-dir %s: not a directory: give the directory that is to be the stack's /", fromDir)
				}
				p, err = stack.Pack(fromDir, f)
			} else {
				if _, err := os.Stat(fromImage); err != nil {
					f.Close()
					return usage("--from-image %s: %v", fromImage, errors.Unwrap(err))
				}
				p, err = stack.FromImage(fromImage, tmp, f)
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if project == "" {
				project = "default"
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			refs, err := cl.UploadFiles(c.Context(), []string{tarPath}, client.BlobPut{Project: project, Kind: client.BlobInput})
			if err != nil {
				return fmt.Errorf("upload the stack's root filesystem: %w", err)
			}
			if len(refs) != 1 || refs[0].Digest != p.Digest {
				return fmt.Errorf("the store holds the stack's tar as %v, not %s: try again", refs, p.Digest)
			}
			st, err := cl.CreateStack(c.Context(), &client.StackCreate{Name: args[0], Project: project, Description: desc,
				Digest: p.Digest, Size: p.Size, Manifest: p.Manifest})
			if err != nil {
				return err
			}
			return present(c, out, st, func(w io.Writer, s *client.Stack) error {
				_, err := fmt.Fprintf(w, "stack %s:%d (%s, %d files, %s)\n", s.Name, s.Version, s.Digest, len(p.Manifest), bytesHuman(s.Size))
				return err
			})
		},
	}
	c.Flags().StringVar(&fromDir, "from-dir", "", "the `DIRECTORY` that is the stack's root filesystem")
	c.Flags().StringVar(&fromImage, "from-image", "", "an image `FILE`: a docker-archive or an OCI layout tar")
	c.Flags().StringVar(&desc, "description", "", "what the stack holds, for people")
	c.Flags().StringVar(&project, "project", "", "the project whose blob store keeps it (default: default)")
	outFlag(c, &out)
	return c
}

func newStackListCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "list [NAME]",
		Short: "List stacks and their versions",
		Example: `  burst stack list
  burst stack list tools -o json | jq '.[-1].digest'`,
		Args: argsAtMost(1, "stack name"),
		RunE: func(c *cobra.Command, args []string) error {
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.Stack, error) { return cl.Stacks(ctx, name) },
				func(w io.Writer, ss []client.Stack) error {
					t := table(w)
					fmt.Fprintln(t, "STACK\tSIZE\tPARENT\tJOB\tAUTHOR\tCREATED\tDIGEST\tDESCRIPTION")
					for _, s := range ss {
						fmt.Fprintf(t, "%s:%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Version, bytesHuman(s.Size), dashZero(s.Parent),
							dashZero(int(s.Job)), s.Author, s.CreatedAt.Local().Format("2006-01-02 15:04"), shortDigest(s.Digest), s.Description)
					}
					return t.Flush()
				})
		},
	}
	listFlags(c, &out)
	return c
}

func newStackShowCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "show REF",
		Short:   "Show one version of a stack (NAME, NAME:V or NAME@sha256:HEX)",
		Example: `  burst stack show tools:2 -o json`,
		Args:    argsExactly(1, "stack reference"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.Stack, error) { return cl.Stack(ctx, args[0]) },
				func(w io.Writer, s *client.Stack) error {
					t := table(w)
					fmt.Fprintf(t, "FIELD\tVALUE\nstack\t%s:%d\ndigest\t%s\nsize\t%s\nparent\t%s\njob\t%s\nproject\t%s\nauthor\t%s\ncreated\t%s\ndescription\t%s\n",
						s.Name, s.Version, s.Digest, bytesHuman(s.Size), dashZero(s.Parent), dashZero(int(s.Job)), s.Project, s.Author,
						s.CreatedAt.Local().Format("2006-01-02 15:04:05"), s.Description)
					return t.Flush()
				})
		},
	}
	outFlag(c, &out)
	return c
}

func newStackRmCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rm REF...",
		Short: "Remove a stack (NAME: every version) or one version (NAME:V)",
		Long: `Remove a stack's versions. Jobs that ran inside them keep their record; the
root filesystem's blob stays in the project's blob store until
'burst storage rm' (or a lifecycle rule) removes it.`,
		Example: `  burst stack rm tools:1
  burst stack rm tools`,
		Args: argsAtLeast(1, "stack reference"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, ref := range args {
				r, err := cl.RemoveStack(c.Context(), ref)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "removed %s of stack %s\n", burst.Plural(int(r.Versions), "version"), r.Name)
			}
			return nil
		},
	}
}

func newStackDiffCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "List the files that differ between two versions, with their sizes",
		Long: `List what changed from one version to another: + added, - removed,
~ changed (bytes, mode or link target), each with its size.`,
		Example: `  burst stack diff tools:1 tools:2
  burst stack diff tools:1 tools -o json | jq '.changes[].path'`,
		Args: argsExactly(2, "two stack references"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StackDiff, error) {
				return cl.DiffStacks(ctx, args[0], args[1])
			}, func(w io.Writer, d *client.StackDiff) error {
				if len(d.Changes) == 0 {
					_, err := fmt.Fprintf(w, "%s:%d and %s:%d hold the same files\n", d.From.Name, d.From.Version, d.To.Name, d.To.Version)
					return err
				}
				var b strings.Builder
				for _, ch := range d.Changes {
					b.WriteString(ch.String() + "\n")
				}
				_, err := io.WriteString(w, b.String())
				return err
			})
		},
	}
	outFlag(c, &out)
	return c
}

func newStackCommitCmd() *cobra.Command {
	var as, desc, out string
	var task int
	c := &cobra.Command{
		Use:   "commit JOB --as NAME [--task N]",
		Short: "Make what a task changed inside its stack the next version of a stack",
		Long: `Make the changes task N (default 0) of job JOB made inside its stack the
next version of stack NAME: the version the job ran in, with the task's
new, changed and deleted files. The job must have run with --keep-changes
(burst run --stack REF --keep-changes): its tasks then run on a writable
root, and each keeps what it changed. With NAME the job's own stack, the
new version's parent is the version the job ran in; either way its job is
JOB. The version is stored in the job's project.`,
		Example: `  burst run --stack tools --keep-changes -- sh -c 'echo v2 > /opt/VERSION'
  burst stack commit 42 --as tools --description 'VERSION file'
  burst stack diff tools:1 tools:2`,
		Args: argsExactly(1, "job id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOut(c, out); err != nil {
				return err
			}
			id, err := parseJobID(args[0])
			if err != nil {
				return err
			}
			if as == "" {
				return usage("give the stack to make a version of with --as NAME (the job's own stack's name, or a new one)")
			}
			if err := burst.CheckStackName(as); err != nil {
				return usage("--as: %v", err)
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.Stack, error) {
				return cl.CommitStack(ctx, id, &client.StackCommit{Task: task, As: as, Description: desc})
			}, func(w io.Writer, s *client.Stack) error {
				_, err := fmt.Fprintf(w, "stack %s:%d from job %d task %d (%s, %s)\n", s.Name, s.Version, id, task, shortDigest(s.Digest), bytesHuman(s.Size))
				return err
			})
		},
	}
	c.Flags().StringVar(&as, "as", "", "the stack `NAME` the changes become the next version of")
	c.Flags().IntVar(&task, "task", 0, "the task of the job whose changes to take (its index)")
	c.Flags().StringVar(&desc, "description", "", "what the version holds (default: where it came from)")
	outFlag(c, &out)
	return c
}

// stackFlag reads --stack: NAME, NAME:V or NAME@sha256:HEX, resolved by
// the server at submit.
func stackFlag(v string) (*burst.StackRef, error) {
	r := &burst.StackRef{Name: v}
	if n, d, ok := strings.Cut(v, "@"); ok {
		r.Name, r.Digest = n, d
		if !burst.ValidDigest(d) {
			return nil, usage("--stack %s: a digest is sha256:<64 hex> (see `burst stack list`)", v)
		}
	} else if n, ver, ok := strings.Cut(v, ":"); ok {
		x, err := strconv.Atoi(ver)
		if err != nil || x < 1 {
			return nil, usage("--stack %s: a version is a number from 1 (NAME:3)", v)
		}
		r.Name, r.Version = n, x
	}
	if err := burst.CheckStackName(r.Name); err != nil {
		return nil, usage("--stack: %v", err)
	}
	return r, nil
}

func dashZero(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// argsExactly and argsAtMost turn a bad argument count into a usage error,
// as argsAtLeast does.
func argsExactly(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usage("%s takes %s, got %d argument(s) (see `%s --help`)", c.CommandPath(), what, len(args), c.CommandPath())
		}
		return nil
	}
}

func argsAtMost(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usage("%s takes at most %d %s (see `%s --help`)", c.CommandPath(), n, what, c.CommandPath())
		}
		return nil
	}
}
