# Shared by the shell tests (source it): tiny synthetic data, a random
# encoder, and the file-size limit the write-fault tests run under.

# tiny_data BIN WORK [synth flags]: $WORK/data (synth with these flags,
# else 2 patients of one 16-slice 64 px study) and its slice index $WORK/idx.
tiny_data() {
  local bin=$1 work=$2
  shift 2
  [ $# -gt 0 ] || set -- --patients 2 --studies-per-patient 1 --slices 16 --size 64
  "$bin" synth --out "$work/data" "$@" --quiet > /dev/null
  "$bin" index --data "$work/data" --db "$work/idx" --dl-info "$work/data/DL_info.csv" --log-level warn > /dev/null 2>&1
}

# tiny_encoder PYTHON SOURCE_DIR OUT: a vit_tiny (32 px) with PyTorch's
# default random initialisation, as a bare state dict (scripts/golden/backbones.py
# has radclear's parameter names). Extract reads it with --arch vit_tiny --image-size 32.
tiny_encoder() {
  "$1" - "$2/scripts/golden" "$3" 2> /dev/null <<'PY'
import sys, torch
sys.path.insert(0, sys.argv[1])
import backbones
torch.manual_seed(0)
model = backbones.MODELS['vit_tiny'][0](32, 0)
torch.save({k: v for k, v in model.state_dict().items() if not k.startswith('head.')}, sys.argv[2])
PY
}

# with_file_limit KIB COMMAND...: runs COMMAND with a file-size limit of KIB
# KiB and SIGXFSZ ignored, so a write past it fails with EFBIG (as on a full
# disk or quota) instead of killing the process.
with_file_limit() {
  local kib=$1
  shift
  ( ulimit -f "$kib"; trap '' XFSZ; exec "$@" )
}

# fail MESSAGE [LOG]: prints both and exits 1.
fail() {
  echo "$1"
  if [ -n "${2:-}" ] && [ -f "$2" ]; then cat "$2"; fi
  exit 1
}

# temp_files DIR: the temporary files left under DIR (write_file_atomic's
# ".<name>.tmp.<pid>.<n>", RocksDB's "*.dbtmp").
temp_files() {
  find "$1" \( -name '.*.tmp.*' -o -name '*.dbtmp' \) -print
}
