#!/bin/bash
# deploy/: the Kubernetes manifests and docker-compose.yml parse as YAML and
# say what the operator's guide promises (probes, limits, GPU, grace periods
# longer than the drain deadline); every command line they, the Dockerfiles
# and the systemd unit give wildfeed loads with `config --print`; the unit
# passes `systemd-analyze verify`. Needs python3 with PyYAML (Debian:
# python3-yaml) and systemd-analyze (Debian: systemd); each part is skipped,
# and said so, when its tool is absent. No Docker engine is used.
set -u
source "$(dirname "$0")/lib.bash"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

drain_ms=$("$WF_BIN" config --print -c "$WF_SOURCE/deploy/config/message-events.json" |
    sed -n 's/^ *"drain_deadline_ms": \([0-9]*\),\{0,1\}$/\1/p')
check "drain deadline read from the example" test -n "$drain_ms"

# --- YAML, Dockerfiles (python3 + PyYAML) ---
if python3 -c 'import yaml' 2>/dev/null; then
    python3 - "$WF_SOURCE" "$WF_BIN" "$tmp" "${drain_ms:-0}" >"$tmp/py.out" 2>&1 <<'PY'
import glob, json, os, re, subprocess, sys
import yaml

src, wf, tmp, drain_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
passed = failed = 0

def check(what, ok):
    global passed, failed
    print(("ok - " if ok else "FAIL - ") + what)
    if ok:
        passed += 1
    else:
        failed += 1

def loads(what, args, config_file):
    """Runs wildfeed's own command line as `config --print`, with the file
    that the deployment mounts at the -c path replaced by its source."""
    if not args or args[0] != "run":
        check(what + ": runs the daemon", False)
        return
    rest = list(args[1:])
    if "-c" in rest:
        rest[rest.index("-c") + 1] = config_file
    p = subprocess.run([wf, "config", "--print"] + rest, capture_output=True, text=True)
    check(what + ": its configuration loads", p.returncode == 0 and p.stderr == "")

def load_yaml(path):
    with open(path) as f:
        return list(yaml.safe_load_all(f))

# Kubernetes
k8s = {}
for path in sorted(glob.glob(os.path.join(src, "deploy/k8s/*.yaml"))):
    name = os.path.basename(path)
    try:
        k8s[name] = load_yaml(path)
        check(name + " parses", True)
    except yaml.YAMLError as e:
        check(name + " parses (%s)" % e, False)
check("six Kubernetes files", len(k8s) == 6)
kinds = sorted(d["kind"] for docs in k8s.values() for d in docs)
check("kinds", kinds == ["ConfigMap", "Deployment", "Deployment", "NetworkPolicy",
                         "PersistentVolumeClaim", "Service", "StatefulSet"])

cm = k8s["configmap.yaml"][0]
cm_file = os.path.join(tmp, "configmap.json")
with open(cm_file, "w") as f:
    f.write(cm["data"]["wildfeed.json"])
json.load(open(cm_file))
check("ConfigMap holds JSON", True)

def wildfeed_container(doc):
    spec = doc["spec"]["template"]["spec"]
    return spec, [c for c in spec["containers"] if c["name"] == "wildfeed"][0]

workloads = {"deployment.yaml": 0, "deployment-gpu.yaml": 0, "statefulset-scale-out.yaml": 1}
for name, i in workloads.items():
    doc = k8s[name][i]
    spec, c = wildfeed_container(doc)
    check(name + ": liveness on /healthz", c["livenessProbe"]["httpGet"]["path"] == "/healthz")
    check(name + ": readiness on /readyz", c["readinessProbe"]["httpGet"]["path"] == "/readyz")
    check(name + ": requests and limits",
          {"cpu", "memory"} <= set(c["resources"]["requests"]) and
          {"cpu", "memory"} <= set(c["resources"]["limits"]))
    check(name + ": grace period over the drain deadline",
          spec["terminationGracePeriodSeconds"] * 1000 > drain_ms)
    check(name + ": non-root", spec["securityContext"]["runAsNonRoot"] is True and
          spec["securityContext"]["runAsUser"] == 10001)
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    check(name + ": state volume", mounts.get("/var/lib/wildfeed") == "state")
    vols = {v["name"]: v for v in spec["volumes"]}
    token = [a for a in c["args"] if a.startswith("server.admin_token_file=")]
    secret_dir = [p for p, n in mounts.items() if n == "admin-token"]
    check(name + ": admin token file from the Secret",
          len(token) == 1 and len(secret_dir) == 1 and
          token[0] == "server.admin_token_file=" + secret_dir[0] + "/admin-token" and
          vols["admin-token"]["secret"]["secretName"] == "wildfeed-admin")
    check(name + ": config from the ConfigMap",
          vols["config"]["configMap"]["name"] == cm["metadata"]["name"])
    loads(name, c["args"], cm_file)
dep_spec, _ = wildfeed_container(k8s["deployment.yaml"][0])
check("deployment.yaml: the store is the PVC",
      {v["name"]: v for v in dep_spec["volumes"]}["state"]["persistentVolumeClaim"]["claimName"]
      == k8s["pvc.yaml"][0]["metadata"]["name"])
check("deployment.yaml: a chat container beside wildfeed",
      [c["name"] for c in dep_spec["containers"]] == ["chat", "wildfeed"])
