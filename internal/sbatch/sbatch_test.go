package sbatch

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	burst "github.com/burst-sh/burst"
)

const path = "job.sbatch"

// script returns a batch script with the given lines after a shebang.
func script(lines ...string) []byte {
	return []byte("#!/bin/bash\n" + strings.Join(lines, "\n") + "\n")
}

func TestParse(t *testing.T) {
	const gib = 1 << 30
	tests := []struct {
		name     string
		lines    []string
		want     Script // Path, Text and Warnings are not compared here
		warnings []string
	}{
		{
			name: "long forms with =",
			lines: []string{
				"#SBATCH --job-name=fit",
				"#SBATCH --output=out-%j.txt",
				"#SBATCH --error=err-%j.txt",
				"#SBATCH --ntasks=2",
				"#SBATCH --cpus-per-task=4",
				"#SBATCH --mem=8G",
				"#SBATCH --time=1:00:00",
				"#SBATCH --gres=gpu:a100:2",
				"#SBATCH --partition=gpu",
				"#SBATCH --array=0-99%10",
				"#SBATCH --chdir=run",
				"#SBATCH --export=ALL,A=1",
			},
			want: Script{JobName: "fit", Output: "out-%j.txt", Error: "err-%j.txt", NTasks: 2, CPUsPerTask: 4,
				MemBytes: 8 * gib, TimeLimit: time.Hour, GPUs: 2, GPUType: "a100", Partition: "gpu",
				Array: "0-99%10", Chdir: "run", Export: "ALL,A=1"},
		},
		{
			name: "long forms with a space",
			lines: []string{
				"#SBATCH --job-name fit",
				"#SBATCH --ntasks 2",
				"#SBATCH --cpus-per-task 4",
				"#SBATCH --mem-per-cpu 500M",
				"#SBATCH --time 30",
				"#SBATCH --gpus 3",
			},
			want: Script{JobName: "fit", NTasks: 2, CPUsPerTask: 4, MemPerCPU: 500 << 20, TimeLimit: 30 * time.Minute, GPUs: 3},
		},
		{
			name:  "short forms",
			lines: []string{"#SBATCH -J fit", "#SBATCH -o o.txt", "#SBATCH -e e.txt", "#SBATCH -n 2", "#SBATCH -c 4", "#SBATCH -t 10", "#SBATCH -p gpu", "#SBATCH -D /scratch", "#SBATCH -G a100:1", "#SBATCH -a 1,3,5"},
			want:  Script{JobName: "fit", Output: "o.txt", Error: "e.txt", NTasks: 2, CPUsPerTask: 4, TimeLimit: 10 * time.Minute, Partition: "gpu", Chdir: "/scratch", GPUs: 1, GPUType: "a100", Array: "1,3,5"},
		},
		{
			name:  "short forms attached",
			lines: []string{"#SBATCH -Jfit -n2 -c4 -t5 -pgpu"},
			want:  Script{JobName: "fit", NTasks: 2, CPUsPerTask: 4, TimeLimit: 5 * time.Minute, Partition: "gpu"},
		},
		{
			name:  "several options on one line",
			lines: []string{"#SBATCH --ntasks=1 -c 8 --mem 4G --time=2:00:00 -N 1"},
			want:  Script{NTasks: 1, CPUsPerTask: 8, MemBytes: 4 * gib, TimeLimit: 2 * time.Hour, Nodes: 1},
		},
		{
			name: "comments",
			lines: []string{
				"# a comment",
				"",
				"   # an indented comment",
				"#SBATCH --mem=4G # four gigs",
				"#SBATCH --job-name=a#b", // sbatch: an unquoted # ends the line even inside an argument
				"#SBATCH --output='a b.out' #--error=ignored",
				`#SBATCH --error="c # d"`,
				`#SBATCH --partition=\#x`,
				"#SBATCH # --cpus-per-task=7",
				"## SBATCH --ntasks=9",
				"# SBATCH --ntasks=9",
				" #SBATCH --ntasks=9",
				"#sbatch --ntasks=9",
			},
			want: Script{MemBytes: 4 * gib, JobName: "a", Output: "a b.out", Error: "c # d", Partition: "#x"},
		},
		{
			name:  "directives after the first command are ignored",
			lines: []string{"#SBATCH -c 2", "", "module load python", "#SBATCH -c 16", "#SBATCH --mail-user=x@y"},
			want:  Script{CPUsPerTask: 2},
		},
		{
			name:  "an indented command ends the directives",
			lines: []string{"  echo hi", "#SBATCH -c 16"},
		},
		{
			name:  "last one wins",
			lines: []string{"#SBATCH -c 2", "#SBATCH --cpus-per-task=3"},
			want:  Script{CPUsPerTask: 3},
		},
		{
			name:  "abbreviated long option",
			lines: []string{"#SBATCH --part=debug --job=x --cpus-per-t=2"},
			want:  Script{Partition: "debug", JobName: "x", CPUsPerTask: 2},
		},
		{
			name:  "aliases",
			lines: []string{"#SBATCH --tasks=3 --workdir=/w"},
			want:  Script{NTasks: 3, Chdir: "/w"},
		},
		{
			name:  "output none",
			lines: []string{"#SBATCH -o none -e NONE"},
			want:  Script{Output: "/dev/null", Error: "/dev/null"},
		},
		{
			name:  "ntasks-per-node stands for ntasks on one machine",
			lines: []string{"#SBATCH --nodes=1 --ntasks-per-node=4"},
			want:  Script{NTasks: 4, NTasksPerNode: 4, Nodes: 1},
		},
		{
			name:  "ntasks wins over ntasks-per-node",
			lines: []string{"#SBATCH --ntasks-per-node=4", "#SBATCH --ntasks=2"},
			want:  Script{NTasks: 2, NTasksPerNode: 4},
		},
		{
			// As sbatch counts them; they run on the one machine, all of
			// them (srun's SLURM_PROCID 0..3), not the 2 one node holds.
			name:     "nodes times ntasks-per-node",
			lines:    []string{"#SBATCH -N 2", "#SBATCH --ntasks-per-node=2"},
			want:     Script{NTasks: 4, NTasksPerNode: 2, Nodes: 2},
			warnings: []string{"job.sbatch:2: #SBATCH --nodes=2: a burst job runs on one machine: the tasks of its 2 nodes run there together (SLURM_NNODES=1)"},
		},
		{
			name:     "a task per node, the least of a range",
			lines:    []string{"#SBATCH --nodes=3-5"},
			want:     Script{Nodes: 3},
			warnings: []string{"job.sbatch:2: #SBATCH --nodes=3-5: a burst job runs on one machine: the tasks of its 3 nodes run there together (SLURM_NNODES=1)"},
		},
		{
			name:     "ntasks wins over nodes",
			lines:    []string{"#SBATCH -N 4 -n 2"},
			want:     Script{NTasks: 2, Nodes: 4},
			warnings: []string{"job.sbatch:2: #SBATCH --nodes=4: a burst job runs on one machine: the tasks of its 4 nodes run there together (SLURM_NNODES=1)"},
		},
		{name: "mem bare number is MB", lines: []string{"#SBATCH --mem=4096"}, want: Script{MemBytes: 4 * gib}},
		{name: "mem K", lines: []string{"#SBATCH --mem=1024K"}, want: Script{MemBytes: 1 << 20}},
		{name: "mem T", lines: []string{"#SBATCH --mem=1T"}, want: Script{MemBytes: 1 << 40}},
		{name: "time minutes", lines: []string{"#SBATCH -t 90"}, want: Script{TimeLimit: 90 * time.Minute}},
		{name: "time minutes:seconds", lines: []string{"#SBATCH -t 30:15"}, want: Script{TimeLimit: 30*time.Minute + 15*time.Second}},
		{name: "time h:m:s", lines: []string{"#SBATCH -t 1:02:03"}, want: Script{TimeLimit: time.Hour + 2*time.Minute + 3*time.Second}},
		{name: "time days-hours", lines: []string{"#SBATCH -t 2-3"}, want: Script{TimeLimit: 51 * time.Hour}},
		{name: "time days-hours:minutes", lines: []string{"#SBATCH -t 2-03:04"}, want: Script{TimeLimit: 51*time.Hour + 4*time.Minute}},
		{name: "time days-h:m:s", lines: []string{"#SBATCH -t 1-00:00:05"}, want: Script{TimeLimit: 24*time.Hour + 5*time.Second}},
		{name: "time infinite", lines: []string{"#SBATCH -t infinite"}, want: Script{}},
		{name: "time UNLIMITED", lines: []string{"#SBATCH -t UNLIMITED"}, want: Script{}},
		{name: "time go duration", lines: []string{"#SBATCH -t 1h30m"}, want: Script{TimeLimit: 90 * time.Minute}},
		{name: "gres gpu", lines: []string{"#SBATCH --gres=gpu"}, want: Script{GPUs: 1}},
		{name: "gres gpu:2", lines: []string{"#SBATCH --gres=gpu:2"}, want: Script{GPUs: 2}},
		{name: "gres gpu:a100:2", lines: []string{"#SBATCH --gres=gpu:a100:2"}, want: Script{GPUs: 2, GPUType: "a100"}},
		{name: "gres gpu:a100", lines: []string{"#SBATCH --gres=gpu:a100"}, want: Script{GPUs: 1, GPUType: "a100"}},
		{name: "gres gres/gpu:1", lines: []string{"#SBATCH --gres=gres/gpu:1"}, want: Script{GPUs: 1}},
		{name: "gres none", lines: []string{"#SBATCH --gres=none"}, want: Script{}},
		{
			name:     "gres non-GPU",
			lines:    []string{"#SBATCH --gres=nvme:1"},
			warnings: []string{"job.sbatch:2: #SBATCH --gres=nvme:1 is not supported by burst (only gpu is); ignored"},
		},
		{
			name:     "gres GPU and non-GPU",
			lines:    []string{"#SBATCH --gres=gpu:2,nvme:1"},
			want:     Script{GPUs: 2},
			warnings: []string{"job.sbatch:2: #SBATCH --gres=nvme:1 is not supported by burst (only gpu is); ignored"},
		},
		{name: "gpus type", lines: []string{"#SBATCH --gpus=v100:4"}, want: Script{GPUs: 4, GPUType: "v100"}},
		{name: "gpus-per-node", lines: []string{"#SBATCH --gpus-per-node=2"}, want: Script{GPUs: 2}},
		{name: "array forms", lines: []string{"#SBATCH --array=0-15:4"}, want: Script{Array: "0-15:4"}},
		{name: "export NONE", lines: []string{"#SBATCH --export=NONE"}, want: Script{Export: "NONE"}},
		{name: "export list", lines: []string{"#SBATCH --export=A,B=2"}, want: Script{Export: "A,B=2"}},
		{name: "account", lines: []string{"#SBATCH --account=lab"}, want: Script{Account: "lab"}},
		{name: "comment", lines: []string{`#SBATCH --comment="two words"`}, want: Script{Comment: "two words"}},
		{name: "dependency", lines: []string{"#SBATCH -d afterok:12:13", "#SBATCH --kill-on-invalid-dep=yes"}, want: Script{Dependency: "afterok:12:13", KillOnInvalidDep: "yes"}},
		{name: "account short, abbreviated", lines: []string{"#SBATCH -A a1", "#SBATCH --acco=a2"}, want: Script{Account: "a2"}},
		{name: "nodes 1 is fine", lines: []string{"#SBATCH -N 1", "#SBATCH --nodes=1-1"}, want: Script{Nodes: 1}},
		{
			name:  "unsupported options warn",
			lines: []string{"#SBATCH --mail-type=END", "#SBATCH --mail-user=me@example.org", "#SBATCH -A proj --qos normal", "#SBATCH --hint=nomultithread", "#SBATCH --constraint=skylake", "#SBATCH --nodes=2", "#SBATCH --wckey=w"},
			want:  Script{Account: "proj", Nodes: 2},
			warnings: []string{
				"job.sbatch:2: #SBATCH --mail-type is not supported by burst; ignored",
				"job.sbatch:3: #SBATCH --mail-user is not supported by burst; ignored",
				"job.sbatch:4: #SBATCH --qos is not supported by burst; ignored",
				"job.sbatch:5: #SBATCH --hint is not supported by burst; ignored",
				"job.sbatch:6: #SBATCH --constraint is not supported by burst; ignored",
				"job.sbatch:7: #SBATCH --nodes=2: a burst job runs on one machine: the tasks of its 2 nodes run there together (SLURM_NNODES=1)",
				"job.sbatch:8: #SBATCH --wckey is not supported by burst; ignored",
			},
		},
		{
			name:  "--exclusive alone is a whole machine; =user shares it",
			lines: []string{"#SBATCH --exclusive"},
			want:  Script{Exclusive: true},
		},
		{
			name:  "--oversubscribe after --exclusive shares the machine (the last wins)",
			lines: []string{"#SBATCH --exclusive", "#SBATCH -s"},
			want:  Script{},
		},
		{
			name:  "--exclusive after --oversubscribe",
			lines: []string{"#SBATCH --oversubscribe", "#SBATCH --exclusive"},
			want:  Script{Exclusive: true},
		},
		{
			name:  "--exclusive=user",
			lines: []string{"#SBATCH --exclusive", "#SBATCH --exclusive=user"},
			want:  Script{},
		},
		{
			// Slurm 22.05's arg_set_exclusive takes these words too
			// (checked: --exclusive=exclusive is OverSubscribe=NO,
			// =oversubscribe and =USER are YES and USER).
			name:  "--exclusive=exclusive is a whole machine, =oversubscribe and =USER share it",
			lines: []string{"#SBATCH --exclusive=oversubscribe", "#SBATCH --exclusive=exclusive"},
			want:  Script{Exclusive: true},
		},
		{
			name:  "--exclusive=oversubscribe after --exclusive",
			lines: []string{"#SBATCH --exclusive=exclusive", "#SBATCH --exclusive=USER", "#SBATCH --exclusive", "#SBATCH --exclusive=oversubscribe"},
			want:  Script{},
		},
		{
			name:  "--no-requeue, the last of it and --requeue winning",
			lines: []string{"#SBATCH --requeue", "#SBATCH --no-requeue"},
			want:  Script{NoRequeue: true},
		},
		{
			name:  "--requeue after --no-requeue",
			lines: []string{"#SBATCH --no-requeue", "#SBATCH --requeue"},
			want:  Script{},
		},
		{
			name:  "unknown options warn and do not eat the next option",
			lines: []string{"#SBATCH --frobnicate 3 -c 2 --cpus=4 -Z -Y1 x"},
			want:  Script{CPUsPerTask: 2},
			warnings: []string{
				"job.sbatch:2: #SBATCH --frobnicate is not an sbatch option; ignored",
				"job.sbatch:2: #SBATCH --cpus is ambiguous (--cpus-per-task, --cpus-per-gpu); ignored: write the option in full",
				"job.sbatch:2: #SBATCH -Z is not an sbatch option; ignored",
				"job.sbatch:2: #SBATCH -Y1 is not an sbatch option; ignored",
				`job.sbatch:2: #SBATCH "x" is not an option; ignored`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := script(tt.lines...)
			s, err := Parse(path, data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Path != path || s.Text != string(data) {
				t.Errorf("Path, Text = %q, %q; want %q and the file", s.Path, s.Text, path)
			}
			if !slices.Equal(s.Warnings, tt.warnings) {
				t.Errorf("Warnings:\n got %q\nwant %q", s.Warnings, tt.warnings)
			}
			got := *s
			// Args are checked by the personality's TestSbatchRefusesUnknownDirectives.
			got.Path, got.Text, got.Warnings, got.Args = "", "", nil, nil
			got.ntasksGiven, got.gpusPerNode = false, false // how NTasks and GPUs came: their values are compared (TestApply)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // the whole error
	}{
		{"no shebang", "#SBATCH -c 2\necho hi\n", "job.sbatch:1: not a batch script: the first line must be a shebang such as #!/bin/bash"},
		{"empty file", "", "job.sbatch:1: not a batch script: the first line must be a shebang such as #!/bin/bash"},
		{"DOS line breaks", "#!/bin/bash\r\n#SBATCH -c 2\r\n", `job.sbatch:1: the script has DOS line breaks (\r\n): convert it with dos2unix`},
		{"NUL byte", "#!/bin/bash\necho \x00\n", "job.sbatch:2: the script contains a NUL byte: give the text of a shell script, not a binary"},
		{"bad ntasks", "#!/bin/sh\n#SBATCH --ntasks=abc\n", `job.sbatch:2: #SBATCH --ntasks: "abc" is not a whole number from 1 to 1000000: write e.g. --ntasks=4`},
		{"job name not UTF-8", "#!/bin/sh\n#SBATCH --job-name=a\xffb\n", `job.sbatch:2: #SBATCH --job-name: the name is not valid UTF-8: give another with this line, in printable characters`},
		{"job name with an escape", "#!/bin/sh\n#SBATCH -J a\x1b[2Jb\n", `job.sbatch:2: #SBATCH -J: the name holds the control character U+001B: give another with this line, in printable characters`},
		{"zero ntasks", "#!/bin/sh\n#SBATCH -n 0\n", `job.sbatch:2: #SBATCH -n: "0" is not a whole number from 1 to 1000000: write e.g. --ntasks=4`},
		{"negative cpus", "#!/bin/sh\n#SBATCH -c -2\n", `job.sbatch:2: #SBATCH -c: "-2" is not a whole number from 1 to 1000000: write e.g. --cpus-per-task=8`},
		{"bad mem", "#!/bin/sh\n\n#SBATCH --mem=lots\n", `job.sbatch:3: #SBATCH --mem: memory size "lots": write a number with a unit K, M, G or T, e.g. 512M or 8G`},
		{"bad mem-per-cpu", "#!/bin/sh\n#SBATCH --mem-per-cpu=-1G\n", `job.sbatch:2: #SBATCH --mem-per-cpu: memory size "-1G": write a number with a unit K, M, G or T, e.g. 512M or 8G`},
		{"bad time", "#!/bin/sh\n#SBATCH -t 1:2:3:4\n", `job.sbatch:2: #SBATCH -t: Invalid --time specification: time limit "1:2:3:4": write e.g. 10m, 2h, 90 (minutes), 1:30:00 or 2-00:00:00`},
		{"bad gres count", "#!/bin/sh\n#SBATCH --gres=gpu:a100:x\n", `job.sbatch:2: #SBATCH --gres: "gpu:a100:x" is not a GPU request: write e.g. --gres=gpu:2 or --gres=gpu:a100:2`},
		{"gres with too many parts", "#!/bin/sh\n#SBATCH --gres=gpu:a:1:2\n", `job.sbatch:2: #SBATCH --gres: "gpu:a:1:2" is not a GPU request: write e.g. --gres=gpu:2 or --gres=gpu:a100:2`},
		{"gres empty type", "#!/bin/sh\n#SBATCH --gres=gpu::2\n", `job.sbatch:2: #SBATCH --gres: "gpu::2" is not a GPU request: write e.g. --gres=gpu:2 or --gres=gpu:a100:2`},
		{"gpus without count", "#!/bin/sh\n#SBATCH --gpus=a100\n", `job.sbatch:2: #SBATCH --gpus: "a100" is not a GPU request: write e.g. --gpus=2 or --gpus=a100:2`},
		{"missing value at end of line", "#!/bin/sh\n#SBATCH --mem\n", "job.sbatch:2: #SBATCH --mem needs a value, e.g. --mem=16G"},
		{"missing short value", "#!/bin/sh\n#SBATCH -c\n", "job.sbatch:2: #SBATCH -c needs a value, e.g. --cpus-per-task=8"},
		{"empty value", "#!/bin/sh\n#SBATCH --job-name=\n", "job.sbatch:2: #SBATCH --job-name needs a value, e.g. --job-name=fit"},
		{"empty quoted value", "#!/bin/sh\n#SBATCH -J ''\n", "job.sbatch:2: #SBATCH -J needs a value, e.g. --job-name=fit"},
		{"bad array", "#!/bin/sh\n#SBATCH --array=5-1\n", `job.sbatch:2: #SBATCH --array: array "5-1": range 5-1 ends before it starts: write e.g. "0-99", "1,3,5", "0-15:4" or "0-99%10"`},
		{"bad export", "#!/bin/sh\n#SBATCH --export=ALL,1A=2\n", `job.sbatch:2: #SBATCH --export: "1A" is not a variable name: write e.g. --export=ALL,OMP_NUM_THREADS=4`},
		{"unmatched quote", "#!/bin/sh\n#SBATCH --job-name=\"fit\n", `job.sbatch:2: #SBATCH line has an unmatched " quote: close it or escape it with a backslash`},
		{"mem and mem-per-cpu", "#!/bin/sh\n#SBATCH --mem=1G\n#SBATCH --mem-per-cpu=1G\n", "job.sbatch:3: #SBATCH --mem and --mem-per-cpu cannot both be set: keep one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(path, []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", s, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		in    burst.JobSpec
		want  burst.JobSpec
	}{
		{
			name: "no directives touch only Batch",
			in:   burst.JobSpec{Name: "x", Workdir: "/sub", Resources: burst.Resources{CPUs: 3}},
			want: burst.JobSpec{Name: "x", Workdir: "/sub", Resources: burst.Resources{CPUs: 3}, Batch: &burst.BatchOptions{}},
		},
		{
			name:  "resources",
			lines: []string{"#SBATCH -J fit -n 2 -c 4 --mem-per-cpu=1G --gres=gpu:2 -t 1:00:00 -p big"},
			in:    burst.JobSpec{Workdir: "/sub"},
			want: burst.JobSpec{Name: "fit", Workdir: "/sub",
				Resources: burst.Resources{CPUs: 8, MemBytes: 8 << 30, GPUs: 2, TimeLimit: 3600},
				Batch:     &burst.BatchOptions{NTasks: 2, CPUsPerTask: 4, MemPerCPU: 1 << 30, Partition: "big"}},
		},
		{
			name:  "a dependency: kept pending if never met only when the script says no to killing it",
			lines: []string{"#SBATCH --dependency=afterok:12?afterany:13 --kill-on-invalid-dep=no"},
			want: burst.JobSpec{After: []burst.Dependency{{Kind: burst.AfterOK, Job: 12}, {Kind: burst.AfterAny, Job: 13}},
				AfterAnyOf: true, KeepUnsatisfiable: true, Batch: &burst.BatchOptions{}},
		},
		{
			name:  "held until released (sbatch -H)",
			lines: []string{"#SBATCH -H"},
			want:  burst.JobSpec{Held: true, Batch: &burst.BatchOptions{}},
		},
		{
			name:  "mem is per job",
			lines: []string{"#SBATCH -c 4 --mem=2G"},
			want:  burst.JobSpec{Resources: burst.Resources{CPUs: 4, MemBytes: 2 << 30}, Batch: &burst.BatchOptions{CPUsPerTask: 4}},
		},
		{
			// sbatch --time: "A time limit of zero requests that no time limit be
			// imposed"; Slurm keeps limits in minutes, so seconds round up.
			name:  "time limit rounds up to a minute",
			lines: []string{"#SBATCH -t 0:30"},
			want:  burst.JobSpec{Resources: burst.Resources{TimeLimit: 60}, Batch: &burst.BatchOptions{}},
		},
		{
			name:  "time limit of 61 seconds is two minutes",
			lines: []string{"#SBATCH -t 1:01"},
			want:  burst.JobSpec{Resources: burst.Resources{TimeLimit: 120}, Batch: &burst.BatchOptions{}},
		},
		{
			name:  "open mode append",
			lines: []string{"#SBATCH --open-mode=append"},
			want:  burst.JobSpec{Batch: &burst.BatchOptions{Append: true, OpenMode: "a"}},
		},
		{
			name:  "open mode truncate, told to the job",
			lines: []string{"#SBATCH --open-mode=truncate"},
			want:  burst.JobSpec{Batch: &burst.BatchOptions{OpenMode: "t"}},
		},
		{
			name:  "no requeue",
			lines: []string{"#SBATCH --no-requeue"},
			want:  burst.JobSpec{Batch: &burst.BatchOptions{NoRequeue: true}},
		},
		{
			name:  "stderr follows stdout",
			lines: []string{"#SBATCH -o out-%j"},
			want:  burst.JobSpec{Stdout: "out-%j", Stderr: "out-%j", Batch: &burst.BatchOptions{}},
		},
		{
			name:  "stderr apart",
			lines: []string{"#SBATCH -o out-%j -e err-%j"},
			want:  burst.JobSpec{Stdout: "out-%j", Stderr: "err-%j", Batch: &burst.BatchOptions{}},
		},
		{
			name:  "relative chdir",
			lines: []string{"#SBATCH -D runs/a"},
			in:    burst.JobSpec{Workdir: "/home/u/exp"},
			want:  burst.JobSpec{Workdir: "/home/u/exp/runs/a", Batch: &burst.BatchOptions{}},
		},
		{
			name:  "absolute chdir",
			lines: []string{"#SBATCH -D /scratch/a"},
			in:    burst.JobSpec{Workdir: "/home/u/exp"},
			want:  burst.JobSpec{Workdir: "/scratch/a", Batch: &burst.BatchOptions{}},
		},
		{
			name:  "account is the project",
			lines: []string{"#SBATCH --account=lab"},
			in:    burst.JobSpec{Project: "default"},
			want:  burst.JobSpec{Project: "lab", Batch: &burst.BatchOptions{Account: "lab"}},
		},
		{
			name:  "comment is kept",
			lines: []string{"#SBATCH --comment=rule_align"},
			want:  burst.JobSpec{Batch: &burst.BatchOptions{Comment: "rule_align"}},
		},
		{
			// Several nodes on one machine: the tasks, memory (--mem per
			// node) and GPUs (--gres per node) of both.
			name:  "nodes",
			lines: []string{"#SBATCH -N 2 --ntasks-per-node=4 --mem=4G --gres=gpu:1"},
			want: burst.JobSpec{Resources: burst.Resources{CPUs: 8, MemBytes: 8 << 30, GPUs: 2},
				Batch: &burst.BatchOptions{NTasks: 8, NTasksPerNode: 8}},
		},
		{
			name:  "nodes alone, --gpus for the job",
			lines: []string{"#SBATCH -N 3 --gpus=2 --mem-per-cpu=1G"},
			want: burst.JobSpec{Resources: burst.Resources{CPUs: 3, MemBytes: 3 << 30, GPUs: 2},
				Batch: &burst.BatchOptions{Nodes: 3, MemPerCPU: 1 << 30}},
		},
		{
			name:  "batch keeps what the caller set",
			lines: []string{"#SBATCH -n 3"},
			in:    burst.JobSpec{Batch: &burst.BatchOptions{SubmitHost: "login1", User: "ann"}},
			want:  burst.JobSpec{Resources: burst.Resources{CPUs: 3}, Batch: &burst.BatchOptions{NTasks: 3, SubmitHost: "login1", User: "ann"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(path, script(tt.lines...))
			if err != nil {
				t.Fatal(err)
			}
			spec := tt.in
			if err := s.Apply(&spec); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec, tt.want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", spec, spec.Batch, tt.want, tt.want.Batch)
			}
		})
	}
}

func TestApplyExport(t *testing.T) {
	env := map[string]string{"A": "a", "B": "b", "PATH": "/bin"}
	tests := []struct {
		export string
		want   map[string]string
	}{
		{"", env},
		{"ALL", env},
		{"all", env},
		{"NONE", nil},
		{"NIL", nil},
		{"ALL,A=1,B", map[string]string{"A": "1", "B": "b", "PATH": "/bin"}},
		{"A,B=2", map[string]string{"A": "a", "B": "2"}},
		{"NONE,PATH", map[string]string{"PATH": "/bin"}},
		{"NONE,C=3", map[string]string{"C": "3"}},
		{"MISSING", nil},
		{"A=x=y", map[string]string{"A": "x=y"}},
	}
	for _, tt := range tests {
		t.Run(tt.export, func(t *testing.T) {
			lines := []string{}
			if tt.export != "" {
				lines = append(lines, "#SBATCH --export="+tt.export)
			}
			s, err := Parse(path, script(lines...))
			if err != nil {
				t.Fatal(err)
			}
			spec := burst.JobSpec{Env: maps.Clone(env)}
			if err := s.Apply(&spec); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Env, tt.want) {
				t.Errorf("Env = %v, want %v", spec.Env, tt.want)
			}
		})
	}
}

func TestApplyArray(t *testing.T) {
	s, err := Parse(path, script("#SBATCH --array=0-9:3%2", "#SBATCH -c 4"))
	if err != nil {
		t.Fatal(err)
	}
	var spec burst.JobSpec
	if err := s.Apply(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.Map == nil || !spec.Map.Array || !reflect.DeepEqual(spec.Map.Sources, [][]string{{"0", "3", "6", "9"}}) {
		t.Fatalf("array did not become a map over its indices: %+v", spec.Map)
	}
	if spec.MaxRunning != 2 || spec.Resources.CPUs != 4 {
		t.Errorf("throttle %d (want 2), cpus %d (want 4)", spec.MaxRunning, spec.Resources.CPUs)
	}
}

func TestApplyMemOverflow(t *testing.T) {
	s := &Script{Path: path, NTasks: maxCount, CPUsPerTask: maxCount, MemPerCPU: 1 << 40}
	if err := s.Apply(&burst.JobSpec{}); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Apply = %v, want a too-large error", err)
	}
}

func TestParseArray(t *testing.T) {
	tests := []struct {
		in       string
		want     []int
		throttle int
	}{
		{"0-3", []int{0, 1, 2, 3}, 0},
		{"7", []int{7}, 0},
		{"1,3,5", []int{1, 3, 5}, 0},
		{"0-15:4", []int{0, 4, 8, 12}, 0},
		{"1-10:4", []int{1, 5, 9}, 0},
		{"0-4%2", []int{0, 1, 2, 3, 4}, 2},
		{"5,1-3,2", []int{1, 2, 3, 5}, 0},
		{"0-2,10-12%1", []int{0, 1, 2, 10, 11, 12}, 1},
		// No limit, as Slurm 22.05's sbatch reads them (checked beside it:
		// --array=1-3% and 1-3%0 ran their 3 tasks at once).
		{"1-3%", []int{1, 2, 3}, 0},
		{"1-3%0", []int{1, 2, 3}, 0},
	}
	for _, tt := range tests {
		got, throttle, err := ParseArray(tt.in)
		if err != nil || !slices.Equal(got, tt.want) || throttle != tt.throttle {
			t.Errorf("ParseArray(%q) = %v, %d, %v; want %v, %d", tt.in, got, throttle, err, tt.want, tt.throttle)
		}
	}
}

func TestParseArrayErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `"" is not an index`},
		{"a", `"a" is not an index`},
		{"-1", `"" is not an index`},
		{"1,,2", `"" is not an index`},
		{"+1", `"+1" is not an index`},
		{"0-4000001", `"4000001" is not an index from 0 to 4000000`},
		{"5-1", "range 5-1 ends before it starts"},
		{"0-10:0", `step "0" must be a whole number of at least 1`},
		{"0-10:x", `step "x" must be a whole number of at least 1`},
		{"3:2", "a step needs a range"},
		{"0-9%2%3", "the limit after % must be a whole number"},
		{"0-9%-1", "the limit after % must be a whole number"},
		{"0-9%x", "the limit after % must be a whole number"},
	}
	for _, tt := range tests {
		_, _, err := ParseArray(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseArray(%q) error = %v, want one line containing %q", tt.in, err, tt.want)
		}
	}
}

