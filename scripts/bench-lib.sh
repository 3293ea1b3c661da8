# Shared by the benchmark scripts (sourced, not run): machine facts, the revision, and
# replacing a generated section of docs/BENCHMARKS.md.

NPROC=$(nproc)
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
CPU=${CPU:-$(uname -m)}
MEM_GIB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo "?")
KERNEL=$(uname -sr)
RUSTC=$(rustc --version 2>/dev/null || echo "rustc ?")

# The revision, read from .git without running git.
git_revision() {
    local head ref
    head=$(cat .git/HEAD 2>/dev/null) || { echo unknown; return; }
    if [[ $head == ref:* ]]; then
        ref=${head#ref: }
        if [[ -f .git/$ref ]]; then
            cut -c1-12 ".git/$ref"
        else
            awk -v r="$ref" '$2 == r {print substr($1, 1, 12)}' .git/packed-refs 2>/dev/null || echo unknown
        fi
        printf ' (%s)' "${ref#refs/heads/}"
    else
        printf '%s' "${head:0:12}"
    fi
}
REVISION=$(git_revision | tr -d '\n')
[[ -n $REVISION ]] || REVISION=unknown

# replace_section NAME SECTION_FILE OUT_FILE: puts SECTION_FILE (which carries the
# `<!-- NAME:start -->` and `<!-- NAME:end -->` markers) in place of the marked section of
# OUT_FILE, or appends it when OUT_FILE has no such section. Everything else is kept.
replace_section() {
    local name=$1 section=$2 out=$3 tmp
    tmp=$(mktemp)
    if grep -q "<!-- $name:start -->" "$out" && grep -q "<!-- $name:end -->" "$out"; then
        awk -v section="$section" -v start="<!-- $name:start -->" -v end="<!-- $name:end -->" '
            index($0, start) { while ((getline line < section) > 0) print line; skip = 1; next }
            index($0, end)   { skip = 0; next }
            !skip { print }
        ' "$out" >"$tmp"
    else
        { cat "$out"; echo; cat "$section"; } >"$tmp"
    fi
    cat "$tmp" >"$out"
    rm -f "$tmp"
}