gpu_spec, gpu = wildfeed_container(k8s["deployment-gpu.yaml"][0])
check("GPU variant: one nvidia.com/gpu", gpu["resources"]["limits"].get("nvidia.com/gpu") == 1)
check("GPU variant: node selector", bool(gpu_spec.get("nodeSelector")))
check("GPU variant: CUDA image", gpu["image"].endswith("-cuda"))
sts = k8s["statefulset-scale-out.yaml"][1]
check("scale-out: one store per replica",
      [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["state"])

# docker-compose.yml
compose = load_yaml(os.path.join(src, "deploy/docker-compose.yml"))[0]
check("compose parses", True)
svc = compose["services"]
check("compose services", sorted(svc) == ["kafka", "producer", "topics", "wildfeed"])
check("compose: official Kafka image", svc["kafka"]["image"].startswith("apache/kafka:"))
check("compose: KRaft combined node",
      svc["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller")
cid = str(svc["kafka"]["environment"]["CLUSTER_ID"])
check("compose: cluster id is a base64url UUID", re.fullmatch(r"[A-Za-z0-9_-]{22}", cid) is not None)
check("compose: one-shot producer", svc["producer"]["restart"] == "no" and
      svc["producer"]["depends_on"]["topics"]["condition"] == "service_completed_successfully")
grace = svc["wildfeed"]["stop_grace_period"]
check("compose: stop grace over the drain deadline",
      re.fullmatch(r"\d+s", grace) is not None and int(grace[:-1]) * 1000 > drain_ms)
mount = [v for v in svc["wildfeed"]["volumes"] if v.endswith(":/etc/wildfeed/wildfeed.json:ro")]
check("compose: mounts an example configuration", len(mount) == 1)
if mount:
    loads("compose wildfeed", svc["wildfeed"]["command"],
          os.path.normpath(os.path.join(src, "deploy", mount[0].split(":")[0])))

# Dockerfiles: the CMD is JSON (exec form), and runs with the mounted file.
for name in ["Dockerfile", "Dockerfile.cuda"]:
    text = open(os.path.join(src, "deploy", name)).read().replace("\\\n", " ")
    cmd = re.findall(r"^CMD (\[.*\])\s*$", text, re.M)
    check(name + ": one exec-form CMD", len(cmd) == 1)
    if cmd:
        loads(name, json.loads(cmd[0]), os.path.join(src, "deploy/config/message-events.json"))
    check(name + ": non-root USER", re.search(r"^USER 10001:10001$", text, re.M) is not None)
    check(name + ": HEALTHCHECK on /healthz",
          re.search(r"^HEALTHCHECK .*/healthz", text, re.M) is not None)
    check(name + ": volume", re.search(r'^VOLUME \["/var/lib/wildfeed"\]$', text, re.M) is not None)
    check(name + ": two stages", len(re.findall(r"^FROM ", text, re.M)) == 2)
print("py: %d %d" % (passed, failed))
PY
    grep -v '^py: ' "$tmp/py.out"
    counts=$(sed -n 's/^py: \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$tmp/py.out")
    if [ -z "$counts" ]; then
        echo "FAIL - the YAML checks did not finish"
        fails=$((fails + 1))
    else
        pass=$((pass + ${counts% *}))
        fails=$((fails + ${counts#* }))
    fi
else
    echo "skipped: python3 with PyYAML not installed (Debian: python3-yaml)"
    skipped=$((skipped + 1))
fi

# --- the systemd unit ---
unit="$WF_SOURCE/deploy/wildfeed.service"
# The unit's directives, one per line, continuation lines joined.
directive() { sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | sed -n "s/^$1=//p"; }
check "unit: Type=simple" test "$(directive Type)" = simple
check "unit: reload sends SIGHUP" test "$(directive ExecReload)" = '/bin/kill -HUP $MAINPID'
check "unit: stops with SIGTERM" test "$(directive KillSignal)" = SIGTERM
stop=$(directive TimeoutStopSec)
check "unit: TimeoutStopSec over the drain deadline" \
    test "${stop%s}" -gt "$((${drain_ms:-0} / 1000))"
check "unit: ProtectSystem=strict" test "$(directive ProtectSystem)" = strict
check "unit: NoNewPrivileges" test "$(directive NoNewPrivileges)" = yes
check "unit: state directory" test "$(directive StateDirectory)" = wildfeed
check "unit: dedicated user" test "$(directive DynamicUser)" = yes -a "$(directive User)" = wildfeed
# ExecStart with the unit's directories filled in loads as a configuration.
read -r -a exec <<<"$(directive ExecStart | sed -e 's|\${STATE_DIRECTORY}|/var/lib/wildfeed|g' \
    -e 's|\${CREDENTIALS_DIRECTORY}|/run/credentials/wildfeed.service|g')"
check "unit: ExecStart runs the daemon" test "${exec[0]}" = /usr/local/bin/wildfeed -a "${exec[1]}" = run
quiet() { "$@" >/dev/null; }
check "unit: ExecStart's configuration loads" \
    quiet "$WF_BIN" config --print -c "$WF_SOURCE/deploy/config/message-events.json" "${exec[@]:4}"
if command -v systemd-analyze >/dev/null 2>&1; then
    # verify checks that the binary exists: point ExecStart at the built one.
    sed "s|^ExecStart=/usr/local/bin/wildfeed |ExecStart=$WF_BIN |" "$unit" >"$tmp/wildfeed.service"
    systemd-analyze verify "$tmp/wildfeed.service" >"$tmp/verify" 2>&1
    status=$?
    cat "$tmp/verify"
    # It exits 0 on unknown keys and bad values, which it only prints.
    check "systemd-analyze verify: no complaint" test "$status" -eq 0 -a ! -s "$tmp/verify"
else
    echo "skipped: systemd-analyze not installed (Debian: systemd)"
    skipped=$((skipped + 1))
fi

cli_finish
