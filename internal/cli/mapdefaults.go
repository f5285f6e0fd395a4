package cli

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// parallelDefaults reads GNU parallel's default options into a map's
// command line (args, the map's name first), as parallel 20221122 reads
// them: the options of its config files (parallelConfigFiles; none when
// the command line gives -J, whose profile parallel reads in their place),
// then of $PARALLEL and $PARALLEL_CSH, each before the command line's,
// which win (a flag given twice keeps its last value; -a and --env add
// up). A word of theirs that is no option (PARALLEL='-k nice') begins the
// command, as in parallel. --plain on the command line reads none of them.
// An option burst map refuses there is refused naming where it came from:
// a user who set it for parallel is told why a map that does not show it
// is refused. Any command but map, and a map with none of them, is as it
// is. GNU parallel's -d DELIM is read as --delimiter, on the command line
// and in each of them (parallelValues).
//
// from names where the options it added came from ("" when none), for a
// refusal met after parsing (a --halt value burst map cannot read) to say.
func parallelDefaults(args []string, getenv func(string) string) (_ []string, from string, _ *ExitError) {
	if len(args) == 0 || args[0] != "map" {
		return args, "", nil
	}
	args = append(args[:1:1], parallelValues(args[1:])...)
	type source struct{ name, fix, text string }
	var sources []source
	for _, p := range parallelConfigFiles(getenv) {
		if data, err := os.ReadFile(p); err == nil {
			sources = append(sources, source{p, "take it out of " + p, string(data)})
		}
	}
	for _, v := range []string{"PARALLEL", "PARALLEL_CSH"} {
		if s := getenv(v); s != "" && s != "0" { // parallel skips what Perl reads as false
			sources = append(sources, source{"$" + v, "unset " + v, s})
		}
	}
	if len(sources) == 0 {
		return args, "", nil
	}
	line := newMapCmd()
	line.InitDefaultHelpFlag()
	lineErr := line.Flags().Parse(args[1:])
	if line.Flags().Changed("plain") || line.Flags().Changed("help") {
		return args, "", nil
	}
	var opts, words, names []string
	for _, s := range sources {
		var split []string
		if strings.HasPrefix(s.name, "$") {
			split, _ = perlShellWords(s.text)
		} else {
			if line.Flags().Changed(nameJ) {
				continue // parallel reads -J's profile instead (mapProfile)
			}
			for l := range strings.Lines(s.text) {
				if strings.HasPrefix(strings.TrimLeft(l, " \t\n\r\f\v"), "#") {
					continue
				}
				w, _ := perlShellWords(strings.TrimSuffix(l, "\n"))
				split = append(split, w...)
			}
		}
		// A line whose quotes do not close is nothing to parallel (split
		// fails): so it is here.
		split = parallelValues(split)
		c := newMapCmd()
		f := c.Flags()
		if err := f.Parse(split); err != nil {
			msg := err.Error()
			var ee *ExitError
			if errors.As(mapFlagError(c, err), &ee) {
				msg = ee.Msg
			}
			return nil, "", &ExitError{Code: 255, Msg: "GNU parallel's default options in " + s.name + " (" + strings.Join(split, " ") + "), which burst map reads as parallel does: " +
				msg + "; " + s.fix + ", or give burst map --plain to read none of them"}
		}
		rest := f.Args()
		n := len(split) - len(rest)
		if f.ArgsLenAtDash() >= 0 {
			n-- // the -- that ended its options
		}
		if len(split) > 0 {
			names = append(names, s.name+" ("+strings.Join(split, " ")+")")
		}
		opts = append(opts, split[:n]...)
		words = append(words, rest...)
	}
	from = strings.Join(names, ", ")
	out := slices.Concat([]string{"map"}, opts)
	if len(words) == 0 || lineErr != nil {
		return append(out, args[1:]...), from, nil
	}
	rest := line.Flags().Args()
	given := args[1 : len(args)-len(rest)]
	return slices.Concat(out, given, words, rest), from, nil
}

// defaultsSaid is a map's refusal of its options (err, a usage error) with
// where GNU parallel's default options it read came from (from), which the
// refusal may be of: a user who set them for parallel sees why.
func defaultsSaid(err error, from string) {
	var ee *ExitError
	if from != "" && errors.As(err, &ee) && ee.usage {
		ee.Msg += " (burst map read GNU parallel's default options from " + from + "; --plain reads none of them)"
	}
}

// parallelConfigDirs are GNU parallel 20221122's config directories, each
// that is one: $PARALLEL_HOME, $XDG_CONFIG_HOME/parallel, each of
// $XDG_CONFIG_DIRS/parallel, and ~/.parallel (~ being /tmp when $HOME is
// not set), in this order.
func parallelConfigDirs(getenv func(string) string) []string {
	home := getenv("HOME")
	if home == "" {
		home = "/tmp"
	}
	dirs := []string{getenv("PARALLEL_HOME"), getenv("XDG_CONFIG_HOME") + "/parallel"}
	if x := strings.TrimRight(getenv("XDG_CONFIG_DIRS"), ":"); x != "" { // Perl's split drops the empty ones at the end
		for d := range strings.SplitSeq(x, ":") {
			dirs = append(dirs, d+"/parallel")
		}
	}
	dirs = append(dirs, filepath.Join(home, ".parallel"))
	return slices.DeleteFunc(dirs, func(d string) bool {
		st, err := os.Stat(d)
		return d == "" || err != nil || !st.IsDir()
	})
}

// parallelConfigFiles are the files GNU parallel 20221122 reads its
// default options from, the later ones winning: /etc/parallel/config, the
// config file of each of its config directories, and ~/.parallelrc (each
// read only if it is there).
func parallelConfigFiles(getenv func(string) string) []string {
	files := []string{"/etc/parallel/config"}
	for _, d := range parallelConfigDirs(getenv) {
		files = append(files, filepath.Join(d, "config"))
	}
	home := getenv("HOME")
	if home == "" {
		home = "/tmp"
	}
	return append(files, filepath.Join(home, ".parallelrc"))
}

// perlShellWords splits s into words as Perl's Text::ParseWords::shellwords
// does, which GNU parallel reads $PARALLEL and its config files with: words
// end at white space; '...' is taken as it is, "..." with a backslash
// taking the next character as it is, as one does outside quotes. ok is
// false, and no word is given, where a quote does not close or s ends in a
// lone backslash.
func perlShellWords(s string) (words []string, ok bool) {
	space := func(c byte) bool { return strings.IndexByte(" \t\n\r\f\v", c) >= 0 }
	var w strings.Builder
	open := false // a word is begun
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case space(c):
			if open {
				words, open = append(words, w.String()), false
				w.Reset()
			}
			i++
		case c == '\\':
			if i+1 == len(s) {
				return nil, false
			}
			w.WriteByte(s[i+1])
			open, i = true, i+2
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, false
			}
			body := s[i+1 : j]
			if c == '"' {
				for k := 0; k < len(body); k++ {
					if body[k] == '\\' {
						k++
					}
					w.WriteByte(body[k])
				}
			} else {
				w.WriteString(body)
			}
			open, i = true, j+1
		default:
			w.WriteByte(c)
			open, i = true, i+1
		}
	}
	if open {
		words = append(words, w.String())
	}
	return words, true
}

// plainFlag adds burst map's --plain, GNU parallel's: read no default
// options (parallelDefaults, which looks for it before the flags are
// parsed).
func plainFlag(c *cobra.Command) {
	c.Flags().Bool("plain", false, "read no default options from $PARALLEL or GNU parallel's config files (~/.parallel/config ...), as parallel's --plain")
}
