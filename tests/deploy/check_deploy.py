#!/usr/bin/env python3
"""Checks deploy/'s files against the cursord binary they deploy.

    check_deploy.py --cursord build/server/cursord --source .

No container runtime and no cluster is needed: every file is parsed
(python3-yaml) and each rule below is checked against what `cursord --help`
says (flag names, their CURSORD_* variables, defaults) or against the other
files (deploy/nginx/cursord.conf, the Dockerfile's user, the package's
paths). Every broken rule is printed; the exit status is the number of them
(capped at 1).
"""

import argparse
import os
import re
import subprocess
import sys

import yaml

failures = []


def check(ok, what):
    """Records `what` as broken unless `ok`."""
    if not ok:
        failures.append(what)
    return ok


# --- What cursord says about itself ------------------------------------------


class Cursord:
    """The flags of a cursord binary, read from its --help."""

    def __init__(self, binary):
        out = subprocess.run([binary, "--help"], check=True, capture_output=True,
                             text=True, timeout=10).stdout
        self.help = out
        self.flags = {}     # "--listen" -> "CURSORD_LISTEN" (None: no env var)
        self.defaults = {}  # "--listen" -> "0.0.0.0:8080"
        # CLI11 2.1: "  --threads INT:INT in [0 - 256]=0 (Env:CURSORD_THREADS)",
        # the description on the next line.
        for line in out.splitlines():
            m = re.match(r"\s+(?:-\w,)?(--[a-z0-9-]+)\b(.*)", line)
            if not m:
                continue
            flag, rest = m.group(1), m.group(2)
            env = re.search(r"\(Env:(\w+)\)", rest)
            self.flags[flag] = env.group(1) if env else None
            default = re.search(r"=(\S+) \(Env:", rest)
            if default:
                self.defaults[flag] = default.group(1)
        for flag in ("--help", "--version"):
            self.flags.pop(flag, None)
        self.envs = {env: flag for flag, env in self.flags.items() if env}

    def port(self, flag):
        return int(self.defaults[flag].rsplit(":", 1)[1])


