package burst

import "strconv"

// Plural says n units as burst's messages do: "1 task", "3 tasks".
func Plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
