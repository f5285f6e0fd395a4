package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/burst-sh/burst/client"
	"github.com/burst-sh/burst/internal/agent/runner"
	"github.com/burst-sh/burst/internal/backoff"
)

// Spot interruption notices (burst agent --spot-notice aws). A spot
// machine is taken back with a notice about two minutes ahead, which EC2
// publishes in the instance metadata (IMDSv2: a session token, then
// /latest/meta-data/spot/instance-action, 404 until a notice). The agent
// polls it every SpotPoll and, on a notice: stops taking work, tells the
// server at once (retrying until it answers or the machine goes), and,
// once the server knows (or spotTell passed), sends its running tasks
// SIGTERM (a program that checkpoints on SIGTERM may), killing what is
// left a little before the notice's time. It goes
// on reporting and shipping output until the machine goes. The metadata
// endpoint is the SDK's (feature/ec2/imds): AWS_EC2_METADATA_SERVICE_ENDPOINT
// moves it, as for any AWS program. An agent without --spot-notice never
// asks it anything.

// SpotNoticeAWS is the value of Config.SpotNotice that watches EC2's
// instance metadata.
const SpotNoticeAWS = "aws"

// SpotPoll is how often the instance metadata is asked for a notice. The
// notice comes about two minutes ahead, but every second between it and
// the requeue delays the replacement and is charged for work that will be
// lost, and a local GET a second costs nothing. (At the 5 s AWS suggests,
// bench/cloud measured 4.9 s from notice to replacement, nearly all of it
// this wait.)
const SpotPoll = time.Second

// spotAsk bounds one question to the instance metadata.
const spotAsk = 5 * time.Second

// spotMargin is how long before the notice's time the tasks that did not
// end on SIGTERM are killed: their exits must reach the server before the
// machine goes.
const spotMargin = 10 * time.Second

// spotTell is how long the tasks wait, on a notice, for the server to
// learn of it before they are sent SIGTERM.
const spotTell = 5 * time.Second

// notice is an interruption notice as the instance metadata gives it.
type notice struct {
	Action string    `json:"action"`
	Time   time.Time `json:"time"`
}

// watchSpot polls the instance metadata until ctx ends or a notice comes,
// which it acts on (interrupt).
func (a *Agent) watchSpot(ctx context.Context) {
	md := imds.New(imds.Options{})
	tick := time.NewTicker(SpotPoll)
	defer tick.Stop()
	failing := false
	for {
		n, err := readNotice(ctx, md)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true // said once per streak: a machine without metadata says it every 5 s otherwise
			a.cfg.Log.Warn("cannot read the spot interruption notice from the instance metadata", "err", err)
		case err == nil:
			failing = false
		}
		if n != nil {
			a.interrupt(ctx, *n)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// readNotice asks the instance metadata for a spot interruption notice:
// nil when there is none (404).
func readNotice(ctx context.Context, md *imds.Client) (*notice, error) {
	rctx, cancel := context.WithTimeout(ctx, spotAsk)
	defer cancel()
	out, err := md.GetMetadata(rctx, &imds.GetMetadataInput{Path: "spot/instance-action"})
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	defer out.Content.Close()
	var n notice
	if err := json.NewDecoder(io.LimitReader(out.Content, 4096)).Decode(&n); err != nil {
		return nil, fmt.Errorf("spot/instance-action: %w", err)
	}
	if n.Time.IsZero() {
		return nil, errors.New("spot/instance-action: a notice without a time")
	}
	return &n, nil
}

// interrupt acts on a notice: no more work, the server told, the tasks
// ended before the machine goes.
func (a *Agent) interrupt(ctx context.Context, n notice) {
	a.interrupted.Store(true)
	a.mu.Lock()
	a.queue = nil // the server requeues them with the rest
	a.mu.Unlock()
	a.cfg.Log.Warn("spot interruption notice: taking no more work, ending the tasks that run here",
		"action", n.Action, "time", n.Time)
	told := make(chan struct{})
	go func() { // owned: it ends with ctx, and interrupt waits for it below
		defer close(told)
		a.tellInterrupted(ctx, n)
	}()
	// The server first: had a task's end (cancelled, by the SIGTERM below)
	// reached it before the notice, it would take the task for cancelled
	// for good, not preempted, and give its slot to another. A server that
	// does not answer within spotTell (or by a second before the notice's
	// time, for a short one) is not waited for.
	wait := time.NewTimer(min(spotTell, max(time.Until(n.Time)-time.Second, 0)))
	select {
	case <-told:
	case <-wait.C:
	case <-ctx.Done():
	}
	wait.Stop()
	// What runs now, and what is still being started (inputs fetched,
	// streams awaited): the server requeued those too, and their process,
	// if it comes, is cancelled as it starts (launch).
	a.mu.Lock()
	var tasks []*runner.Task
	for _, r := range a.running {
		if r.task != nil {
			tasks = append(tasks, r.task)
		}
	}
	for _, o := range a.opening {
		o.cancelled = true
		if o.stop != nil {
			o.stop()
		}
	}
	a.mu.Unlock()
	for _, t := range tasks {
		t.Stop() // SIGTERM, then SIGKILL after its grace
	}
	// Whatever ignores SIGTERM and outlasts its grace still ends before
	// the machine does.
	kill := time.NewTimer(max(time.Until(n.Time)-spotMargin, 0))
	defer kill.Stop()
	select {
	case <-kill.C:
		for _, t := range tasks {
			runner.KillGroup(t.PID(), t.StartTicks())
		}
	case <-ctx.Done():
	}
	<-told
}

// tellInterrupted reports the notice to the server, trying again until it
// answers or ctx ends (the machine goes, or the agent stops).
func (a *Agent) tellInterrupted(ctx context.Context, n notice) {
	bo := backoff.New(100*time.Millisecond, 2*time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err := a.cfg.Client.ReportInterruption(rctx, &client.Interruption{Machine: a.cfg.Machine, Action: n.Action, Time: n.Time})
		cancel()
		if err == nil {
			a.cfg.Log.Info("server told of the spot interruption", "requeued", out.Requeued, "until", out.Until)
			return
		}
		var e *client.Error
		if errors.As(err, &e) && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests {
			a.cfg.Log.Error("server refused the spot interruption notice", "err", err)
			return // it will not change its mind; the machine's loss requeues the tasks anyway
		}
		if bo.Wait(ctx) != nil {
			return
		}
	}
}
