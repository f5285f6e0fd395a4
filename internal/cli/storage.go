package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/blob"
)

func newStorageCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "storage",
		RunE:  parentRun, // burst storage creat: unknown, listing what there is (it printed this help, exit 0)
		Short: "Where blobs (staged inputs, outputs, logs) are kept, and what each project holds",
		Long: `The blob store keeps the files jobs stage in and out, by content: a file
is named by its SHA-256 digest, sent once however many jobs use it, and
checked against its digest on every arrival. What a project holds is
charged per tier at the price catalog's $/GB-month: 'burst storage ls' shows
it, 'rm' deletes, 'tier' moves to a cheaper tier, 'rule' does either after
an age.

By default the server keeps blobs itself, under $BURST_HOME/blobs
("embedded"). 'burst storage set s3://BUCKET/PREFIX --endpoint URL' sends new
blobs to S3 or any S3-compatible store (MinIO, Ceph, ...), which machines
then reach directly by short-lived presigned URLs. The server checks it can
write, read and delete an object there before it accepts. Blobs already held
stay readable where they are. See docs/storage.md.`,
		Example: `  burst storage show
  burst storage set s3://lab-bucket/burst --endpoint https://s3.eu-west-2.amazonaws.com --region eu-west-2
  burst storage set embedded
  burst storage put data.csv --project mars
  burst storage get sha256:9f86d0... --size 4 -o data.csv
  burst storage ls --project mars
  burst storage rm --job 12 --project mars
  burst storage tier --all --to cold_hdd --project mars
  burst storage rule mars --to cold_hdd --after 30d`,
	}
	c.AddCommand(newStorageSetCmd(), newStorageShowCmd(), newStoragePutCmd(), newStorageGetCmd(),
		newStorageLsCmd(), newStorageRmCmd(), newStorageTierCmd(), newStorageRuleCmd())
	return c
}

func newStorageSetCmd() *cobra.Command {
	var endpoint, region, out string
	c := &cobra.Command{
		Use:   "set s3://BUCKET/PREFIX | embedded",
		Short: "Choose where new blobs go (admin); the server probes the store first",
		Long: `Choose where new blobs go. For S3, the server (not this CLI) must hold
credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)
in its environment, or the shared credentials file (~/.aws/credentials,
AWS_PROFILE) of the user it runs as. It writes, reads back and deletes a
small probe object under PREFIX before it accepts, and says what to fix when
that fails (wrong keys, no bucket, endpoint unreachable). The choice is kept
across restarts; blobs already held stay where they are.`,
		Example: `  burst storage set s3://lab-bucket/burst --endpoint http://127.0.0.1:9000
  burst storage set s3://lab-bucket/burst --region eu-west-2
  burst storage set embedded`,
		Args: argsAtLeast(1, "s3://BUCKET/PREFIX or embedded"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usage("storage set takes one place: s3://BUCKET/PREFIX or embedded")
			}
			to := args[0]
			if to != "embedded" && !strings.HasPrefix(to, "s3://") {
				return usage("storage %q: use s3://BUCKET/PREFIX (with --endpoint or --region) or embedded", to)
			}
			if to == "embedded" && (endpoint != "" || region != "") {
				return usage("--endpoint and --region are for s3:// storage")
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StorageInfo, error) {
				return cl.SetStorage(ctx, client.StorageSet{URL: to, Endpoint: endpoint, Region: region})
			}, renderStorage)
		},
	}
	c.Flags().StringVar(&endpoint, "endpoint", "", "the S3 service's URL, e.g. http://127.0.0.1:9000 (default: AWS)")
	c.Flags().StringVar(&region, "region", "", "the bucket's region, e.g. eu-west-2")
	outFlag(c, &out)
	return c
}

func newStorageShowCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "show",
		Short: "Show where blobs go now, how many and how big per project, per tier, and the lifecycle rules (admin)",
		Example: `  burst storage show
  burst storage show -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			var more *client.StorageList
			return fetch(c, out, func(ctx context.Context, cl *client.Client) (*client.StorageInfo, error) {
				info, err := cl.Storage(ctx)
				if err == nil && out == fmtTable {
					more, err = cl.StorageBlobs(ctx, client.StorageQuery{NoBlobs: true})
				}
				return info, err
			}, func(w io.Writer, s *client.StorageInfo) error {
				if err := renderStorage(w, s); err != nil || more == nil {
					return err
				}
				fmt.Fprintln(w)
				if len(more.Totals) > 0 {
					fmt.Fprintln(w, "What each project keeps, blobs and its jobs' logs, per tier:")
				}
				more.Blobs = nil
				return renderStorageTotals(w, more)
			})
		},
	}
	outFlag(c, &out)
	return c
}

func renderStorage(w io.Writer, s *client.StorageInfo) error {
	fmt.Fprintf(w, "New blobs go to: %s\n", s.Describe)
	if s.SetAt != nil {
		fmt.Fprintf(w, "Set by %s at %s\n", s.SetBy, s.SetAt.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if len(s.Usage) == 0 {
		fmt.Fprintln(w, "Blobs: none yet (no job has staged an input or an output).")
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw, "PROJECT\tKIND\tBLOBS\tSIZE\tWHERE")
	for _, u := range s.Usage {
		loc, _, _ := strings.Cut(u.Location, "?")
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", u.Project, u.Kind, u.Count, bytesHuman(u.Bytes), loc)
	}
	return tw.Flush()
}

func newStoragePutCmd() *cobra.Command {
	var project, out string
	var job int64
	c := &cobra.Command{
		Use:   "put FILE...",
		Short: "Upload files as a project's input blobs; prints each digest",
		Long: `Upload files to the blob store as inputs of a project (of a job with
--job), and print the digest and size of each. A file the store already
holds is not sent again. Jobs stage their inputs themselves ('burst run
--in'); this is for people and scripts that want a file in the store.`,
		Example: `  burst storage put data.csv --project mars
  burst storage put refs/*.fa --project mars -o json`,
		Args: argsAtLeast(1, "file"),
		RunE: func(c *cobra.Command, args []string) error {
			if project == "" {
				project = "default"
			}
			for _, a := range args {
				if fi, err := os.Stat(a); err != nil {
					return usage("%v", err)
				} else if !fi.Mode().IsRegular() {
					return usage("%s is not a regular file: put files one by one", a)
				}
			}
			return fetch(c, out, func(ctx context.Context, cl *client.Client) ([]client.BlobRef, error) {
				return cl.UploadFiles(ctx, args, client.BlobPut{Project: project, Kind: client.BlobInput, Job: job})
			}, func(w io.Writer, refs []client.BlobRef) error {
				for i, r := range refs {
					fmt.Fprintf(w, "%s  %d  %s\n", r.Digest, r.Size, args[i])
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&project, "project", "", "the project that holds the files (default: default)")
	c.Flags().Int64Var(&job, "job", 0, "a job of that project that uses them (its machines may then read them)")
	outFlag(c, &out)
	return c
}

func newStorageGetCmd() *cobra.Command {
	var dst string
	var size int64
	c := &cobra.Command{
		Use:   "get DIGEST --size N [-o FILE]",
		Short: "Download a blob, checked against its digest",
		Long: `Download a blob to a file (written beside it under a temporary name,
checked against its digest and size, then renamed), or to standard output
with -o -. A cut transfer resumes; wrong bytes are fetched again and never
left in FILE.`,
		Example: `  burst storage get sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 --size 4 -o test.txt`,
		Args:    argsAtLeast(1, "digest"),
		RunE: func(c *cobra.Command, args []string) error {
			defer startProfile("storage")() // $BURST_CPUPROFILE.storage
			ref := client.BlobRef{Digest: args[0], Size: size}
			if err := blob.CheckDigest(ref.Digest); err != nil {
				// burst storage ls shows digests cut to 12 hex digits: say where the whole one is.
				return usage("%s: give a blob's whole digest, sha256: and 64 hex digits (`burst storage ls -o wide` prints them whole)", ref.Digest)
			}
			if size < 0 {
				return usage("--size N: the blob's size in bytes, as `burst storage put` printed it (`burst storage ls -o json` gives each blob's digest and size)")
			}
			cl, err := connect(c.Context(), c.ErrOrStderr())
			if err != nil {
				return err
			}
			if dst == "-" {
				rc, err := cl.OpenBlob(c.Context(), ref)
				if err != nil {
					return err
				}
				defer rc.Close()
				_, err = io.Copy(c.OutOrStdout(), rc)
				return err
			}
			if dst == "" {
				dst = strings.TrimPrefix(ref.Digest, "sha256:")
			}
			if err := cl.FetchBlob(c.Context(), ref, filepath.Clean(dst)); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s\n", dst)
			return nil
		},
	}
	c.Flags().StringVarP(&dst, "output", "o", "", "the file to write (default: the digest's hex; - for standard output)")
	c.Flags().Int64Var(&size, "size", -1, "the blob's size in bytes (required: it is checked)")
	return c
}
