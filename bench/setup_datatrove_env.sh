#!/usr/bin/env bash
# A separate virtualenv with datatrove, used only by benchmarks that compare against it.
# datatrove is never a dependency of datacraft.
set -euo pipefail
cd "$(dirname "$0")"
ENV=${DATATROVE_ENV:-.venv-datatrove}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x "$ENV/bin/python" ]; then
  "$PYTHON" -m venv "$ENV"
fi
"$ENV/bin/python" -m pip install --quiet --upgrade pip
"$ENV/bin/python" -m pip install --quiet 'datatrove[processing]' xxhash orjson
# datatrove's English word tokenizer is spaCy's rule-based blank('en') (no model download needed)
"$ENV/bin/python" -m pip install --quiet 'spacy>=3.7,<4'
echo "$ENV/bin/python"
