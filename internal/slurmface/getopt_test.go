package slurmface

import (
	"reflect"
	"strings"
	"testing"
)

func TestGetopt(t *testing.T) {
	opts := []Opt{
		{Long: "jobs", Short: 'j', Arg: RequiredArg},
		{Long: "noheader", Short: 'n'},
		{Long: "name", Arg: RequiredArg},
		{Long: "user", Short: 'u', Arg: RequiredArg},
		{Long: "format", Short: 'o', Arg: RequiredArg},
		{Long: "Format", Short: 'O', Arg: RequiredArg},
		{Long: "details", Short: 'd'},
		{Long: "exclusive", Arg: OptionalArg},
	}
	tests := []struct {
		name string
		args []string
		stop bool
		want []string // Canonical
		err  string
	}{
		{name: "abbreviated long", args: []string{"--job", "12,13"}, want: []string{"--jobs=12,13", "--"}},
		{name: "abbreviated with =", args: []string{"--form=%i"}, want: []string{"--format=%i", "--"}},
		{name: "case tells format from Format", args: []string{"--Form", "jobid"}, want: []string{"--Format=jobid", "--"}},
		{name: "exact wins over prefix", args: []string{"--name", "x"}, want: []string{"--name=x", "--"}},
		{name: "short group with value after", args: []string{"-nu", "ann"}, want: []string{"--noheader", "--user=ann", "--"}},
		{name: "short value attached", args: []string{"-j12"}, want: []string{"--jobs=12", "--"}},
		{name: "count", args: []string{"show", "jobid", "-dd", "12"}, want: []string{"--details", "--details", "--", "show", "jobid", "12"}},
		{name: "optional value only with =", args: []string{"--excl", "x"}, want: []string{"--exclusive", "--", "x"}},
		{name: "stop at the command", args: []string{"-n", "hostname", "-j", "1"}, stop: true, want: []string{"--noheader", "--", "hostname", "-j", "1"}},
		{name: "-- ends options", args: []string{"--", "-n"}, want: []string{"--", "-n"}},
		{name: "ambiguous", args: []string{"--n"}, err: "squeue: option '--n' is ambiguous; possibilities: '--noheader' '--name'"},
		{name: "unknown short, not ASCII", args: []string{"-\xe2"}, err: "squeue: invalid option -- '\xe2'"}, // the byte, as getopt prints it
		{name: "unknown long", args: []string{"--frob"}, err: "squeue: unrecognized option '--frob'"},
		// With its value, as Slurm 22.05's squeue and sstat name it:
		// "squeue: unrecognized option '--bogus=3'", "sstat: unrecognized
		// option '--units=M'", "option '--n=3' is ambiguous".
		{name: "unknown long with a value", args: []string{"--bogus=3"}, err: "squeue: unrecognized option '--bogus=3'"},
		{name: "ambiguous with a value", args: []string{"--n=3"}, err: "squeue: option '--n=3' is ambiguous; possibilities: '--noheader' '--name'"},
		{name: "unknown short", args: []string{"-Z"}, err: "squeue: invalid option -- 'Z'"},
		{name: "missing value", args: []string{"--jobs"}, err: "squeue: option '--jobs' requires an argument"},
		{name: "missing short value", args: []string{"-j"}, err: "squeue: option requires an argument -- 'j'"},
		{name: "no value allowed", args: []string{"--noheader=1"}, err: "squeue: option '--noheader' doesn't allow an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest, err := Getopt("squeue", opts, tt.args, tt.stop)
			if tt.err != "" {
				// Slurm 22.05's squeue (checked) adds the second line.
				if want := tt.err + "\nTry \"squeue --help\" for more information"; err == nil || err.Error() != want {
					t.Fatalf("err = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := Canonical(got, rest); !reflect.DeepEqual(c, tt.want) {
				t.Errorf("got %q, want %q", c, tt.want)
			}
		})
	}
}

// TestLongOptOf: two spellings of one option (Of) that a prefix matches
// are no ambiguity, as getopt_long has it for entries with the same
// meaning; two options are.
func TestLongOptOf(t *testing.T) {
	opts := []Opt{{Long: "ntasks", Arg: RequiredArg}, {Long: "ntasks-total", Of: "ntasks", Arg: RequiredArg},
		{Long: "nodes", Arg: RequiredArg}}
	o, err := LongOpt("sbatch", opts, "ntas")
	if err != nil || o.Name() != "ntasks" {
		t.Errorf("--ntas: %v, %v; want ntasks", o, err)
	}
	if _, err := LongOpt("sbatch", opts, "n"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("--n: %v, want ambiguous", err)
	}
}

// sacct and sstat refuse an option with getopt's line alone; the other
// commands add `Try "CMD --help" for more information` (Slurm 22.05, checked).
func TestGetoptTryLine(t *testing.T) {
	opts := []Opt{{Long: "jobs", Short: 'j', Arg: RequiredArg}}
	for cmd, want := range map[string]string{
		"sacct":  "sacct: unrecognized option '--frob'",
		"sstat":  "sstat: unrecognized option '--frob'",
		"sbatch": "sbatch: unrecognized option '--frob'\nTry \"sbatch --help\" for more information",
		"srun":   "srun: unrecognized option '--frob'\nTry \"srun --help\" for more information",
	} {
		if _, _, err := Getopt(cmd, opts, []string{"--frob"}, false); err == nil || err.Error() != want {
			t.Errorf("%s --frob: %v, want %q", cmd, err, want)
		}
	}
}