func TestExpand(t *testing.T) {
	job := TaskInfo{JobID: 42, JobName: "fit", ArrayTaskID: -1, User: "ann", NodeName: "n1"}
	task := TaskInfo{JobID: 57, JobName: "fit", ArrayJobID: 50, ArrayTaskID: 7, User: "ann", NodeName: "n1"}
	tests := []struct {
		pattern string
		t       TaskInfo
		want    string
	}{
		{"slurm-%j.out", job, "slurm-42.out"},
		{"%x-%j.log", job, "fit-42.log"},
		{"%x_%A_%a.out", task, "fit_50_7.out"},
		{"%A_%a", job, "42_4294967294"},
		{"job%4j.out", job, "job0042.out"},
		{"t%3a", task, "t007"},
		{"t%03a", task, "t007"},
		{"%1j", job, "42"},
		{"%10j", job, "0000000042"},
		{"%123j", job, "0000000042"},
		{"%2t-%n-%t", job, "00-0-0"},
		{"%b", task, "7"},
		{"%b", TaskInfo{JobID: 57, ArrayJobID: 50, ArrayTaskID: 13}, "3"},
		{"%b", job, "4"}, // no array: 4294967294 % 10, as later Slurm gives it
		{"%J.%s", job, "42.batch"},
		{"%u@%N", job, "ann@n1"},
		{"%5x", job, "fit"},
		{"100%%-%j", job, "100%-42"},
		{"%%j", job, "%j"},
		{"%q%5z", job, "%q%5z"},
		{"end%", job, "end%"},
		{"end%12", job, "end%12"},
		{`a\%j\b`, job, "a%jb"},
		{"", job, ""},
	}
	for _, tt := range tests {
		if got := Expand(tt.pattern, tt.t); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestEnv(t *testing.T) {
	got := Env(TaskInfo{
		JobID: 57, JobName: "fit", ArrayJobID: 50, ArrayTaskID: 7, NTasks: 2, CPUsPerTask: 4, MemBytes: 3<<30 + 1,
		NTasksGiven: true, CPUsPerTaskGiven: true, NTasksPerNode: 2,
		Partition: "gpu", SubmitDir: "/home/ann/exp", SubmitHost: "login1", User: "ann", NodeName: "n1", GPUIDs: []int{0, 3},
		OpenMode: "a", // --open-mode=append: SLURM_OPEN_MODE=a (t for truncate, none without), as 22.05 tells the job
		// -m plane=4 from a submitter at nice 5, as 22.05's sbatch tells the job
		Distribution: "plane", PlaneSize: 4, PrioProcess: 5,
	})
	want := []string{
		"ENVIRONMENT=BATCH",
		"HOSTNAME=n1",
		"SLURMD_NODENAME=n1",
		"SLURM_ARRAY_JOB_ID=50",
		"SLURM_ARRAY_TASK_ID=7",
		"SLURM_CLUSTER_NAME=burst",
		"SLURM_CPUS_ON_NODE=8",
		"SLURM_CPUS_PER_TASK=4",
		"SLURM_DISTRIBUTION=plane",
		"SLURM_DIST_PLANESIZE=4",
		"SLURM_GPUS_ON_NODE=2",
		"SLURM_GTIDS=0",
		"SLURM_JOBID=57",
		"SLURM_JOB_CPUS_PER_NODE=8",
		"SLURM_JOB_GPUS=0,3",
		"SLURM_JOB_ID=57",
		"SLURM_JOB_NAME=fit",
		"SLURM_JOB_NODELIST=n1",
		"SLURM_JOB_NUM_NODES=1",
		"SLURM_JOB_PARTITION=gpu",
		"SLURM_JOB_USER=ann",
		"SLURM_LOCALID=0",
		"SLURM_MEM_PER_NODE=3073",
		"SLURM_NNODES=1",
		"SLURM_NODEID=0",
		"SLURM_NODELIST=n1",
		"SLURM_NODE_ALIASES=(null)",
		"SLURM_NPROCS=2",
		"SLURM_NTASKS=2",
		"SLURM_NTASKS_PER_NODE=2",
		"SLURM_OPEN_MODE=a",
		"SLURM_PRIO_PROCESS=5",
		"SLURM_PROCID=0",
		"SLURM_SUBMIT_DIR=/home/ann/exp",
		"SLURM_SUBMIT_HOST=login1",
		"SLURM_TASKS_PER_NODE=2",
		"SLURM_TOPOLOGY_ADDR=n1",
		"SLURM_TOPOLOGY_ADDR_PATTERN=node",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Env:\n got %q\nwant %q", got, want)
	}
}

// Without --ntasks or --cpus-per-task, sbatch sets neither SLURM_NTASKS,
// SLURM_NPROCS nor SLURM_CPUS_PER_TASK (checked with Slurm 22.05's sbatch).
func TestEnvMinimal(t *testing.T) {
	got := Env(TaskInfo{JobID: 9, ArrayTaskID: -1})
	want := []string{
		"ENVIRONMENT=BATCH",
		"SLURM_CLUSTER_NAME=burst",
		"SLURM_CPUS_ON_NODE=1",
		"SLURM_GTIDS=0",
		"SLURM_JOBID=9",
		"SLURM_JOB_CPUS_PER_NODE=1",
		"SLURM_JOB_ID=9",
		"SLURM_JOB_NUM_NODES=1",
		"SLURM_LOCALID=0",
		"SLURM_NNODES=1",
		"SLURM_NODEID=0",
		"SLURM_NODE_ALIASES=(null)",
		"SLURM_PRIO_PROCESS=0",
		"SLURM_PROCID=0",
		"SLURM_TASKS_PER_NODE=1",
		"SLURM_TOPOLOGY_ADDR_PATTERN=node",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Env:\n got %q\nwant %q", got, want)
	}
}

// Slurm's batch step environment for arrays (sbatch(1), OUTPUT ENVIRONMENT
// VARIABLES: SLURM_ARRAY_TASK_COUNT, _MAX, _MIN, _STEP) and --mem-per-cpu
// (SLURM_MEM_PER_CPU, with no SLURM_MEM_PER_NODE).
func TestEnvArrayAndMemPerCPU(t *testing.T) {
	idx, _, err := ParseArray("1-9:4")
	if err != nil {
		t.Fatal(err)
	}
	env := Env(TaskInfo{JobID: 102, ArrayJobID: 100, ArrayTaskID: 5, Array: idx, ArrayStep: ArrayStep("1-9:4"), MemPerCPU: 2 << 30, MemBytes: 4 << 30, NTasks: 1, CPUsPerTask: 2})
	for _, want := range []string{"SLURM_JOB_ID=102", "SLURM_ARRAY_JOB_ID=100", "SLURM_ARRAY_TASK_ID=5",
		"SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=9", "SLURM_ARRAY_TASK_STEP=4",
		"SLURM_MEM_PER_CPU=2048"} {
		if !slices.Contains(env, want) {
			t.Errorf("missing %s in %q", want, env)
		}
	}
	for _, kv := range env {
		if strings.HasPrefix(kv, "SLURM_MEM_PER_NODE=") {
			t.Errorf("--mem-per-cpu given, yet %s", kv)
		}
	}
	// Each as Slurm 22.05's sbatch set it (the suite's real Slurm): the step
	// of the first item that gives one, else 1, whatever the indices' gaps.
	for spec, step := range map[string]int{"3": 1, "2-2": 1, "1,3,5": 1, "0-10:2": 2, "1-9:4,20": 4,
		"1-7:3%1": 3, "1-5:2,10-20:5": 2, "10-20:5,1-5:2": 5, "1-3,10-20:5": 5} {
		if got := ArrayStep(spec); got != step {
			t.Errorf("ArrayStep(%q) = %d, want %d", spec, got, step)
		}
	}
	if env := Env(TaskInfo{JobID: 1, ArrayJobID: 1, ArrayTaskID: 1, Array: []int{1, 3, 5}}); !slices.Contains(env, "SLURM_ARRAY_TASK_STEP=1") {
		t.Errorf("an array without a step (1,3,5) has SLURM_ARRAY_TASK_STEP=1, as sbatch sets it: %q", env)
	}
}

// Command-line options override the script's directives (sbatch(1): "options
// on the command line take precedence"), through the same parser.
func TestSetOption(t *testing.T) {
	s, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH --mem=4G -o a.out --array=0-3\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range [][2]string{{"mem-per-cpu", "1G"}, {"output", "b-%j.out"}, {"array", "1-10%2"}, {"open-mode", "append"}, {"ntasks", "3"}} {
		if err := s.SetOption(o[0], o[1]); err != nil {
			t.Fatalf("SetOption(%s, %s): %v", o[0], o[1], err)
		}
	}
	if s.MemBytes != 0 || s.MemPerCPU != 1<<30 || s.Output != "b-%j.out" || s.Array != "1-10%2" || s.OpenMode != "append" || s.NTasks != 3 {
		t.Errorf("after the command line's options: %+v", s)
	}
	for _, bad := range [][2]string{{"array", "5-1"}, {"open-mode", "sometimes"}, {"ntasks", "0"}, {"mail-user", "x@y"}, {"array", ""}} {
		if err := s.SetOption(bad[0], bad[1]); err == nil {
			t.Errorf("SetOption(%s, %q): no error", bad[0], bad[1])
		}
	}
}

// The kernel's rules for "#!" lines (execve(2), "Interpreter scripts"): the
// interpreter, then at most one optional argument, the rest of the line.
func TestInterpreter(t *testing.T) {
	for _, c := range []struct {
		text string
		want []string
	}{
		{"#!/bin/bash\necho hi\n", []string{"/bin/bash"}},
		{"#!/bin/sh", []string{"/bin/sh"}},
		{"#! /bin/bash -l\n", []string{"/bin/bash", "-l"}},
		{"#!/usr/bin/env bash\n", []string{"/usr/bin/env", "bash"}},
		{"#!/bin/bash -l -x \n", []string{"/bin/bash", "-l -x"}},
		{"#!/bin/bash\t-e\n", []string{"/bin/bash", "-e"}},
		{"#!/usr/bin/env python3\nprint(1)\n", []string{"/usr/bin/env", "python3"}},
	} {
		got, err := Interpreter(c.text)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Interpreter(%q) = %q, %v; want %q", c.text, got, err, c.want)
		}
	}
	for _, bad := range []string{"echo hi\n", "#!\n", "#!   \n", ""} {
		if _, err := Interpreter(bad); err == nil {
			t.Errorf("Interpreter(%q): no error", bad)
		}
	}
}

// The rest of the options `burst run SCRIPT` takes from its command line
// (sbatch(1): "options on the command line take precedence over the
// directives"): --error, --nodes, --partition, --gres and --gpus override
// what the script's #SBATCH lines say.
func TestSetOptionOverridesDirectives(t *testing.T) {
	s, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH -e old.err -p old -N 1 --gres=gpu:1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range [][2]string{{"error", "new-%j.err"}, {"partition", "gpu"}, {"gres", "gpu:a100:2"}} {
		if err := s.SetOption(o[0], o[1]); err != nil {
			t.Fatalf("SetOption(%s, %s): %v", o[0], o[1], err)
		}
	}
	if s.Error != "new-%j.err" || s.Partition != "gpu" || s.GPUs != 2 || s.GPUType != "a100" {
		t.Errorf("after --error, --partition and --gres: %+v", s)
	}
	if err := s.SetOption("gpus", "v100:3"); err != nil || s.GPUs != 3 || s.GPUType != "v100" {
		t.Errorf("--gpus v100:3: GPUs %d type %q, %v", s.GPUs, s.GPUType, err)
	}
	n := len(s.Warnings)
	if err := s.SetOption("nodes", "2"); err != nil {
		t.Fatalf("--nodes 2: %v", err)
	}
	if len(s.Warnings) != n+1 || !strings.Contains(s.Warnings[n], "one machine") {
		t.Errorf("--nodes 2 should be warned about (a job runs on one machine): %q", s.Warnings)
	}
	if s.Tasks() != 2 || s.NTasks != 0 {
		t.Errorf("--nodes 2 over a script of -N 1: %d tasks (--ntasks %d), want 2, one per node, and no --ntasks", s.Tasks(), s.NTasks)
	}
	if err := s.SetOption("ntasks-per-node", "3"); err != nil || s.NTasks != 6 {
		t.Errorf("--ntasks-per-node 3 with --nodes 2: %d tasks, want 6 (%v)", s.NTasks, err)
	}
	if err := s.SetOption("ntasks", "5"); err != nil || s.NTasks != 5 {
		t.Errorf("--ntasks 5 wins over the nodes: %d tasks (%v)", s.NTasks, err)
	}
	for _, bad := range [][2]string{{"gpus", "many"}, {"gres", "gpu:x:y"}} {
		if err := s.SetOption(bad[0], bad[1]); err == nil {
			t.Errorf("SetOption(%s, %q): no error", bad[0], bad[1])
		}
	}
}

// TestParseSignal: --signal=[{R|B}:]SIG[@TIME] as sbatch(1) reads it.
func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want burst.Warning
	}{
		{"USR1", burst.Warning{Signal: 10, BeforeS: 60}},
		{"B:USR1@120", burst.Warning{Signal: 10, BeforeS: 120, Shell: true}},
		{"b:sigusr2@0", burst.Warning{Signal: 12, BeforeS: 0, Shell: true}},
		{"R:10@90", burst.Warning{Signal: 10, BeforeS: 90}},
		{"RB:TERM@65535", burst.Warning{Signal: 15, BeforeS: 65535, Shell: true}},
		{"SIGINT", burst.Warning{Signal: 2, BeforeS: 60}},
	} {
		got, err := ParseSignal(tc.in)
		if err != nil || *got != tc.want {
			t.Errorf("ParseSignal(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "B:", "USR1@", "USR1@-1", "USR1@65536", "USR1@1m", "NOPE", "0", "65", "X:USR1", "USR1@60@1"} {
		if w, err := ParseSignal(bad); err == nil || !strings.Contains(err.Error(), "--signal=B:USR1@120") {
			t.Errorf("ParseSignal(%q) = %+v, %v; want an error naming the form", bad, w, err)
		}
	}
	s, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH --signal=B:USR1@90\n#SBATCH -t 5\ntrue\n"))
	if err != nil || s.Warn == nil || *s.Warn != (burst.Warning{Signal: 10, BeforeS: 90, Shell: true}) || len(s.Warnings) != 0 {
		t.Fatalf("Parse: %+v, %v", s, err)
	}
	if _, err := Parse("job.sh", []byte("#!/bin/sh\n#SBATCH --signal=USR1@soon\ntrue\n")); err == nil || !strings.Contains(err.Error(), "job.sh:2:") {
		t.Errorf("a bad --signal directive: %v", err)
	}
}

// TestWantsUserEnv: the job starts from the login environment with
// --get-user-env and with any --export but ALL (NONE, variables alone, or
// ALL with variables: Slurm 22.05 then gives the script the user's HOME,
// USER and LOGNAME too, under the submitter's), from the submitter's alone
// with ALL or no --export.
func TestWantsUserEnv(t *testing.T) {
	for export, want := range map[string]bool{
		"": false, "ALL": false, "all": false, "all,FOO=1": true, "FOO,ALL": true, "ALL,": true,
		"NONE": true, "FOO": true, "BAR=b": true, "FOO,BAR=b": true,
	} {
		if got := (&Script{Export: export}).WantsUserEnv(); got != want {
			t.Errorf("--export=%s: WantsUserEnv = %v; want %v", export, got, want)
		}
	}
	if !(&Script{GetUserEnv: true, Export: "ALL"}).WantsUserEnv() {
		t.Error("--get-user-env --export=ALL: want the login environment under the submitter's")
	}
}

// TestEnvExport: a job is told its --export when it is not ALL, and
// SLURM_GET_USER_ENV=1 with it or with --get-user-env, as Slurm 22.05's
// sbatch tells it (checked: --export=ALL sets neither, ALL,BAR=2 both).
func TestEnvExport(t *testing.T) {
	for _, c := range []struct {
		export  string
		userEnv bool
		want    []string
	}{
		{"", false, nil},
		{"ALL", false, nil},
		{"all", false, nil},
		{"NONE", false, []string{"SLURM_EXPORT_ENV=NONE", "SLURM_GET_USER_ENV=1"}},
		{"ALL,BAR=2", false, []string{"SLURM_EXPORT_ENV=ALL,BAR=2", "SLURM_GET_USER_ENV=1"}},
		{"", true, []string{"SLURM_GET_USER_ENV=1"}},
	} {
		var got []string
		for _, kv := range Env(TaskInfo{JobID: 9, ArrayTaskID: -1, Export: c.export, UserEnv: c.userEnv}) {
			if strings.HasPrefix(kv, "SLURM_EXPORT_ENV=") || strings.HasPrefix(kv, "SLURM_GET_USER_ENV=") {
				got = append(got, kv)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("--export=%q --get-user-env=%v: %q, want %q", c.export, c.userEnv, got, c.want)
		}
	}
}

// AllocEnv: what srun outside a job is told of the job it made (Slurm
// 22.05's srun -n1 env), and nothing of a batch step's.
func TestAllocEnv(t *testing.T) {
	got := AllocEnv(TaskInfo{JobID: 7, JobName: "x", ArrayTaskID: -1, NodeName: "n1", Partition: "local", Account: "default", NTasks: 1})
	want := []string{
		"SLURMD_NODENAME=n1",
		"SLURM_CLUSTER_NAME=burst",
		"SLURM_JOBID=7",
		"SLURM_JOB_ACCOUNT=default",
		"SLURM_JOB_ID=7",
		"SLURM_JOB_NODELIST=n1",
		"SLURM_JOB_PARTITION=local",
		"SLURM_NODELIST=n1",
		"SLURM_STEP_NODELIST=n1",
		"SLURM_TOPOLOGY_ADDR=n1",
		"SLURM_TOPOLOGY_ADDR_PATTERN=node",
	}
	if !slices.Equal(got, want) {
		t.Errorf("AllocEnv:\n got %q\nwant %q", got, want)
	}
}
