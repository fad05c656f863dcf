#!/usr/bin/env bash
# The GPU checks, as one script with a time box per stage: build the CUDA
# extension in place, run the whole test suite (the CUDA tests run here),
# compute-sanitizer memcheck and racecheck on the CUDA tests of every op
# family, and the CUDA benchmarks. Logs go to $OUT (default build/gpu).
#   tools/gpu_checks.sh [stage ...]   stages: build test sanitize bench (default: all)
# Optional: PYTEST_ARGS (extra pytest arguments), SANITIZERS (default
# "memcheck racecheck"), SANITIZE_K (pytest -k of the sanitized tests),
# BENCH_SUITES, TEST_LIMIT / SANITIZE_LIMIT / BENCH_LIMIT (seconds per run).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-build/gpu}"
mkdir -p "$OUT"
export HVAE_EXT_CUDA=1 TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
export MAX_JOBS="${MAX_JOBS:-$(nproc)}" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(build test sanitize bench)
status=0

run() {  # run <seconds> <log> <command...>
  local secs=$1 log=$2
  shift 2
  echo "== $* (limit ${secs}s)" | tee -a "$OUT/summary.txt"
  local t0=$SECONDS
  timeout "$secs" "$@" >"$OUT/$log" 2>&1
  local rc=$?
  echo "   rc=$rc in $((SECONDS - t0))s; tail:" >>"$OUT/summary.txt"
  tail -n 4 "$OUT/$log" | sed 's/^/   /' >>"$OUT/summary.txt"
  [ "$rc" -ne 0 ] && status=1
  return 0
}

nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv >"$OUT/summary.txt" 2>&1
for stage in "${stages[@]}"; do
  case "$stage" in
    build)
      run 360 build.log python setup.py build_ext --inplace
      run 60 info.txt python -m hvae_ext.info ;;  # versions, CUDA architectures: what this run covered
    test) run "${TEST_LIMIT:-300}" pytest.log python -m pytest -q -p no:cacheprovider ${PYTEST_ARGS:-} ;;
    sanitize)
      # Small CUDA cases only: the sanitizer slows kernels ~100x.
      for tool in ${SANITIZERS:-memcheck racecheck}; do
        run "${SANITIZE_LIMIT:-240}" "sanitizer-$tool.log" compute-sanitizer --tool "$tool" --error-exitcode 9 \
          python -m pytest -q -x -p no:cacheprovider -m cuda -k "${SANITIZE_K:-not compile and not graph}" tests
      done ;;
    bench)
      for suite in ${BENCH_SUITES:-bessel vmf sylvester}; do
        run "${BENCH_LIMIT:-120}" "bench-$suite.log" python -m benchmarks --suite "$suite" --device cuda
      done ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
cat "$OUT/summary.txt"
exit "$status"
