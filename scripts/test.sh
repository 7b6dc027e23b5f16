#!/usr/bin/env bash
# The project's test command (README): on a Debian machine,
#
#	sudo bash scripts/test.sh
#
# installs the missing host packages (when root), then runs gofmt, go vet, the
# unit tests, the bpf2go regeneration check and the privileged tests inside
# qemu on Debian's 6.1 and 6.12 kernels. It keeps going after a failure, ends
# with a summary and "N passed, N failed", and exits non-zero if anything failed.
#
# Environment: BPFBOX_KERNELS (default 6.1,6.12), BPFBOX_CACHE (kernel cache,
# default .cache/), BPFBOX_SKIP_VM=1 to stop after the host-side checks.
set -uo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
kernels=${BPFBOX_KERNELS:-6.1,6.12}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Host packages: qemu and a static busybox boot the test VM; gcc and libc6-dev
# build the static C drivers; clang-19, llvm-19 (llvm-strip) and libbpf-dev
# regenerate the BPF objects.
packages=(qemu-system-x86 busybox-static gcc libc6-dev clang-19 llvm-19 libbpf-dev git)
missing=()
for p in "${packages[@]}"; do
	if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]})); then
	if ((EUID == 0)); then
		echo "== installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
			apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" || {
				echo "test.sh: cannot install ${missing[*]}" >&2
				exit 1
			}
		fi
	else
		echo "test.sh: missing packages: ${missing[*]}" >&2
		echo "test.sh: run as root (sudo bash scripts/test.sh) or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
		exit 1
	fi
fi
if [[ -d /usr/local/go/bin && :$PATH: != *:/usr/local/go/bin:* ]]; then
	PATH=/usr/local/go/bin:$PATH # sudo's secure_path drops it
fi
if ! command -v go >/dev/null; then
	echo "test.sh: no go command: install Go $(sed -n 's/^go //p' go.mod) or newer (https://go.dev/dl/)" >&2
	exit 1
fi

passed=0
failed=0
summary=()
step() { echo; echo "== $*"; }
record() { # record NAME OK|FAIL DETAIL
	summary+=("$(printf '  %-14s %-4s %s' "$1" "$2" "$3")")
	if [[ $2 == ok ]]; then ((passed += 1)); else ((failed += 1)); fi
}
add_counts() { # add_counts NAME FILE STATUS
	local p=0 f=0 s=0
	if [[ -s $2 ]]; then read -r p f s <"$2"; fi
	if (($3 != 0 && f == 0)); then f=1; fi # the runner failed without counting it
	((passed += p, failed += f))
	local status=ok
	if ((f > 0 || $3 != 0)); then status=FAIL; fi
	summary+=("$(printf '  %-14s %-4s %d passed, %d failed, %d skipped' "$1" "$status" "$p" "$f" "$s")")
}
elapsed() { local t=$(($(date +%s) - $1)); printf '%dm%02ds' $((t / 60)) $((t % 60)); }

step "gofmt"
t0=$(date +%s)
mapfile -t gofiles < <(git ls-files --cached --others --exclude-standard '*.go' | while read -r f; do [[ -f $f ]] && echo "$f"; done)
unformatted=$(gofmt -l "${gofiles[@]}")
if [[ -z $unformatted ]]; then record gofmt ok "$(elapsed "$t0")"; else
	echo "$unformatted"
	record gofmt FAIL "not gofmt-ed: $(echo $unformatted)"
fi

step "go vet ./..."
t0=$(date +%s)
if go vet ./...; then record "go vet" ok "$(elapsed "$t0")"; else record "go vet" FAIL "$(elapsed "$t0")"; fi

step "unit tests: go test ./..."
t0=$(date +%s)
go build -o "$tmp/testsum" ./internal/vmtest/cmd/testsum
go test -json ./... 2>&1 | "$tmp/testsum" --counts "$tmp/unit.counts"
add_counts "unit tests" "$tmp/unit.counts" "${PIPESTATUS[1]}"
summary[-1]+=" ($(elapsed "$t0"))"

step "bpf2go output: go generate ./bpf/... with clang-19 in a copy, compared with the tree"
t0=$(date +%s)
# Regenerating in a copy leaves the work tree alone (bpf2go writes relative
# paths, so the output does not depend on where it is built).
regen="$tmp/regen"
mkdir -p "$regen"
cp -a go.mod go.sum bpf "$regen/"
if ! (cd "$regen" && go generate ./bpf/...); then
	record bpf2go FAIL "go generate ./bpf/... failed"
elif changes=$(diff -r -q bpf "$regen/bpf"); then
	record bpf2go ok "regenerated, identical ($(elapsed "$t0"))"
else
	echo "$changes"
	record bpf2go FAIL "committed output differs from clang-19's: run go generate ./bpf/... and commit"
fi

if [[ ${BPFBOX_SKIP_VM:-} == 1 ]]; then
	summary+=("  VM tests       skipped (BPFBOX_SKIP_VM=1)")
else
	step "privileged tests in qemu on kernels $kernels"
	t0=$(date +%s)
	go build -o "$tmp/vmtest" ./internal/vmtest/cmd/vmtest
	parallel=()
	if (($(nproc) >= 2)); then parallel=(--parallel); fi # one TCG core per kernel
	"$tmp/vmtest" --kernel "$kernels" "${parallel[@]}" --counts "$tmp/vm.counts"
	add_counts "VM tests" "$tmp/vm.counts" $?
	summary[-1]+=" on $kernels ($(elapsed "$t0"))"
fi

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "  wall time      $(elapsed "$start")"
echo "$passed passed, $failed failed"
((failed == 0))
