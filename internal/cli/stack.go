package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/stack"
)

func newStackCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stack",
		RunE:  parentRun, // burst stack creat: unknown, listing what there is (it printed this help, exit 0)
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
  burst run --stack tools --out out.txt -- sh -c 'echo hi > out.txt'
  burst map --stack tools:2 -- ./simulate {} ::: 1 2 3
  burst stack list
  burst stack diff tools:1 tools:2
  burst run --stack tools --keep-changes -- sh -c 'apk add curl'
  burst stack commit 42 --as tools      # tools:3, parent tools:2
  burst stack share tools --ttl 7d      # a link: https://HOST:PORT/burst_s_...#sha256:...
  burst stack pull 'https://lab:7780/burst_s_...#sha256:...' --project mine`,
	}
	c.AddCommand(newStackCreateCmd(), newStackListCmd(), newStackShowCmd(), newStackRmCmd(), newStackDiffCmd(), newStackCommitCmd(),
		newStackShareCmd(), newStackLinksCmd(), newStackUnshareCmd(), newStackPullCmd())
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
			st, err := addVersion(c.Context(), cl, tarPath, &client.StackCreate{Name: args[0], Project: project, Description: desc,
				Digest: p.Digest, Size: p.Size})
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
		Use:     "list [NAME]",
		Aliases: []string{"ls"},
		Short:   "List stacks and their versions",
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
	var as, desc, out, stage string
	var task int
	c := &cobra.Command{
		Use:   "commit JOB --as NAME [--task N] [--stage NAME]",
		Short: "Make what a task changed inside its stack the next version of a stack",
		Long: `Make the changes task N (default 0) of job JOB made inside its stack the
next version of stack NAME: the version the job ran in, with the task's
new, changed and deleted files. The job must have run with --keep-changes
(burst run --stack REF --keep-changes): its tasks then run on a writable
root, and each keeps what it changed. With NAME the job's own stack, the
new version's parent is the version the job ran in; either way its job is
JOB. The version is stored in the job's project.

A pipe's stages each run in their own stack (burst pipe 'a | --stack
tools --keep-changes b'): --stage NAME (or its index) takes that stage's
changes, --task N then counting its copies (--parallel) from 0. Without
--stage, --task is the job's task; a pipe with one stage keeping its
changes needs neither.`,
		Example: `  burst run --stack tools --keep-changes -- sh -c 'echo v2 > /opt/VERSION'
  burst stack commit 42 --as tools --description 'VERSION file'
  burst stack diff tools:1 tools:2
  burst pipe 'gen | --stack tools --keep-changes --name fix ./fix | sort'
  burst stack commit 43 --as tools --stage fix`,
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
				return cl.CommitStack(ctx, id, &client.StackCommit{Task: task, Stage: stage, As: as, Description: desc})
			}, func(w io.Writer, s *client.Stack) error {
				from := fmt.Sprintf("job %d task %d", id, task)
				switch {
				case stage != "":
					from = fmt.Sprintf("job %d stage %s copy %d", id, stage, task)
				case !c.Flags().Changed("task"):
					from = fmt.Sprintf("job %d", id) // a pipe's: the stage that kept its changes
				}
				_, err := fmt.Fprintf(w, "stack %s:%d from %s (%s, %s)\n", s.Name, s.Version, from, shortDigest(s.Digest), bytesHuman(s.Size))
				return err
			})
		},
	}
	c.Flags().StringVar(&as, "as", "", "the stack `NAME` the changes become the next version of")
	c.Flags().IntVar(&task, "task", 0, "the task of the job whose changes to take (its index); with --stage, the stage's copy")
	c.Flags().StringVar(&stage, "stage", "", "a pipe's stage whose changes to take (its name or index)")
	c.Flags().StringVar(&desc, "description", "", "what the version holds (default: where it came from)")
	outFlag(c, &out)
	return c
}

// addVersion uploads the tar at path (req's digest) to req.Project's blob
// store and records it as the next version of req.Name.
func addVersion(ctx context.Context, cl *client.Client, path string, req *client.StackCreate) (*client.Stack, error) {
	refs, err := cl.UploadFiles(ctx, []string{path}, client.BlobPut{Project: req.Project, Kind: client.BlobInput})
	if err != nil {
		return nil, fmt.Errorf("upload the stack's root filesystem: %w", err)
	}
	if len(refs) != 1 || refs[0].Digest != req.Digest {
		return nil, fmt.Errorf("the store holds the stack's tar as %v, not %s: try again", refs, req.Digest)
	}
	return cl.CreateStack(ctx, req)
}

func newStackShareCmd() *cobra.Command {
	var ttl, out string
	c := &cobra.Command{
		Use:   "share NAME[:V] [--ttl 7d]",
		Short: "Make a link that lets anyone who holds it pull a stack, read only",
		Long: `Print a link to stack NAME (every version) or NAME:V (versions 1 to V). Whoever
