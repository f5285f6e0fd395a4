package slurm

import (
	"slices"
	"testing"
	"time"
)

// Every option Batch knows, in the --name=value form sbatch's manual gives
// for its long options, and what each rounds: --time is in minutes and
// --mem in megabytes (sbatch(1), "--time" and "--mem"), both rounded up
// so that Slurm never ends a job before burst's own limit.
func TestBatchOptions(t *testing.T) {
	b := Batch{Name: "burst-hpc-1", Comment: "tag", Output: "/p/100%.log", Error: "/p/e", Append: true, Dir: "/w",
		NTasks: 1, CPUsPerTask: 2, MemBytes: 1<<30 + 1, MemPerCPU: 1 << 20, Time: 90 * time.Second, GPUs: 3, GRES: "gpu:1",
		Partition: "debug", Export: "ALL"}
	want := []string{"--job-name=burst-hpc-1", "--comment=tag", "--output=/p/100%%.log", "--error=/p/e", "--open-mode=append",
		"--chdir=/w", "--ntasks=1", "--cpus-per-task=2", "--mem=1025M", "--mem-per-cpu=1M", "--time=2", "--gpus=3", "--gres=gpu:1",
		"--partition=debug", "--export=ALL"}
	if got := b.Options(); !slices.Equal(got, want) {
		t.Errorf("Options:\n got %q\nwant %q", got, want)
	}
	if got := (Batch{}).Options(); len(got) != 0 {
		t.Errorf("a zero Batch sets no option: %q", got)
	}
	for d, want := range map[time.Duration]string{time.Second: "--time=1", time.Minute: "--time=1", 61 * time.Second: "--time=2", 2 * time.Hour: "--time=120"} {
		if got := (Batch{Time: d}).Options(); !slices.Equal(got, []string{want}) {
			t.Errorf("Time %s: %q, want %s", d, got, want)
		}
	}
}

func TestBatchArgs(t *testing.T) {
	got, err := Batch{Name: "n", Script: "/d/job.sh", ScriptArgs: []string{"a b", "c"}}.Args()
	if want := []string{"--parsable", "--job-name=n", "/d/job.sh", "a b", "c"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("script: %q %v, want %q", got, err, want)
	}
	got, err = Batch{Wrap: []string{"sh", "-c", "echo 'hi'; exit 3"}}.Args()
	if want := []string{"--parsable", `--wrap=sh -c 'echo '"'"'hi'"'"'; exit 3'`}; err != nil || !slices.Equal(got, want) {
		t.Errorf("wrap: %q %v, want %q", got, err, want)
	}
	if _, err := (Batch{Name: "n"}).Args(); err == nil {
		t.Error("nothing to run: want an error")
	}
	if _, err := (Batch{Script: "/s", Wrap: []string{"true"}}).Args(); err == nil {
		t.Error("a script and a wrap: want an error")
	}
}
