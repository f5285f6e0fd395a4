// Package pipe parses the pipeline language of `burst pipe`: a Unix-like
// pipeline in which each stage asks for the hardware it needs, e.g.
//
//	burst pipe 'generate_data | --cpus 8 filter1 --threshold 3 | --gpus 1 filter2 > result.bin'
//
// and the equivalent YAML pipeline files (see ParseFile).
//
// # Grammar
//
//	pipeline := stage { "|" stage }
//	stage    := { option | redirect } [ "--" ] command { word | redirect }
//	option   := "--cpus" N | "--mem" SIZE | "--gpus" N | "--time" DUR
//	          | "--on" CLUSTER | "--parallel" N | "--name" NAME
//	          | "--stack" STACK                                    (also --opt=VALUE)
//	redirect := "<" word (first stage only) | ">" word | ">>" word (last stage only)
//
// Stage options come before the command, as with env, nice or srun, so a
// program's own flags are never taken for burst's: only unquoted words that
// start with -- at the start of a stage are options, and a bare -- ends them.
// Words follow POSIX sh: single quotes are literal; in double quotes a
// backslash escapes only $ ` " \ and newline; a backslash outside quotes
// escapes the next character; backslash-newline continues the line; adjacent
// parts join into one word. When Options provide them, $NAME and ${NAME}
// expand (unquoted results are split into fields), a leading ~ or ~/ becomes
// the home directory, and words with unquoted * ? [ are pathname patterns.
// An unquoted # at the start of a word begins a comment. A newline may follow
// a | or precede a line that starts with |; any other newline between
// commands would start a second command.
//
// # What is refused
//
// Everything else sh would do is refused with the line, column and a hint,
// rather than passed on with a different meaning: command lists (&& || ; &
// and newlines), subshells ( ), command substitution $( ) and backticks,
// arithmetic $(( )), here-documents and here-strings, <> >| and file
// descriptor redirections such as 2> 2>&1 &> >& (each stage's stderr is kept
// separately: burst logs JOB --stage NAME), process substitution <( ) >( ),
// variable assignments before a command (use env VAR=value cmd), shell
// keywords in command position (if, while, !, { ...), positional and special
// parameters ($1 $@ $? ...), parameter operators (${NAME:-x}), $'...' and
// $"..." quoting, ~user, bash brace expansion ({a,b} {1..3}), empty stages
// and empty command names, < outside the first stage and > outside the last.
// { and } are otherwise ordinary characters, so find -exec {} + and quoted awk
// programs work.
//
// # Why it is hand-written
//
// The subset is small; errors must point at a column with a burst-specific
// hint (a general shell parser would accept what burst then has to reject,
// or reject it with a shell's message); and the text must never be handed to
// a shell: each stage becomes an argv that burst runs directly, on whichever
// machine the stage's resources call for. Pipeline.String prints a pipeline
// back in a canonical form that Parse reads back to the same value, quoting
// words with internal/shellquote, burst's one shell quoter.
//
// mvdan.cc/sh/v3's syntax package (v3.14.1) was weighed as the lexer and
// quoter, and not taken. Run over this package's test inputs, its parser
// accepts 96 of the 127 inputs Parse must refuse (103 in bash mode: && ; &
// $(...) 2>&1 X=1 cmd $1 ${X:-d} {a,b} NUL, a trailing backslash...), each of
// which would need a walk over its syntax tree to refuse with a column; the
// 31 it refuses come with a shell's message (5 at another column: "a | | b"
// at 3, not 5), to be mapped back to burst's hints by matching its message
// text; and it refuses 2 of the 73 inputs Parse accepts (a line that starts
// with |), so a quote- and comment-aware scan of our own would stay in front
// of it. Its columns count bytes, not characters. It would replace the lexer,
// about 420 lines of code of parse.go's 1,400; by our estimate the tree walk,
// the message mapping and that scan would take about as many, besides a
// dependency of 4,400 lines of lexer and parser. Its syntax.Quote cannot be
// the quoter: for POSIX sh it refuses any string with a newline, a tab or
// another non-printing character (pipe words and sbatch arguments hold them),
// and its bash form, $'...', is not read by dash, Debian's sh.
package pipe
