# Sourced by the scripts: shared settings for building and testing skysift.
# The build directory lives outside the clone so that CI runs and later sessions reuse it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/skysift/target}"
# Real data for validation and benchmarks (never copied into the project).
export SKYSIFT_DATA="${SKYSIFT_DATA:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/data}"
export PATH="$HOME/.cargo/bin:$PATH"
