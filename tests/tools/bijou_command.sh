#!/usr/bin/env bash
# The bijou command end to end, on data sets numpy makes: fit, log-prob, sample, check; .npy (float32,
# float64, Fortran order) and CSV (with a header) in and out; the standardisation's Jacobian; a
# conditional model; resuming a killed run on the same curve; and every kind of bad input refused with
# its exit status (2 usage, 1 runtime) and a message naming the problem.
#   tests/tools/bijou_command.sh PATH/TO/bijou WORK_DIR
set -euo pipefail
bijou=$1
work=$2
python=/usr/bin/python3
rm -rf "$work" && mkdir -p "$work" && cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect STATUS PATTERN command...: the command exits with STATUS and its stderr matches PATTERN.
expect() {
    local status=$1 pattern=$2
    shift 2
    local got=0
    "$@" 2>stderr.txt >/dev/null || got=$?
    [[ $got == "$status" ]] || fail "'$*' exited with $got, expected $status: $(cat stderr.txt)"
    grep -q -- "$pattern" stderr.txt || fail "'$*': stderr lacks '$pattern': $(cat stderr.txt)"
}
check_py() { $python -c "import numpy as np, json; $1" || fail "check failed: $1"; }

$python -c 'import numpy' 2>/dev/null || { echo "needs numpy for /usr/bin/python3 (python3-numpy)"; exit 1; }

# Data: two noisy half-circles, not centred nor unit-scaled; labels one-hot.
$python - <<'EOF'
import numpy as np
rng = np.random.default_rng(0)
n = 6000
t = rng.uniform(0, np.pi, n)
label = rng.integers(0, 2, n)
x = np.stack([np.cos(t) + label - 0.5 * label, np.sin(t) * (1 - 2 * label) + 0.5 * label], 1)
x = x * 3 + 10 + rng.normal(0, 0.2, (n, 2))
np.save("x.npy", x.astype(np.float32))
np.save("x_fortran.npy", np.asfortranarray(x))
np.save("x_scaled.npy", (x.astype(np.float32).astype(np.float64) * 10 + 5))
np.savetxt("x.csv", x.astype(np.float32), delimiter=",", header="first,second", comments="")
np.save("labels.npy", np.eye(2)[label])
np.save("one_label.npy", np.array([[1.0, 0.0]]))
np.save("wide.npy", np.zeros((5, 3)))
bad = x.copy(); bad[7, 1] = np.nan; np.save("nan.npy", bad)
np.save("constant.npy", np.stack([x[:, 0], np.full(n, 2.0)], 1))
EOF

# fit, and what a model directory holds
"$bijou" fit --data x.npy --flow realnvp --steps 400 --validate-every 100 --out model >/dev/null 2>&1 ||
    fail "bijou fit exited with $?"
for f in model.json model.ckpt checkpoint.ckpt metrics.json log.csv validation_curve.csv samples.npy; do
    [[ -s model/$f ]] || fail "model/$f is missing"
done
check_py "m = json.load(open('model/metrics.json')); assert m['steps'] == 400 and m['features'] == 2, m; \
assert m['validation_rows'] == 600 and m['train_rows'] == 5400, m; assert m['roundtrip_max_abs_err'] < 1e-3, m"

# log-prob: the same numbers from .npy, Fortran-ordered .npy and CSV input; .npy and CSV output
"$bijou" log-prob --model model --data x.npy --out lp.npy >/dev/null
"$bijou" log-prob --model model --data x_fortran.npy --out lp_fortran.npy >/dev/null
"$bijou" log-prob --model model --data x.csv --out lp.csv >/dev/null
check_py "a = np.load('lp.npy'); b = np.load('lp_fortran.npy'); c = np.loadtxt('lp.csv'); \
assert a.shape == (6000,) and a.dtype == np.float64 and np.isfinite(a).all(), a.shape; \
assert np.abs(a - b).max() < 1e-4 and np.abs(a - c).max() < 1e-4, (np.abs(a - b).max(), np.abs(a - c).max())"

# The density is in the data's units: it integrates to 1 over the data's window, and the model of
# 10 x + 5 (the same standardised data, so the same fit) has log p lower by exactly 2 log 10.
check_py "m = json.load(open('model/metrics.json')); e = m['figure_extent']; d = np.exp(np.load('model/figure_density.npy')); \
mass = d.sum() * (e[1] - e[0]) * (e[3] - e[2]) / d.size; assert 0.97 < mass < 1.01, mass"
"$bijou" fit --data x_scaled.npy --flow realnvp --steps 400 --validate-every 100 --no-figures --out scaled >/dev/null 2>&1
$python -c "import numpy as np; np.save('x_scaled_eval.npy', np.load('x.npy').astype(np.float64) * 10 + 5)"
"$bijou" log-prob --model scaled --data x_scaled_eval.npy --out lp_scaled.npy >/dev/null
check_py "a = np.load('lp.npy'); b = np.load('lp_scaled.npy'); shift = np.median(a - b); \
assert abs(shift - 2 * np.log(10)) < 0.02, shift"

