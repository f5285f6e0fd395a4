package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/burst-sh/burst/internal/suggest"
)

// flagError is the usage error for a flag of c that did not parse: an
// unknown flag with the closest flags c has ("unknown flag: --cpu (did
// you mean --cpus?)"), a bad value as flagValueError says it, anything
// else with where to look.
func flagError(c *cobra.Command, err error) error {
	if s := didYouMean(c, err); s != "" {
		return usage("%s (%s)", err, s)
	}
	return usage("%s (see `%s --help`)", flagValueError(err), c.CommandPath())
}

// didYouMean says which of c's flags an unknown one probably meant
// ("did you mean --cpus?"), or "" when err is not an unknown flag's or no
// flag is close. A long name given with one dash (-state) is taken as the
// long name it spells. Hidden flags (other spellings, GNU parallel's) are
// not offered.
func didYouMean(c *cobra.Command, err error) string {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) {
		return ""
	}
	name := ne.GetSpecifiedName()
	if sn := ne.GetSpecifiedShortnames(); sn != "" {
		name = sn // -state, which pflag reads as -s -t -a -t -e
		if len([]rune(name)) < 2 {
			return ""
		}
	}
	var names []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			names = append(names, f.Name)
		}
	})
	close := suggest.Closest(name, names)
	if len(close) == 0 {
		return ""
	}
	for i := range close {
		close[i] = "--" + close[i]
	}
	if len(close) == 1 {
		return "did you mean " + close[0] + "?"
	}
	return "did you mean " + strings.Join(close[:len(close)-1], ", ") + " or " + close[len(close)-1] + "?"
}

// flagValueError rewrites a flag value that did not parse as one line that
// names the flag, the value and what to write instead. pflag's own message
// ends with Go's parser error (`strconv.ParseInt: parsing "x": invalid
// syntax`), which says what went wrong inside, not what to type. Any other
// error is returned as it is.
func flagValueError(err error) string {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) || iv.GetFlag() == nil {
		return err.Error()
	}
	f := iv.GetFlag()
	name := "--" + f.Name
	var ne *strconv.NumError
	outOfRange := errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange)
	var want string
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "count":
		want = fmt.Sprintf("give a whole number, e.g. %s 4", name)
		if outOfRange {
			want = "the number is out of range: give a smaller one"
		}
	case "float32", "float64":
		want = fmt.Sprintf("give a number, e.g. %s 0.5", name)
	case "bool":
		want = fmt.Sprintf("give true or false (%s alone means true)", name)
	case "duration":
		want = fmt.Sprintf("give a duration, e.g. %s 30s or %s 5m", name, name)
	default:
		return err.Error()
	}
	return fmt.Sprintf("%s %q: %s", name, iv.GetValue(), want)
}
