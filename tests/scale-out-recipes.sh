#!/bin/bash
# docs/scale-out/'s recipes: the Kubernetes Indexed Job
# (k8s-indexed-job.yaml) and the Slurm job array (slurm-array.sh). Their
# fields are checked (the YAML with python3's yaml module: a missing module
# is a failure), then their commands run here as the cluster would run
# them, every shard and then the merge, with samples/demo.pcap for the
# capture: the merge must be the unsharded run's NDJSON, byte
# for byte. Prints TAP.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
tl_tmp recipes

yaml=$srcdir/docs/scale-out/k8s-indexed-job.yaml
slurm=$srcdir/docs/scale-out/slurm-array.sh
demo=$srcdir/samples/demo.pcap

# `tcplens` on PATH is the built one.
case $tcplens in /*) ;; *) tcplens=$PWD/$tcplens ;; esac
mkdir -p "$tmp/bin" && ln -s "$tcplens" "$tmp/bin/tcplens"
# Its NDJSON, every record; the inputs' names (paths as each recipe gives
# them) aside.
unnamed() { sed 's/"source":"[^"]*"/"source":""/g'; }
"$tcplens" "$demo" --ndjson | unnamed >"$tmp/want"
grep -q '^{"record":"connection"' "$tmp/want" && grep -q '^{"record":"summary"' "$tmp/want"
ok $? "the unsharded run of samples/demo.pcap: $(wc -l <"$tmp/want") records"

# docs/scale-out.md: a section for each recipe, naming its file, its
# commands ending in the merge.
section() { # section HEADING: the lines of the section under ## HEADING
    awk -v h="## $1" '$0 == h { on = 1; next } on && /^## / { exit } on { print }' \
        "$srcdir/docs/scale-out.md"
}
section "Recipe: a Kubernetes Indexed Job" >"$tmp/doc-k8s"
grep -q 'scale-out/k8s-indexed-job.yaml' "$tmp/doc-k8s" &&
    grep -q '^kubectl wait --for=condition=complete .*job/tcplens-shards' "$tmp/doc-k8s" &&
    grep -q '^kubectl apply -f k8s-indexed-job.yaml -l step=merge' "$tmp/doc-k8s"
ok $? "docs/scale-out.md: 'Recipe: a Kubernetes Indexed Job' names the file; shards, wait, merge"
section "Recipe: a Slurm job array" >"$tmp/doc-slurm"
grep -q 'scale-out/slurm-array.sh' "$tmp/doc-slurm" &&
    grep -q '^sbatch --dependency=afterok:"\$jobid" .*slurm-array.sh merge' "$tmp/doc-slurm"
ok $? "docs/scale-out.md: 'Recipe: a Slurm job array' names the file; array, then the merge after it"

# The Slurm job array.
bash -n "$slurm"
ok $? "slurm-array.sh: bash -n"
count=$(sed -n 's/^N=\([0-9][0-9]*\)$/\1/p' "$slurm")
array=$(sed -n 's/^#SBATCH --array=1-\([0-9][0-9]*\)$/\1/p' "$slurm")
[ -n "$count" ] && [ "$count" = "$array" ]
ok $? "slurm-array.sh: #SBATCH --array=1-${array:-?} and N=${count:-?} agree"
grep -Eq -- '--shard "\$\{?SLURM_ARRAY_TASK_ID\}?/\$\{?N\}?"' "$slurm"
ok $? "slurm-array.sh: --shard \${SLURM_ARRAY_TASK_ID}/\${N}"
grep -Eq '^if \[ "\$\{1:-\}" = merge \]; then$' "$slurm" && grep -q 'tcplens merge ' "$slurm"
ok $? "slurm-array.sh: run with 'merge', it runs tcplens merge"

# Every task of the array, then the merge, as Slurm would run them: CAPTURE
# and OUT from the environment, from a working directory of their own.
mkdir -p "$tmp/slurm/out" "$tmp/slurm/cwd"
bad=0 before=$failed
for ((k = 1; k <= ${count:-0}; k++)); do
    (cd "$tmp/slurm/cwd" && SLURM_ARRAY_TASK_ID=$k CAPTURE=$demo OUT=$tmp/slurm/out \
        PATH=$tmp/bin:$PATH bash "$slurm") 2>>"$tmp/slurm/err" || bad=$((bad + 1))
done
[ "${count:-0}" -gt 0 ] && [ "$bad" -eq 0 ] &&
    [ "$(find "$tmp/slurm/out" -name 'shard-*.ndjson' | wc -l)" -eq "$count" ]
ok $? "slurm-array.sh: tasks 1..${count:-?} run here, each writes its shard-K.ndjson ($bad failed)"
(cd "$tmp/slurm/cwd" && OUT=$tmp/slurm/out PATH=$tmp/bin:$PATH bash "$slurm" merge) 2>>"$tmp/slurm/err" &&
    unnamed <"$tmp/slurm/out/connections.ndjson" | cmp -s "$tmp/want" -
ok $? "slurm-array.sh merge: connections.ndjson = the unsharded run's NDJSON"
[ "$failed" -eq "$before" ] || sed 's/^/# /' "$tmp/slurm/err"

# The Kubernetes Indexed Job: python3 checks the YAML and runs its two
# Jobs' commands, printing "STATUS DESCRIPTION" per point.
PATH=$tmp/bin:$PATH python3 - "$yaml" "$tmp/k8s" "$tmp/want" "$demo" >"$tmp/k8s.out" 2>"$tmp/k8s.err" <<'EOF'
import os
import re
import subprocess
import sys

yaml_path, work, want_path, capture = sys.argv[1:5]

def point(good, desc):
    print("%d %s" % (0 if good else 1, desc), flush=True)

def get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d

def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)

def k8s_expand(s, env):
    """$(VAR) in command, args and env values, as the kubelet expands it:
    a declared VAR is replaced, another kept as written; $$ is $."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "$" and i + 1 < len(s):
            c = s[i + 1]
            if c == "$":
                out.append("$")
            elif c == "(" and s.find(")", i + 2) != -1:
                j = s.find(")", i + 2)
                name = s[i + 2:j]
                out.append(env[name] if name in env else s[i:j + 1])
                i = j + 1
                continue
            else:
                out.append("$" + c)
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out)

try:
    import yaml
except ImportError as e:
    point(False, "python3's yaml module (python3-yaml) is there: %s" % e)
    sys.exit(0)
try:
    with open(yaml_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
except Exception as e:
    point(False, "k8s-indexed-job.yaml parses: %s" % str(e).replace("\n", " "))
    sys.exit(0)
point(True, "k8s-indexed-job.yaml parses")
good = len(docs) == 2 and all(
    isinstance(d, dict) and d.get("apiVersion") == "batch/v1" and d.get("kind") == "Job"
    for d in docs)
point(good, "k8s-indexed-job.yaml: two documents, both kind Job of batch/v1 (%d)" % len(docs))
if not good:
    sys.exit(0)
shard, merge = docs
names = [get(d, "metadata", "name") for d in docs]
pods = [get(d, "spec", "template", "spec") or {} for d in docs]
conts = []
for p in pods:
    c = p.get("containers")
    conts.append(c[0] if isinstance(c, list) and len(c) == 1 and isinstance(c[0], dict) else {})
point(all(conts) and all(c.get("image") for c in conts),
      "both Jobs: one container with an image")

def argv(c):
    a = (c.get("command") or []) + (c.get("args") or [])
    return [str(x) for x in a]

spec = shard.get("spec") or {}
completions, parallelism = spec.get("completions"), spec.get("parallelism")
point(spec.get("completionMode") == "Indexed",
      "%s: completionMode Indexed (%s)" % (names[0], spec.get("completionMode")))
point(is_int(completions) and completions > 0 and is_int(parallelism) and parallelism > 0,
      "%s: completions %r and parallelism %r, integers" % (names[0], completions, parallelism))
point(all(is_int(get(d, "spec", "backoffLimit")) for d in docs),
      "both Jobs: an integer backoffLimit")
point(all(p.get("restartPolicy") in ("Never", "OnFailure") for p in pods),
      "both Jobs: restartPolicy Never or OnFailure (%s)"
      % ", ".join(str(p.get("restartPolicy")) for p in pods))

cmd = " ".join(argv(conts[0]))
env0 = {e.get("name"): str(e.get("value", "")) for e in conts[0].get("env") or []}
m = re.search(r'--shard\s+"?\$\(\(\s*JOB_COMPLETION_INDEX\s*\+\s*1\s*\)\)/'
              r'(\d+|\$\{?(\w+)\}?)"?', cmd)
count = None
if m:
    count = m.group(1) if m.group(2) is None else env0.get(m.group(2))
    count = int(count) if count is not None and count.isdigit() else None
point(m is not None and count == completions,
      "%s: --shard $((JOB_COMPLETION_INDEX + 1))/N, N = completions (%s, %r)"
      % (names[0], count, completions))
mcmd = " ".join(argv(conts[1]))
point(re.search(r"\btcplens merge\b", mcmd) is not None
      and get(merge, "spec", "completionMode") in (None, "NonIndexed")
      and get(merge, "spec", "completions") in (None, 1),
      "%s: one pod, running tcplens merge" % names[1])

# Volumes: every mount names a declared volume; both Jobs mount the same
# claim.
good, claims, mounts = True, [], []
for p, c in zip(pods, conts):
    vols = {v.get("name"): v for v in p.get("volumes") or []}
    ms = {}
    for vm in c.get("volumeMounts") or []:
        v = vols.get(vm.get("name"))
        claim = get(v, "persistentVolumeClaim", "claimName")
        if v is None or not claim or not vm.get("mountPath"):
            good = False
            continue
        ms[vm["mountPath"].rstrip("/") or "/"] = claim
    claims.append(set(ms.values()))
    mounts.append(ms)
good = good and claims[0] and claims[0] == claims[1]
point(bool(good), "volumes: every mount names a declared volume, a PersistentVolumeClaim, "
      "the same in both Jobs (%s)" % ", ".join(sorted(claims[0])))

def run_env(c, ms, extra):
    """The container's environment here: its env, with paths under a
    mount moved to the claim's directory in work, and extra."""
    env = dict(os.environ)
    declared = dict(extra)
    for e in c.get("env") or []:
        v = k8s_expand(str(e.get("value", "")), declared)
        for mp, claim in ms.items():
            if v == mp or v.startswith(mp + "/"):
                v = os.path.join(work, "claim-" + claim) + v[len(mp):]
        declared[e.get("name")] = v
    env.update(declared)
    return env, declared

# The shard Job's pods, index 0..N-1, then the merge Job's pod.
os.makedirs(os.path.join(work, "cwd"))
for claim in claims[0]:
    os.makedirs(os.path.join(work, "claim-" + claim))
_, declared = run_env(conts[0], mounts[0], {"JOB_COMPLETION_INDEX": "0"})
cap = declared.get("CAPTURE", "")
if cap.startswith(work + "/"):
    os.makedirs(os.path.dirname(cap), exist_ok=True)
    os.symlink(capture, cap)
failed, errs = 0, []
for i in range(count or 0):
    env, declared = run_env(conts[0], mounts[0], {"JOB_COMPLETION_INDEX": str(i)})
    a = [k8s_expand(x, declared) for x in argv(conts[0])]
    r = subprocess.run(a, env=env, cwd=os.path.join(work, "cwd"), stdin=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        failed += 1
        errs.append(r.stderr.decode(errors="replace"))
want = ["shard-%d.ndjson" % k for k in range(1, (count or 0) + 1)]
have = []
for claim in claims[0]:
    for root, _, files in os.walk(os.path.join(work, "claim-" + claim)):
        have += [f for f in files if re.match(r"shard-\d+\.ndjson$", f)]
point(cap.startswith(work + "/") and count and failed == 0 and sorted(have) == sorted(want),
      "%s: the pods of index 0..%d run here (CAPTURE on the claim), %d shard files on the "
      "claim (%d failed)" % (names[0], (count or 0) - 1, len(have), failed))

before = set()
for root, _, files in os.walk(work):
    before |= {os.path.join(root, f) for f in files}
env, declared = run_env(conts[1], mounts[1], {})
a = [k8s_expand(x, declared) for x in argv(conts[1])]
r = subprocess.run(a, env=env, cwd=os.path.join(work, "cwd"), stdin=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=300)
after = set()
for root, _, files in os.walk(work):
    after |= {os.path.join(root, f) for f in files}
new = sorted(after - before)
same = False
if r.returncode == 0 and len(new) == 1:
    with open(new[0], "rb") as f, open(want_path, "rb") as g:
        unnamed = lambda b: re.sub(rb'"source":"[^"]*"', b'"source":""', b)
        same = unnamed(f.read()) == g.read()
else:
    errs.append(r.stderr.decode(errors="replace"))
point(same, "%s: its pod runs here, its output on the claim (%s) = the unsharded run's "
      "NDJSON" % (names[1], ", ".join(os.path.basename(f) for f in new)))
for e in errs:
    for line in e.splitlines()[:3]:
        print("# " + line)
EOF
st=$?
while read -r s d; do
    case $s in
    '#') echo "# $d" ;;
    *) ok "$s" "$d" ;;
    esac
done <"$tmp/k8s.out"
[ "$st" -eq 0 ] || ok 1 "k8s-indexed-job.yaml's checks ended early: $(tail -1 "$tmp/k8s.err")"

tl_done