holds the link can pull the stack with its history, into this server or
another one: burst stack pull LINK. The link reads that stack and nothing
else; it expires (--ttl, default 7d, at most 30d), 'burst stack unshare ID'
revokes it, and every use is an event ('burst events'). It carries this
server's CA pin (#sha256:...), so the pulling side checks whom it talks to;
a server that listens on loopback without TLS gives a link that works on
this host only. Members of the stack's project may share it.`,
		Example: `  burst stack share tools
  burst stack share tools:3 --ttl 2d
  burst stack links
  burst stack unshare 4`,
		Args: argsExactly(1, "stack reference"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StackLink, error) {
				return cl.ShareStack(ctx, args[0], &client.StackShare{TTL: ttl})
			}, func(w io.Writer, l *client.StackLink) error {
				fmt.Fprintln(w, l.Link)
				msg := fmt.Sprintf("link %d to %s, expires %s: burst stack pull LINK; revoke it with burst stack unshare %d",
					l.ID, args[0], l.Expires.Local().Format("2006-01-02 15:04"), l.ID)
				if l.Note != "" {
					msg += " (" + l.Note + ")"
				}
				fmt.Fprintln(c.ErrOrStderr(), msg)
				return nil
			})
		},
	}
	c.Flags().StringVar(&ttl, "ttl", "", "how long the link works: 7d (default), 12h, at most 30d")
	outFlag(c, &out)
	return c
}

func newStackLinksCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:     "links",
		Short:   "List the links made to share stacks (never their secrets)",
		Example: `  burst stack links -o json`,
		Args:    argsExactly(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.StackLink, error) { return cl.StackLinks(ctx) },
				func(w io.Writer, ls []client.StackLink) error {
					t := table(w)
					fmt.Fprintln(t, "ID\tSTACK\tBY\tCREATED\tEXPIRES\tSTATE")
					now := time.Now()
					for _, l := range ls {
						ref, state := l.Name, "live"
						if l.Version > 0 {
							ref = fmt.Sprintf("%s:1-%d", l.Name, l.Version)
						}
						switch {
						case l.Revoked != nil:
							state = "revoked"
						case !now.Before(l.Expires):
							state = "expired"
						}
						fmt.Fprintf(t, "%d\t%s\t%s\t%s\t%s\t%s\n", l.ID, ref, l.CreatedBy, l.Created.Local().Format("2006-01-02 15:04"),
							l.Expires.Local().Format("2006-01-02 15:04"), state)
					}
					return t.Flush()
				})
		},
	}
	outFlag(c, &out)
	return c
}

func newStackUnshareCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "unshare ID...",
		Short:   "Revoke links made by burst stack share (their ids: burst stack links)",
		Example: `  burst stack unshare 4`,
		Args:    argsAtLeast(1, "link id"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			for _, a := range args {
				id, err := strconv.ParseInt(a, 10, 64)
				if err != nil || id <= 0 {
					return usage("%q is not a link id: see `burst stack links`", a)
				}
				l, err := cl.UnshareStack(c.Context(), id)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "link %d to stack %s revoked\n", l.ID, l.Name)
			}
			return nil
		},
	}
}

