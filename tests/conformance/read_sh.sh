# Source dotenv files the way a shell user does (`set -a; . ./file`), one subshell per file,
# as tests/conformance.rs asks. Run by bash and by dash.
# $1: the directory for the results; then the files. For each file F it writes F.out (the
# environment after sourcing, as `env -0` prints it) and, if sourcing failed, F.status. Each
# file is sourced in its own empty directory F.cwd, so a value that runs a command (the corpus
# has some that `touch` a file) leaves its mark there.
out=$1
shift
for f in "$@"; do
  name=${f##*/}
  mkdir "$out/$name.cwd"
  (
    cd "$out/$name.cwd" || exit 99
    set -a
    . "$f"
    exec env -0
  ) >"$out/$name.out" 2>/dev/null || echo "$?" >"$out/$name.status"
done
