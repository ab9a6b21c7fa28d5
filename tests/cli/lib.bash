# Helpers shared by the CLI tests (sourced, not run: only *.sh files are
# tests). A test counts its checks with check and ends with cli_finish, whose
# status is the test's.
pass=0
fails=0
skipped=0

# check DESCRIPTION COMMAND...: COMMAND must succeed; prints ok or FAIL.
check() {
    local what=$1
    shift
    if "$@"; then
        echo "ok - $what"
        pass=$((pass + 1))
    else
        echo "FAIL - $what"
        fails=$((fails + 1))
    fi
}

has() { grep -Fq -- "$1" "$2"; }       # has STRING FILE
has_line() { grep -Fxq -- "$1" "$2"; } # has_line LINE FILE

# cli_finish: the counts; fails when a check failed.
cli_finish() {
    echo "$pass passed, $fails failed, $skipped skipped"
    [ "$fails" -eq 0 ]
}
