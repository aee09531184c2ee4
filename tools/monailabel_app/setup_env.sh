#!/usr/bin/env bash
# Create a separate virtual environment for MONAI Label 0.8.5 serving the PRISM bundles.
#
# MONAI Label 0.8.5 needs pydicom<3 and numpy<2 and imports torchvision at start-up, which the project's
# main environment (torch 2.13 CPU, pydicom 3) cannot give, so it gets its own venv (never inside the repo).
#
# Usage: bash tools/monailabel_app/setup_env.sh [VENV_DIR]      (default /tmp/monailabel-venv)
# Env:   PYTHON (interpreter for the venv, default python3), TORCH_SPEC / TORCHVISION_SPEC to pick other builds.
set -euo pipefail

VENV_DIR="${1:-/tmp/monailabel-venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.14.1}"
TORCHVISION_SPEC="${TORCHVISION_SPEC:-torchvision==0.29.1}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

case "$(cd "$(dirname "$VENV_DIR")" 2>/dev/null && pwd)/" in
    "$REPO_ROOT"/*) echo "setup_env.sh: refusing to create the venv inside the repository ($VENV_DIR)" >&2; exit 2 ;;
esac

if [ ! -x "$VENV_DIR/bin/python" ]; then
    "$PYTHON" -m venv "$VENV_DIR"
fi
PIP=("$VENV_DIR/bin/python" -m pip install --progress-bar off)

# 1. torch + torchvision as a matching pair (torchvision from PyPI fails beside the torch 2.13 CPU wheel).
"${PIP[@]}" "$TORCH_SPEC" "$TORCHVISION_SPEC"
# 2. MONAI Label with the pins it needs, and the runtime dependencies of the `prism` package that the
#    bundles' inference/train configs import (monai, nibabel, ignite, itk for DICOM series, ...).
"${PIP[@]}" "monailabel==0.8.5" "pydicom<3" "numpy<2" "$TORCH_SPEC" "$TORCHVISION_SPEC" \
    "monai[einops]>=1.5,<1.7" "nibabel>=5.0" "pytorch-ignite>=0.4.11,<0.6" "fire>=0.5" "itk>=5.3" \
    "pyyaml>=6" "scipy>=1.10" "tqdm>=4.60"
# (not jsonschema>=4: pydicom-seg 0.4.1 pins jsonschema<4; the project's other tools stay in the main environment)
# 3. The project itself, without letting pip touch the pins above.
"${PIP[@]}" --no-deps -e "$REPO_ROOT"

"$VENV_DIR/bin/python" - <<'PY'
import monai, monailabel, numpy, pydicom, torch, torchvision
import prism.bundle  # noqa: F401  (the bundles' configs import it)
print(f"monailabel {monailabel.__version__}, monai {monai.__version__}, torch {torch.__version__}, "
      f"torchvision {torchvision.__version__}, numpy {numpy.__version__}, pydicom {pydicom.__version__}")
PY
echo "MONAI Label environment ready: $VENV_DIR (start with $VENV_DIR/bin/monailabel)"
