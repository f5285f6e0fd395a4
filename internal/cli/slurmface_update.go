package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/slurmface"
)

// scontrolUpdate answers `scontrol update JobId=ID[,ID...] KEY=VALUE ...`
// (slurmface.ParseUpdate): each job is changed by the server, and a job
// that cannot be is named on stderr as scontrol names it ("... for job
// ID"), exit 1.
func scontrolUpdate(c *cobra.Command, args []string) error {
	u, err := slurmface.ParseUpdate(args)
	var ue *slurmface.UpdateError
	if errors.As(err, &ue) {
		return &ExitError{Code: 1, Msg: ue.Msg, bare: true}
	}
	ctx := c.Context()
	cl, err := connect(ctx, c.ErrOrStderr())
	if err != nil {
		return err
	}
	failed := false
	for _, a := range u.Jobs {
		msg := "Invalid job id specified for job " + a
		if ref, err := resolveJob(ctx, cl, a); err == nil && checkJobRefs([]string{a}) == nil {
			msg = updateJob(c, cl, a, ref, u)
		}
		if msg != "" {
			fmt.Fprintln(c.ErrOrStderr(), msg)
			failed = true
		}
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

// updateJob asks the server to change job a (resolved: ref) as u says; it
// returns the line that says why it was not ("" when done): scontrol's
// words for what scontrol refuses, burst's reason for the rest.
func updateJob(c *cobra.Command, cl *client.Client, a string, ref *client.IDRef, u slurmface.Update) string {
	ctx := c.Context()
	if ref.Task >= 0 {
		return fmt.Sprintf("scontrol: error: %s is a task of array %d: burst updates whole jobs, give %d", a, ref.JobID, ref.JobID)
	}
	j, err := cl.Job(ctx, ref.JobID)
	if err != nil || forgotten(j) {
		return "Invalid job id specified for job " + a
	}
	if j.State.Terminal() {
		return "Job has already finished for job " + a
	}
	o := client.UpdateOptions{Name: u.Name, After: u.Dependency, MaxRunning: u.Throttle, Requeue: u.Requeue}
	if u.TimeLimit != nil {
		cur := time.Duration(0)
		if j.Spec != nil {
			cur = time.Duration(j.Spec.Resources.TimeLimit) * time.Second
		}
		// Whole minutes, as Slurm keeps a time limit.
		lim := int64((u.TimeLimit.Apply(cur) + time.Minute - 1) / time.Minute * 60)
		o.TimeLimit = &lim
	}
	if err := cl.Update(ctx, ref.JobID, o); err != nil {
		var ae *client.Error
		if errors.As(err, &ae) {
			return "scontrol: error: " + ae.Message
		}
		return "scontrol: error: " + err.Error()
	}
	return ""
}