def parse_duration(text):
    """Seconds in an absl duration ("3s", "500ms", "1m30s") or k8s-style "30s"."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
    if text in ("0", ""):
        return 0.0
    parts = re.findall(r"([0-9.]+)(ms|us|ns|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError("not a duration: %r" % text)
    return sum(float(n) * units[u] for n, u in parts)


# Flags whose durations add up to how long a SIGTERM takes to end cursord:
# the drain's wait and window (when this cursord has them) and the grace for
# the last close handshakes.
STOP_FLAGS = ("--drain-delay", "--drain-spread", "--shutdown-grace")


def stop_seconds(cursord, env):
    """How long cursord may take to exit after SIGTERM with `env` set."""
    total = 0.0
    for flag in STOP_FLAGS:
        if flag not in cursord.flags:
            continue
        value = env.get(cursord.flags[flag], cursord.defaults.get(flag, "0"))
        total += parse_duration(str(value))
    return total


def check_env_names(cursord, names, where):
    for name in names:
        if name.startswith("CURSORD_"):
            check(name in cursord.envs, "%s: %s is not a cursord flag's variable "
                  "(cursord --help lists none)" % (where, name))


# --- The Debian package's files ----------------------------------------------


def check_env_file(cursord, path):
    """Every flag has its line in /etc/default/cursord, and nothing else does."""
    where = os.path.relpath(path)
    seen = {}
    for line in open(path):
        m = re.match(r"#?(CURSORD_\w+)=(.*)$", line.strip())
        if m:
            seen[m.group(1)] = m.group(2)
    check_env_names(cursord, seen, where)
    for flag, env in sorted(cursord.flags.items()):
        if not check(env is not None, "cursord %s has no CURSORD_* variable" % flag):
            continue
        check(env in seen, "%s: no line for %s (%s); add '#%s=%s'"
              % (where, env, flag, env, cursord.defaults.get(flag, "")))
    # A commented line shows the default, where --help shows one.
    for env, value in seen.items():
        flag = cursord.envs.get(env)
        if flag in cursord.defaults and value and cursord.defaults[flag]:
            check(value == cursord.defaults[flag],
                  "%s: #%s=%s but the default is %s"
                  % (where, env, value, cursord.defaults[flag]))


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def check_unit(cursord, path, postinst):
    where = os.path.relpath(path)
    unit = unit_settings(path)
    required = {
        "ExecStart": "/usr/bin/cursord",
        "EnvironmentFile": "-/etc/default/cursord",
        "User": "cursord",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "RestrictNamespaces": "yes",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "SystemCallArchitectures": "native",
    }
    for key, value in required.items():
        check(unit.get(key) == [value], "%s: %s=%s expected, not %s"
              % (where, key, value, unit.get(key)))
    check(int(unit.get("LimitNOFILE", ["0"])[0]) >= 65536,
          "%s: LimitNOFILE of at least 65536 expected" % where)
    check(parse_duration(unit.get("TimeoutStopSec", ["0"])[0]) > stop_seconds(cursord, {}),
          "%s: TimeoutStopSec must exceed cursord's drain and shutdown grace (%gs)"
          % (where, stop_seconds(cursord, {})))
    script = re.sub(r"\\\n\s*", " ", open(postinst).read())
    check(re.search(r"adduser .*--system.* cursord$", script, re.M),
          "%s: the postinst does not create the system user cursord" % where)


# --- The container image -----------------------------------------------------


def check_dockerfile(cursord, path, source):
    where = os.path.relpath(path)
    text = re.sub(r"\\\n", " ", open(path).read())
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    froms = [l.split()[1] for l in lines if l.upper().startswith("FROM ")]
    check(len(froms) >= 2, "%s: a multi-stage build expected" % where)
    for image in froms:
        check(re.match(r"debian:bookworm(-slim)?$", image),
              "%s: FROM %s: Debian bookworm expected" % (where, image))
    last = max(i for i, l in enumerate(lines) if l.upper().startswith("FROM "))
    final = lines[last:]
    users = [l.split()[1] for l in final if l.upper().startswith("USER ")]
    uid = None
    if check(users, "%s: the final stage sets no USER" % where):
        uid = users[-1].split(":")[0]
        check(uid.isdigit() and int(uid) != 0,
              "%s: USER %s: a numeric, non-root user expected (runAsNonRoot checks it)"
              % (where, users[-1]))
    listen_port = cursord.port("--listen")
    health = [l for l in final if l.upper().startswith("HEALTHCHECK ")]
    if check(health, "%s: no HEALTHCHECK" % where):
        check("http://127.0.0.1:%d/healthz" % listen_port in health[0],
              "%s: HEALTHCHECK must ask /healthz on cursord's default port %d"
              % (where, listen_port))
    check("EXPOSE %d" % listen_port in final, "%s: EXPOSE %d expected" % (where, listen_port))
    check(any(l.startswith("ENTRYPOINT") and "/usr/bin/cursord" in l for l in final),
          "%s: ENTRYPOINT /usr/bin/cursord (the package's path) expected" % where)
    # What the build stage copies exists (the context is the repository root).
    for l in lines:
        if l.upper().startswith("COPY ") and "--from" not in l:
            for src in l.split()[1:-1]:
                check(os.path.exists(os.path.join(source, src)),
                      "%s: COPY %s: no such path in the repository" % (where, src))
    return uid


# --- docker-compose.yml ------------------------------------------------------


def env_of(service):
    env = service.get("environment", {}) or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def check_compose(cursord, path, nginx_conf):
    where = os.path.relpath(path)
    compose = yaml.safe_load(open(path))
    services = compose.get("services", {})
    base = os.path.dirname(path)
    cursords = {name: s for name, s in services.items()
                if isinstance(s.get("build"), dict)
                and s["build"].get("dockerfile") == "deploy/Dockerfile"}
    check(len(cursords) >= 2, "%s: two cursord services built from deploy/Dockerfile "
          "expected, found %s" % (where, sorted(cursords)))
    redis = [n for n, s in services.items() if str(s.get("image", "")).startswith("redis:")]
    check(len(redis) == 1, "%s: one redis service expected" % where)
    ids = set()
    for name, s in cursords.items():
        env = env_of(s)
        check_env_names(cursord, env, "%s: %s" % (where, name))
        m = re.match(r"redis://([^:/]+)(?::(\d+))?", env.get("CURSORD_REDIS", ""))
        check(m and m.group(1) in redis,
              "%s: %s: CURSORD_REDIS must name the redis service" % (where, name))
        ids.add(env.get("CURSORD_INSTANCE_ID", name))
        check(parse_duration(s.get("stop_grace_period", "10s")) > stop_seconds(cursord, env),
              "%s: %s: stop_grace_period must exceed cursord's drain and grace (%gs)"
              % (where, name, stop_seconds(cursord, env)))
        check(s.get("read_only") is True and s.get("cap_drop") == ["ALL"],
              "%s: %s: read_only and cap_drop [ALL] expected" % (where, name))
        depends = s.get("depends_on", {})
        check(all(r in depends for r in redis), "%s: %s must depend on redis" % (where, name))
    check(len(ids) == len(cursords), "%s: instance ids must differ" % where)

    nginx = [s for s in services.values() if str(s.get("image", "")).startswith("nginx:")]
    if not check(len(nginx) == 1, "%s: one nginx service expected" % where):
        return
    nginx = nginx[0]
    volumes = nginx.get("volumes", [])
    check(any(os.path.normpath(os.path.join(base, v.split(":")[0])) == nginx_conf
              for v in volumes),
          "%s: nginx must mount deploy/nginx/cursord.conf" % where)
    check(any(str(p).endswith(":443") for p in nginx.get("ports", [])),
          "%s: nginx must publish 443 (wss://)" % where)
    # The command rewrites lines of cursord.conf: each pattern must still
    # match one, or nginx would run with the example upstream and paths.
    command = " ".join(nginx.get("command", []))
    conf = open(nginx_conf).read().splitlines()
    seds = re.findall(r"-e '(s\|[^']*)'", command)
    check(len(seds) >= 2, "%s: nginx's command must substitute the upstream and "
          "certificate lines of cursord.conf" % where)
    for expr in seds:
        pattern, replacement = expr.split("|")[1:3]
        regex = re.compile(pattern.replace("$$", "$"))
        check(any(regex.search(line) for line in conf),
              "%s: nginx's sed pattern %r matches no line of %s"
              % (where, pattern, os.path.relpath(nginx_conf)))
        for host, port in re.findall(r"server ([\w.-]+):(\d+);", replacement):
            check(host in cursords, "%s: upstream %s is not a cursord service" % (where, host))
            check(int(port) == cursord.port("--listen"),
                  "%s: upstream port %s is not cursord's %d"
                  % (where, port, cursord.port("--listen")))
    # cursord trusts nginx's X-Forwarded-For from nginx's address only.
    address = nginx.get("networks", {}).get("cursord", {}).get("ipv4_address")
    for name, s in cursords.items():
        check(address and address in env_of(s).get("CURSORD_TRUSTED_PROXIES", "").split(","),
              "%s: %s must trust nginx's address %s" % (where, name, address))


# --- Kubernetes --------------------------------------------------------------


def check_k8s(cursord, folder, uid):
    docs = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".yaml") and name != "kustomization.yaml":
            for doc in yaml.safe_load_all(open(os.path.join(folder, name))):
                if doc:
                    check(doc.get("apiVersion") and doc.get("metadata", {}).get("name"),
                          "%s: apiVersion and metadata.name expected" % name)
                    docs.setdefault(doc["kind"], []).append((name, doc))
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "Secret"):
        check(len(docs.get(kind, [])) == 1, "deploy/k8s: one %s expected" % kind)
    for kind in ("StatefulSet", "DaemonSet", "Pod"):
        check(kind not in docs, "deploy/k8s: a %s; Redis is the operator's, not ours" % kind)
    if failures:
        return
    dep = docs["Deployment"][0][1]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"]["labels"]
    check(spec["selector"]["matchLabels"].items() <= labels.items(),
          "deployment: selector does not match the pod labels")
    containers = pod["containers"]
    check(len(containers) == 1, "deployment: one container expected")
    c = containers[0]
    check(c.get("image"), "deployment: no image")
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    listen_port = cursord.port("--listen")
    check(listen_port in ports.values(),
          "deployment: containerPort %d (cursord's --listen) expected" % listen_port)

    def probe_port(probe):
        port = probe["httpGet"]["port"]
        return ports.get(port) if isinstance(port, str) else port

    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        p = c.get(probe)
        if check(p and "httpGet" in p, "deployment: %s.httpGet expected" % probe):
            check(p["httpGet"]["path"] == path,
                  "deployment: %s must ask %s, not %s" % (probe, path, p["httpGet"]["path"]))
            check(probe_port(p) == listen_port,
                  "deployment: %s's port must be cursord's %d" % (probe, listen_port))

    env = {}
    secret_refs = []
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            secret_refs.append((e["name"], ref))
    check_env_names(cursord, [e["name"] for e in c.get("env", [])], "deployment")
    m = re.match(r"redis://([a-z0-9.-]+)(?::(\d+))?(/\d+)?$", env.get("CURSORD_REDIS", ""))
    check(m and not re.match(r"^[0-9.]+$|^localhost$", m.group(1)),
          "deployment: CURSORD_REDIS must name Redis' Service (redis://NAME:6379)")

    secret_name, secret = docs["Secret"][0]
    data = dict(secret.get("stringData", {}), **secret.get("data", {}))
    for key in ("CURSORD_JOIN_SECRET", "CURSORD_CONTROL_TOKEN"):
        check(key in data, "%s: no %s" % (secret_name, key))
        check((key, {"name": secret["metadata"]["name"], "key": key}) in secret_refs,
              "deployment: %s must come from the Secret's key %s" % (key, key))
    # The placeholder must be refused by cursord (under 32 bytes), so that
    # an unedited secret.yaml stops cursord instead of running with it.
    check(len(str(data.get("CURSORD_JOIN_SECRET", ""))) < 32,
          "%s: the placeholder join secret must be too short to be accepted" % secret_name)

    # SIGTERM comes after preStop; both fit in the grace period.
    pre_stop = c.get("lifecycle", {}).get("preStop", {})
    sleep = 0.0
    if "exec" in pre_stop:
        cmd = pre_stop["exec"]["command"]
        check(cmd[0] == "sleep" and cmd[1].isdigit(), "deployment: preStop: sleep N expected")
        sleep = float(cmd[1])
    elif "sleep" in pre_stop:
        sleep = float(pre_stop["sleep"]["seconds"])
    check(sleep > 0, "deployment: a preStop that waits for the endpoints to update expected")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    need = sleep + stop_seconds(cursord, env)
    check(grace > need, "deployment: terminationGracePeriodSeconds %s must exceed preStop "
          "plus cursord's drain and grace (%gs)" % (grace, need))

    sc = pod.get("securityContext", {})
    check(sc.get("runAsNonRoot") is True, "deployment: runAsNonRoot expected")
    check(uid is None or str(sc.get("runAsUser")) == uid,
          "deployment: runAsUser %s is not the image's user %s" % (sc.get("runAsUser"), uid))
    csc = c.get("securityContext", {})
    check(csc.get("allowPrivilegeEscalation") is False
          and csc.get("readOnlyRootFilesystem") is True
          and csc.get("capabilities", {}).get("drop") == ["ALL"],
          "deployment: no privilege escalation, a read-only root and no capabilities expected")

    svc = docs["Service"][0][1]["spec"]
    check(svc["selector"].items() <= labels.items(), "service: selector matches no pod")
    for p in svc["ports"]:
        target = p.get("targetPort", p["port"])
        check((ports.get(target) if isinstance(target, str) else target) == listen_port,
              "service: targetPort %s is not cursord's port" % target)
    pdb = docs["PodDisruptionBudget"][0][1]["spec"]
    check(pdb["selector"]["matchLabels"].items() <= labels.items(),
          "pdb: selector matches no pod")
    check(pdb.get("maxUnavailable") == 1 or
          (isinstance(pdb.get("minAvailable"), int) and pdb["minAvailable"] < spec["replicas"]),
          "pdb: must let one pod go at a time, and not block every drain")

    kustomization = yaml.safe_load(open(os.path.join(folder, "kustomization.yaml")))
    for r in kustomization["resources"]:
        check(os.path.exists(os.path.join(folder, r)), "kustomization: no %s" % r)
    check(secret_name not in kustomization["resources"],
          "kustomization: must not apply the placeholder Secret")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cursord", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    source = os.path.abspath(args.source)
    cursord_binary = os.path.abspath(args.cursord)
    os.chdir(source)  # messages name files as deploy/...
    deploy = os.path.join(source, "deploy")
    cursord = Cursord(cursord_binary)
    check(len(cursord.flags) > 20 and "--listen" in cursord.defaults,
          "could not read cursord's flags from --help")
    for flag in cursord.flags:
        check(cursord.flags[flag] == "CURSORD_" + flag[2:].upper().replace("-", "_"),
              "cursord %s: its variable is %s, not CURSORD_<FLAG>"
              % (flag, cursord.flags[flag]))
    # The paths the probes ask are ones cursord serves.
    binary = open(cursord_binary, "rb").read()
    for path in (b"/healthz", b"/readyz"):
        check(path in binary, "cursord does not serve %s (not in the binary)" % path.decode())

    check_env_file(cursord, os.path.join(deploy, "debian", "cursord.default"))
    check_unit(cursord, os.path.join(deploy, "debian", "cursord.service"),
               os.path.join(deploy, "debian", "postinst"))
    uid = check_dockerfile(cursord, os.path.join(deploy, "Dockerfile"), source)
    check_compose(cursord, os.path.join(deploy, "docker-compose.yml"),
                  os.path.join(deploy, "nginx", "cursord.conf"))
    check_k8s(cursord, os.path.join(deploy, "k8s"), uid)

    for f in failures:
        print("FAIL: " + f)
    print("%d rule(s) broken" % len(failures) if failures else "deploy/ agrees with cursord")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
