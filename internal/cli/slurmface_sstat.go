package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst"
	"github.com/burst-sh/burst/internal/sbatch"
	"github.com/burst-sh/burst/internal/slurmface"
)

func newSstatCmd() *cobra.Command {
	var (
		jobs                                    []string
		all, noHeader, p1, p2, helpFormat, pids bool
		noConvert                               bool
		format                                  string
		verbose                                 int
	)
	c := &cobra.Command{
		Use:   "sstat -j JOB[.STEP] [OPTIONS]",
		Short: "Show what a running job's steps use, as Slurm's sstat does",
		Long: `Show what the steps of running jobs use so far, as sstat does: JOB.batch
(the batch script), JOB.N (a step srun runs in it: its agent reports it
as it starts and ends, within a second or two), JOB alone the
lowest-numbered srun step running, -a every step. Fields (-o/--format/
--fields, with %WIDTH; -e lists them; -i the steps' JobID,Nodelist,Pids)
are Slurm 22.05's, in its widths: a step's CPU time (AveCPU, MinCPU) and
peak resident set (MaxRSS, AveRSS), of the batch script's processes or of
an srun step's tasks, as its agent read them a second ago at most, on its
machine (MaxRSSNode, Nodelist); burst measures no
virtual memory, pages, disk bytes, energy or frequencies: those read 0, as
Slurm's do where its plugin cannot read them. -n/--noheader, -p/--parsable,
-P/--parsable2 and --noconvert as sacct's. A job that does not run says
"No steps running for job N", a step that does not run "StepId=N.S not
found running", an unknown job "couldn't get steps for job N", as sstat does
(exit 0). Jobs may be given as arguments too (sstat 12.batch).`,
		Example: `  sstat -j $SLURM_JOB_ID.batch --format=JobID,MaxRSS,AveCPU
  sstat -n -P -j 12.batch -o MaxRSS
  sstat -a -j 12`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if u, _ := c.Flags().GetBool("usage"); u {
				fmt.Fprintln(c.OutOrStdout(), "Usage: sstat [options] -j <job(.stepid)>")
				return nil
			}
			if helpFormat {
				fmt.Fprint(c.OutOrStdout(), slurmface.SstatFieldList())
				return nil
			}
			var items []string
			for _, l := range append(jobs, args...) { // sstat takes them as arguments too
				items = append(items, slurmface.SplitList(l)...)
			}
			items = slices.DeleteFunc(items, func(s string) bool { return s == "" })
			if len(items) == 0 {
				return &ExitError{Code: 1, Msg: "sstat: error: You didn't give me any jobs to stat."}
			}
			spec := slurmface.DefaultSstat
			if pids {
				spec = slurmface.SstatPids
			}
			if format != "" {
				spec = format
			}
			f, err := slurmface.ParseSstatFormat(spec)
			if err != nil {
				return &ExitError{Code: 1, Msg: err.Error()}
			}
			ctx := c.Context()
			cl, err := connect(ctx, c.ErrOrStderr())
			if err != nil {
				return err
			}
			fj := newFaceJobs(ctx)
			var lines []slurmface.Job
			var errs []string
			for _, item := range items {
				id, step, named := strings.Cut(item, ".")
				ref, err := resolveJob(ctx, cl, id)
				var j *burst.Job
				if err == nil {
					j, err = cl.Job(ctx, ref.JobID)
				}
				if err != nil {
					errs = append(errs, "sstat: error: couldn't get steps for job "+id)
					continue
				}
				// What sstat says of a job that runs no such step (or
				// none): a known job, one that ended or waits included.
				gone := "sstat: error: No steps running for job " + id
				if named {
					gone = "sstat: error: StepId=" + item + " not found running."
				}
				if j.State != burst.Running {
					errs = append(errs, gone)
					continue
				}
				raw := ref.JobID + int64(max(ref.Task, 0))
				var face *slurmface.Job
				for _, x := range fj.expand(ctx, cl, []burst.Job{*j}) {
					if x.RawID == raw && x.ArrayPending == "" {
						face = &x
						break
					}
				}
				ts, err := cl.Tasks(ctx, ref.JobID, max(ref.Task, 0), 1)
				if face == nil || err != nil || len(ts) == 0 || ts[0].State != burst.Running {
					errs = append(errs, gone)
					continue
				}
				batch := stepLine(*face, "batch", 1)
				t := ts[0]
				batch.Node = t.Machine
				batch.CPUTime = time.Duration((t.UserSeconds + t.SysSeconds) * float64(time.Second))
				batch.MaxRSS = t.MaxRSSBytes
				// its srun steps running: as its agent reported them, or
				// where sstat runs inside it as they are recorded there
				var running []slurmface.Job
				for _, st := range burst.MergeSteps(face.Steps, ownSteps(face.RawID, os.Getenv)) {
					if st.State == burst.Running {
						// What it used so far, as its agent read it a
						// second ago at most (the steps file in the
						// job says only that it runs).
						if i := slices.IndexFunc(face.Steps, func(f burst.Step) bool { return f.ID == st.ID }); i >= 0 {
							st.MaxRSS, st.UserUS, st.SysUS = face.Steps[i].MaxRSS, face.Steps[i].UserUS, face.Steps[i].SysUS
						}
						s := stepLine(batch, strconv.Itoa(st.ID), st.Tasks)
						s.CPUTime = time.Duration(st.UserUS+st.SysUS) * time.Microsecond
						s.MaxRSS = st.MaxRSS
						running = append(running, s)
					}
				}
				own := []slurmface.Job{batch}
				if face.SrunStep { // srun made the job: its step 0 alone, its task until its srun recorded one
					own = nil
					if len(face.Steps) == 0 {
						batch.Step, batch.StepName = "0", face.Name
						running = []slurmface.Job{batch}
					}
				}
				switch {
				case named && step == "batch" && len(own) > 0:
					lines = append(lines, batch)
				case named:
					i := slices.IndexFunc(running, func(s slurmface.Job) bool { return s.Step == step })
					if i < 0 {
						errs = append(errs, gone)
						continue
					}
					lines = append(lines, running[i])
				case all:
					lines = append(append(lines, own...), running...)
				case len(running) > 0:
					lines = append(lines, running[0]) // the lowest-numbered, as sstat takes JOB alone
				}
			}
			err = slurmface.Sacct(c.OutOrStdout(), lines, f, slurmface.SacctOptions{Parsable: slurmface.ParsableOf(p1, p2),
				NoHeader: noHeader, NoConvert: noConvert}, time.Now())
			for _, e := range errs {
				fmt.Fprintln(c.ErrOrStderr(), e)
			}
			return err
		},
	}
	fl := c.Flags()
	fl.StringSliceVarP(&jobs, "jobs", "j", nil, "`JOB[.STEP]`,... to show (required): .batch the batch script, .N an srun step")
	fl.BoolVarP(&all, "allsteps", "a", false, "every step of a job named without one")
	fl.StringVarP(&format, "format", "o", "", "`FIELDS` such as JobID,MaxRSS,AveCPU (sstat -e lists them)")
	fl.StringVar(&format, "fields", "", "the same as --format")
	fl.BoolVarP(&noHeader, "noheader", "n", false, "no header lines")
	fl.BoolVarP(&p1, "parsable", "p", false, "fields separated by |, one after each")
	fl.BoolVarP(&p2, "parsable2", "P", false, "fields separated by |")
	fl.BoolVarP(&helpFormat, "helpformat", "e", false, "list the fields --format takes")
	fl.BoolVarP(&pids, "pidformat", "i", false, "JobID,Nodelist,Pids")
	fl.BoolVar(&noConvert, "noconvert", false, "memory in bytes, as measured")
	fl.CountVarP(&verbose, "verbose", "v", "accepted")
	fl.Bool("usage", false, "a short usage line")
	return c
}

// stepLine is a line of step of job j as sstat (and sacct) list it.
func stepLine(j slurmface.Job, step string, tasks int) slurmface.Job {
	j.Step, j.Steps, j.NTasks = step, nil, tasks
	return j
}

// ownSteps are the srun steps recorded so far by the batch task this
// command runs in (sbatch.StepsFile), when that task is job raw's: none
// elsewhere.
func ownSteps(raw int64, getenv func(string) string) []burst.Step {
	counter := getenv(sbatch.StepCounterEnv)
	if counter == "" || !filepath.IsAbs(counter) || getenv("SLURM_JOB_ID") != strconv.FormatInt(raw, 10) {
		return nil
	}
	return sbatch.ReadSteps(sbatch.StepsFile(counter))
}