# sample: reproducible by seed, in the data's units, cooler at a lower temperature
"$bijou" sample --model model -n 2000 --seed 3 --out s1.npy >/dev/null
"$bijou" sample --model model -n 2000 --seed 3 --out s2.csv >/dev/null
"$bijou" sample --model model -n 2000 --seed 3 --temperature 0.5 --out cool.npy >/dev/null
check_py "a = np.load('s1.npy'); b = np.loadtxt('s2.csv', delimiter=','); c = np.load('cool.npy'); x = np.load('x.npy'); \
assert a.shape == (2000, 2) and np.abs(a - b).max() < 1e-5; assert np.abs(a.mean(0) - x.mean(0)).max() < 0.5, a.mean(0); \
assert c.std(0).sum() < a.std(0).sum(), (c.std(0), a.std(0))"

# check: the trained model passes its laws
"$bijou" check --model model --cases 5 >check.txt || fail "bijou check failed: $(cat check.txt)"
grep -q "bijou check: PASS" check.txt || fail "bijou check did not print PASS"

# every architecture trains and passes check; a conditional glow samples each class where its data are
for flow in glow spline all_in_one; do
    "$bijou" fit --data x.npy --flow $flow --blocks 4 --hidden 32 --steps 150 --no-figures --out m_$flow >/dev/null 2>&1 ||
        fail "fit --flow $flow"
    "$bijou" check --model m_$flow --cases 3 >/dev/null || fail "check --flow $flow"
done
"$bijou" fit --data x.npy --condition labels.npy --flow glow --steps 400 --no-figures --out conditional >/dev/null 2>&1
"$bijou" sample --model conditional -n 1000 --condition one_label.npy --out s_class0.npy >/dev/null
"$bijou" log-prob --model conditional --data x.npy --condition labels.npy --out lp_conditional.npy >/dev/null
"$bijou" check --model conditional --cases 3 >/dev/null || fail "check of the conditional model"
check_py "s = np.load('s_class0.npy'); x = np.load('x.npy'); l = np.load('labels.npy'); \
own = x[l[:, 0] == 1].mean(0); other = x[l[:, 1] == 1].mean(0); m = s.mean(0); \
assert np.linalg.norm(m - own) < 0.3 * np.linalg.norm(own - other), (m, own, other); \
assert np.isfinite(np.load('lp_conditional.npy')).all()"

# resume: a run killed after its step-500 checkpoint, resumed, ends on the uninterrupted run's curve
"$bijou" fit --data x.npy --steps 1200 --validate-every 100 --no-figures --out straight >/dev/null 2>&1
"$bijou" fit --data x.npy --steps 1200 --validate-every 100 --no-figures --out killed >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [[ -f killed/log.csv ]] && (($(wc -l <killed/log.csv) > 560)) && break
    sleep 0.02
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[[ -f killed/model.ckpt ]] && fail "the killed run finished before it was killed; the test needs a slower machine or more steps"
"$bijou" fit --data x.npy --steps 1200 --validate-every 100 --no-figures --resume killed/checkpoint.ckpt --out killed >/dev/null 2>&1 ||
    fail "resume exited with $?"
check_py "a = np.loadtxt('straight/log.csv', delimiter=',', skiprows=1); b = np.loadtxt('killed/log.csv', delimiter=',', skiprows=1); \
assert a.shape == b.shape, (a.shape, b.shape); assert np.abs(a[:, 1] - b[:, 1]).max() < 1e-6, np.abs(a[:, 1] - b[:, 1]).max(); \
assert np.abs(np.load('straight/samples.npy') - np.load('killed/samples.npy')).max() < 1e-4"
expect 2 "holds a model of" "$bijou" fit --data x.npy --flow spline --steps 1200 --resume killed/checkpoint.ckpt --out killed

# bad input: exit status and message
expect 2 "trained on 2 column(s), the file has 3" "$bijou" log-prob --model model --data wide.npy --out o.npy
expect 2 "row 7, column 1 is nan" "$bijou" fit --data nan.npy --out o
expect 2 "column 1 is constant" "$bijou" fit --data constant.npy --out o
expect 2 "is required: the model is conditional" "$bijou" log-prob --model conditional --data x.npy --out o.npy
expect 2 "the model is not conditional" "$bijou" sample --model model -n 3 --condition one_label.npy --out o.npy
expect 2 "has 6000 rows, --data has" "$bijou" fit --data wide.npy --condition labels.npy --out o
expect 2 "not a model directory" "$bijou" sample --model . -n 3 --out o.npy
expect 2 "must be realnvp, glow, spline or all_in_one" "$bijou" fit --data x.npy --flow maf --out o
expect 2 "expected a .npy or .csv file" "$bijou" fit --data x.txt --out o
expect 2 "unknown command" "$bijou" train
expect 2 "unknown option --step" "$bijou" fit --data x.npy --step 3 --out o
cp -r model other_flow && cp m_spline/model.ckpt other_flow/model.ckpt
expect 2 "was written for \"bijou model spline" "$bijou" sample --model other_flow -n 3 --out o.npy
cp -r model corrupt && printf 'zz' | dd of=corrupt/model.ckpt bs=1 seek=64 conv=notrunc 2>/dev/null
expect 1 "corrupt" "$bijou" sample --model corrupt -n 3 --out o.npy
head -c 60 x.npy >truncated.npy
expect 1 "truncated" "$bijou" log-prob --model model --data truncated.npy --out o.npy
echo "bijou command: all checks passed"
