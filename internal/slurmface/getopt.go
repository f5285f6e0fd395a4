package slurmface

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Arg says whether an option takes a value, as getopt_long has it.
type Arg int

const (
	NoArg       Arg = iota // --opt, -o
	RequiredArg            // --opt=v, --opt v, -ov, -o v
	OptionalArg            // --opt, --opt=v, -o, -ov (never the next argument)
)

// Opt is one option of a Slurm command.
type Opt struct {
	Long  string // long name, without "--"
	Short byte   // 0 when it has none
	Arg   Arg
	// Of is the name this is another spelling of (sbatch's --tasks is
	// --ntasks), "" for none: a prefix both match is no ambiguity.
	Of string
}

// Name is the option's own name: Of for another spelling, else Long.
func (o *Opt) Name() string { return cmp.Or(o.Of, o.Long) }

// Opted is one option found on a command line: the option and its value
// ("" with HasValue false when none was given).
type Opted struct {
	Opt      *Opt
	Value    string
	HasValue bool
}

// GetoptError is an option getopt_long itself refuses: unknown,
// ambiguous, or missing or given a value it must not have. sbatch and
// srun exit 255 for one, where for a bad value they exit 1.
type GetoptError struct{ msg string }

func (e *GetoptError) Error() string { return e.msg }

// getoptError is cmd's refusal of an option, in getopt's words, then the
// line Slurm 22.05's commands add to it (Try "sbatch --help" for more
// information), which sacct and sstat do not (checked with the real ones).
func getoptError(cmd, format string, a ...any) error {
	msg := fmt.Sprintf(format, a...)
	if cmd != "sacct" && cmd != "sstat" {
		msg += "\nTry \"" + cmd + " --help\" for more information"
	}
	return &GetoptError{msg}
}

// Getopt reads a Slurm command's arguments as Slurm's commands do (with
// getopt_long): long options by their name or by any unambiguous prefix of
// it (squeue --job is --jobs), "--opt=v" and "--opt v", short options
// grouped ("-nu ann") and with their value attached ("-c4"), "--" ending
// the options. With stopAtArg (srun: the command and its arguments follow)
// the options end at the first argument that is none; otherwise options and
// arguments mix, as getopt permutes them (scontrol show job 12 -dd).
//
// An unknown or ambiguous option, or one missing its value, is an error in
// getopt's words, prefixed by cmd.
func Getopt(cmd string, opts []Opt, args []string, stopAtArg bool) ([]Opted, []string, error) {
	var got []Opted
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return got, append(rest, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, v, has := strings.Cut(a[2:], "=")
			o, err := longOpt(cmd, opts, name, a[2:])
			if err != nil {
				return nil, nil, err
			}
			switch {
			case o.Arg == NoArg && has:
				return nil, nil, getoptError(cmd, "%s: option '--%s' doesn't allow an argument", cmd, o.Long)
			case o.Arg == RequiredArg && !has:
				if i+1 >= len(args) {
					return nil, nil, getoptError(cmd, "%s: option '--%s' requires an argument", cmd, o.Long)
				}
				i++
				v, has = args[i], true
			}
			got = append(got, Opted{Opt: o, Value: v, HasValue: has})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				o := shortOpt(opts, a[j])
				if o == nil {
					return nil, nil, getoptError(cmd, "%s: invalid option -- '%s'", cmd, a[j:j+1]) // the byte as written, as getopt prints it
				}
				if o.Arg == NoArg {
					got = append(got, Opted{Opt: o})
					continue
				}
				v, has := a[j+1:], j+1 < len(a)
				if !has && o.Arg == RequiredArg {
					if i+1 >= len(args) {
						return nil, nil, getoptError(cmd, "%s: option requires an argument -- '%s'", cmd, a[j:j+1])
					}
					i++
					v, has = args[i], true
				}
				got = append(got, Opted{Opt: o, Value: v, HasValue: has})
				break
			}
		case stopAtArg:
			return got, append(rest, args[i:]...), nil
		default:
			rest = append(rest, a)
		}
	}
	return got, rest, nil
}

// LongOpt finds the option named name, or the one option whose name name
// is a prefix of, as getopt_long does; an ambiguous or unknown name is an
// error in getopt's words.
func LongOpt(cmd string, opts []Opt, name string) (*Opt, error) {
	return longOpt(cmd, opts, name, name)
}

// longOpt is LongOpt for an option written as --written (its name and
// any =VALUE): getopt names it so when it is unknown or ambiguous
// ("squeue: unrecognized option '--bogus=3'", as Slurm 22.05's squeue
// says it).
func longOpt(cmd string, opts []Opt, name, written string) (*Opt, error) {
	var match []*Opt
	for i := range opts {
		o := &opts[i]
		if o.Long == name {
			return o, nil
		}
		if name != "" && strings.HasPrefix(o.Long, name) &&
			!slices.ContainsFunc(match, func(m *Opt) bool { return m.Name() == o.Name() }) {
			match = append(match, o)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return nil, getoptError(cmd, "%s: unrecognized option '--%s'", cmd, written)
	}
	var names []string
	for _, o := range match {
		names = append(names, "'--"+o.Long+"'")
	}
	return nil, getoptError(cmd, "%s: option '--%s' is ambiguous; possibilities: %s", cmd, written, strings.Join(names, " "))
}

func shortOpt(opts []Opt, c byte) *Opt {
	for i := range opts {
		if opts[i].Short == c {
			return &opts[i]
		}
	}
	return nil
}

// Canonical writes parsed options back as "--long[=value]" arguments,
// followed by "--" and the other arguments: a command line any flag parser
// reads the same way, with every abbreviation spelt out.
func Canonical(got []Opted, rest []string) []string {
	var out []string
	for _, g := range got {
		switch {
		case g.HasValue:
			out = append(out, "--"+g.Opt.Long+"="+g.Value)
		default:
			out = append(out, "--"+g.Opt.Long)
		}
	}
	return append(append(out, "--"), rest...)
}