func newStackPullCmd() *cobra.Command {
	var as, project string
	c := &cobra.Command{
		Use:   "pull LINK [--as NAME] [--project P]",
		Short: "Copy a shared stack, with its history, from a link into this server",
		Long: `Fetch the stack a link (from 'burst stack share') shares, from whichever burst
server made it: every version it shares, oldest first, with its parent and
description. Each version's tar is checked against its digest and stored
in --project's blob store (default: default; you must be allowed to submit
there), under the same name or --as NAME. Pulling again fetches only the
versions that are new; a stack of that name here whose history differs is
left alone and the pull refused: pull under another name with --as.`,
		Example: `  burst stack pull 'https://lab.example.org:7780/burst_s_...#sha256:...'
  burst stack pull "$LINK" --as tools-lab --project mine`,
		Args: argsExactly(1, "a stack link"),
		RunE: func(c *cobra.Command, args []string) error {
			if as != "" {
				if err := burst.CheckStackName(as); err != nil {
					return usage("--as: %v", err)
				}
			}
			if project == "" {
				project = "default"
			}
			ctx := c.Context()
			remote, err := client.NewStackPuller(args[0])
			if err != nil {
				return usage("%v", err)
			}
			p, err := remote.PulledStack(ctx)
			if err != nil {
				return fmt.Errorf("stack link: %w", err)
			}
			name := p.Name
			if as != "" {
				name = as
			}
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			if project != "" { // said before anything: a stack already here would read as pulled into it
				if _, err := cl.Project(ctx, project); err != nil {
					return err
				}
			}
			here, err := cl.Stacks(ctx, name)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "burst-pull-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			local := map[int]int{} // the link's version -> this server's
			added := 0
			for i, v := range p.Versions {
				if i < len(here) {
					if here[i].Digest != v.Digest {
						return usage("stack %s here has another history (its version %d is %s, the link's version %d %s): pull it under another name with --as NAME",
							name, here[i].Version, shortDigest(here[i].Digest), v.Version, shortDigest(v.Digest))
					}
					local[v.Version] = here[i].Version
					continue
				}
				path := filepath.Join(tmp, strconv.Itoa(v.Version)+".tar")
				if err := remote.FetchBlob(ctx, client.BlobRef{Digest: v.Digest, Size: v.Size}, path); err != nil {
					return fmt.Errorf("fetch version %d of %s: %w", v.Version, p.Name, err)
				}
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				_, err = stack.Manifest(f) // a tar that is no stack is not uploaded
				f.Close()
				if err != nil {
					return fmt.Errorf("version %d of %s: %w", v.Version, p.Name, err)
				}
				st, err := addVersion(ctx, cl, path, &client.StackCreate{Name: name, Project: project, Description: v.Description,
					Digest: v.Digest, Size: v.Size, Parent: local[v.Parent],
					Origin: fmt.Sprintf("%s:%d by link (author %s)", p.Name, v.Version, v.Author)})
				if err != nil {
					return err
				}
				local[v.Version] = st.Version
				added++
			}
			last := local[p.Versions[len(p.Versions)-1].Version]
			if added == 0 {
				fmt.Fprintf(c.OutOrStdout(), "stack %s is up to date here (%s, to %s:%d)\n", name, burst.Plural(len(p.Versions), "version"), name, last)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "pulled stack %s: %s new, to %s:%d\n", name, burst.Plural(added, "version"), name, last)
			return nil
		},
	}
	c.Flags().StringVar(&as, "as", "", "store it under this stack `NAME` (default: its name on the link's server)")
	c.Flags().StringVar(&project, "project", "", "the project whose blob store keeps it (default: default)")
	return c
}

// stackFlag reads --stack: NAME, NAME:V or NAME@sha256:HEX, resolved by
// the server at submit.
func stackFlag(v string) (*burst.StackRef, error) {
	r, err := burst.ParseStackRef(v)
	if err != nil {
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
