#!/usr/bin/env bash
# The speed benchmarks on a lent GPU machine, in two steps (the GPU figures of README.md).
#
# The GPU machine has PyTorch, torchvision, matplotlib, pandas, scipy and tqdm but no
# network, no d2l, torchinfo or IPython, and no copy of the data; this script packs
# those into the git-ignored folder .gpu/ (about 33 MB) and then runs everything from
# it there.
#
#   bash benchmarks/gpu_session.sh prepare        # here, with network: fill .gpu/
#   bash benchmarks/gpu_session.sh run            # there (device tool: carry [".gpu"]):
#                                                 # records into benchmarks/results.json and
#                                                 # copies it and the log to $OUT
#   bash benchmarks/gpu_session.sh run --smoke    # a few steps of each, nothing recorded
#                                                 # (checks the plumbing, on a CPU too)
#
# Then, here: merge the new records of $OUT/results.json into benchmarks/results.json
# (.venv/bin/python benchmarks/_common.py merge FILE) and commit. One call of the device tool may
# run 10 minutes: the full run should take about 5 on an H100 (an estimate, never run:
# 3 repeats of 300 trainer_vs_d2l steps, d2l's 10 epochs at 28 px, the precision table).
set -euo pipefail
cd "$(dirname "$0")/.."

# d2l and torchinfo, and what d2l imports that the GPU image lacks (IPython, for
# d2l's plotting, with its own pure-Python needs); versions as in the course's .venv.
WHEELS=(d2l==1.0.3 torchinfo==1.8.0 ipython==9.18.1 ipython-pygments-lexers==1.1.1
        jedi==0.20.1 parso==0.8.7 matplotlib-inline==0.2.2 traitlets==5.16.1
        pexpect==4.9.0 ptyprocess==0.7.0 prompt_toolkit==3.0.53 wcwidth==0.9.4
        stack-data==0.6.3 executing==2.3.0 asttokens==3.0.2 pure_eval==0.2.4)

prepare() {
    local data="${CNNLAB_DATA:-../shared/data}"
    mkdir -p .gpu/data/FashionMNIST/raw .gpu/whl
    cp "$data"/FashionMNIST/raw/*-ubyte.gz .gpu/data/FashionMNIST/raw/
    # Pure-Python wheels, no dependencies: d2l's pins (numpy 1.23...) would break the stack.
    python3 -m pip download -q --no-deps --only-binary=:all: -d .gpu/whl "${WHEELS[@]}"
    grep -qxF '/.gpu/' .gitignore || { echo "add /.gpu/ to .gitignore first" >&2; exit 1; }
    du -sh .gpu
}

run() {
    local smoke=0
    [ "${1:-}" = "--smoke" ] && smoke=1
    [ -d .gpu/whl ] || { echo "no .gpu/: run 'prepare' here and carry .gpu" >&2; exit 2; }
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/cnnlab-site \
        .gpu/whl/*.whl
    export PYTHONPATH="/tmp/cnnlab-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    export CNNLAB_DATA="$PWD/.gpu/data" CNNLAB_OFFLINE=1 CNNLAB_PROGRESS=text
    export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
    local out="${OUT:-/tmp/cnnlab-gpu-out}"
    mkdir -p "$out"
    local status=0
    {
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
        python3 -c "import torch; print('torch', torch.__version__, 'CUDA', torch.cuda.is_available())"
        if [ $smoke = 1 ]; then
            python3 benchmarks/trainer_vs_d2l.py --steps 2 --batch-size 32 --resize 28
            python3 benchmarks/time_to_accuracy.py --quick --epochs 1
            python3 benchmarks/precision.py --models lenet_bn --seconds 0.2 --repeats 1
        else
            local note="device tool run: benchmarks/gpu_session.sh run"
            # 300 steps (38,400 images): on a GPU 30 steps are over before d2l's workers warm up.
            python3 benchmarks/trainer_vs_d2l.py --steps 300 --repeats 3 --record --note "$note"
            python3 benchmarks/time_to_accuracy.py --record --note "$note"
            python3 benchmarks/precision.py --record --note "$note"
        fi
    } 2>&1 | tee "$out/gpu_session.log" || status=$?
    cp benchmarks/results.json "$out/results.json"  # what was recorded, even after a failure
    return $status
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) echo "usage: bash benchmarks/gpu_session.sh prepare | run [--smoke]" >&2; exit 2 ;;
esac
