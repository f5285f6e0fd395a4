package cli

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/pflag"
)

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
