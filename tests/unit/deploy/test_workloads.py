"""The rendered objects fit together and follow the mesh's rules: Services and
NetworkPolicies select real pods on real ports; every container is hardened, sized and
probed on grpc.health.v1; etcd is a 3-member TLS cluster; rollouts drain."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sidecar.settings import parse_config
from tests.unit.deploy.manifests import (
    container, containers, flag, module_of, mounted_file, namespace_of, one, pod_labels, pod_ports, pod_spec, selects,
    workloads,
)

Object = dict[str, Any]
SIDECAR_LABEL = ("tsunagi.io/sidecar", "true")
MESH_NAMESPACE_LABEL = ("tsunagi.io/mesh", "enabled")
ETCD_REPLICAS = 3


def pods_selected(everything: list[Object], namespace: str, selector: dict[str, str]) -> list[Object]:
    return [w for w in workloads(everything) if namespace_of(w) == namespace and selects(selector, pod_labels(w))]


def namespaces_selected(everything: list[Object], selector: dict[str, Any] | None, own: str) -> list[str]:
    """Namespaces a NetworkPolicy peer's namespaceSelector admits (its own without one)."""
    if selector is None:
        return [own]
    labels = selector.get("matchLabels", {})
    result = []
    for ns in (o for o in everything if o["kind"] == "Namespace"):
        ns_labels = {**ns["metadata"].get("labels", {}), "kubernetes.io/metadata.name": ns["metadata"]["name"]}
        if selects(labels, ns_labels):
            result.append(ns["metadata"]["name"])
    return result


def test_every_service_selects_pods_with_its_target_ports(everything: list[Object]) -> None:
    """Each Service's selector matches pods in its namespace that declare every targetPort."""
    for service in (o for o in everything if o["kind"] == "Service"):
        pods = pods_selected(everything, namespace_of(service), service["spec"]["selector"])
        assert pods, f"Service {service['metadata']['name']} selects no pods"
        for workload in pods:
            ports = pod_ports(pod_spec(workload))
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                assert target in ports or target in ports.values(), (service["metadata"]["name"], target)
                # One number per port across Service and container keeps configs unambiguous.
                assert ports.get(target, target) == port["port"], "Service port and container port differ"


def test_statefulset_service_is_headless_and_publishes_unready_peers(everything: list[Object]) -> None:
    """etcd's governing Service is headless and lists members before they are ready."""
    etcd = one(everything, "StatefulSet", "tsunagi-etcd")
    service = one(everything, "Service", etcd["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True


def test_network_policy_peers_and_ports_exist(everything: list[Object]) -> None:
    """Every NetworkPolicy selects pods, each peer it names exists, and each port is a port
    the receiving pods declare (ingress: the selected pods; egress: the peers)."""
    for policy in (o for o in everything if o["kind"] == "NetworkPolicy"):
        ns, spec = namespace_of(policy), policy["spec"]
        name = policy["metadata"]["name"]
        selected = pods_selected(everything, ns, spec["podSelector"].get("matchLabels", {}))
        assert selected, f"NetworkPolicy {name} selects no pods"
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction, []):
                peers: list[Object] = []
                for peer in rule.get(key, []):
                    pod_selector = (peer.get("podSelector") or {}).get("matchLabels", {})
                    namespaces = namespaces_selected(everything, peer.get("namespaceSelector"), ns)
                    assert namespaces, f"{name}: a peer's namespaceSelector matches no namespace"
                    found = [w for n in namespaces for w in pods_selected(everything, n, pod_selector)]
                    assert found, f"{name}: peer {peer} matches no pods"
                    peers += found
                receivers = selected if direction == "ingress" else peers
                for port in rule.get("ports", []):
                    if port["port"] == 53:
                        continue  # cluster DNS is not ours
                    for workload in receivers:
                        ports = pod_ports(pod_spec(workload))
                        assert port["port"] in ports or port["port"] in ports.values(), (name, port)


def test_everything_is_denied_by_default(everything: list[Object]) -> None:
    """Each namespace has a default-deny policy for ingress and egress."""
    for ns in (o["metadata"]["name"] for o in everything if o["kind"] == "Namespace"):
        deny = one([o for o in everything if namespace_of(o) == ns], "NetworkPolicy", "default-deny")
        assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


def ingress_sources(everything: list[Object], policy: Object) -> set[tuple[str, str]]:
    """(namespace, workload) of every pod a policy's ingress admits."""
    sources = set()
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            selector = (peer.get("podSelector") or {}).get("matchLabels", {})
            for ns in namespaces_selected(everything, peer.get("namespaceSelector"), namespace_of(policy)):
                sources |= {(ns, w["metadata"]["name"]) for w in pods_selected(everything, ns, selector)}
    return sources


def test_only_control_plane_bootstrap_and_sidecars_reach_etcd_clients(everything: list[Object]) -> None:
    """etcd's client port admits the control plane, the bootstrap Job and sidecar pods only."""
    policy = one(everything, "NetworkPolicy", "tsunagi-etcd")
    client_rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == "client")
    sources = ingress_sources(everything, {**policy, "spec": {"ingress": [client_rule]}})
    allowed = {("tsunagi-system", "tsunagi-control-plane"), ("tsunagi-system", "tsunagi-etcd-bootstrap")}
    sidecars = {(namespace_of(w), w["metadata"]["name"]) for w in workloads(everything)
                if pod_labels(w).get(SIDECAR_LABEL[0]) == SIDECAR_LABEL[1]}
    assert sidecars and sources == allowed | sidecars


def test_only_sidecars_reach_sidecar_inbound_ports(everything: list[Object]) -> None:
    """The agency policy admits only pods labelled as sidecars, in mesh namespaces, to the
    inbound port, and every pod that has a sidecar is covered by it."""
    policy = one(everything, "NetworkPolicy", "mesh-inbound")
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            assert peer["podSelector"]["matchLabels"] == dict([SIDECAR_LABEL])
            assert peer["namespaceSelector"]["matchLabels"] == dict([MESH_NAMESPACE_LABEL])
        assert [p["port"] for p in rule["ports"]] == ["mesh-inbound"]
    for workload in workloads(everything):
        pod = pod_spec(workload)
        if any(c["name"] == "tsunagi-sidecar" for c in containers(pod)):
            assert pod_labels(workload).get(SIDECAR_LABEL[0]) == SIDECAR_LABEL[1]


def test_every_container_is_hardened(everything: list[Object]) -> None:
    """Non-root, read-only root FS, no privilege escalation, all capabilities dropped,
    seccomp RuntimeDefault."""
    for workload in workloads(everything):
        pod = pod_spec(workload)
        pod_context = pod["securityContext"]
        assert pod_context["runAsNonRoot"] is True and pod_context["runAsUser"] != 0
        assert pod_context["seccompProfile"]["type"] == "RuntimeDefault"
        for c in containers(pod):
            context = c["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, c["name"]
            assert context["allowPrivilegeEscalation"] is False, c["name"]
            assert context["capabilities"]["drop"] == ["ALL"], c["name"]
            assert "add" not in context["capabilities"], c["name"]


def test_every_container_has_requests_and_limits(everything: list[Object]) -> None:
    """CPU and memory requests and limits on every container, limits not below requests."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}

    def quantity(value: str) -> float:
        for suffix, factor in units.items():
            if str(value).endswith(suffix):
                return float(str(value)[: -len(suffix)]) * factor
        return float(value)

    for workload in workloads(everything):
        for c in containers(pod_spec(workload)):
            resources = c["resources"]
            for resource in ("cpu", "memory"):
                request, limit = resources["requests"][resource], resources["limits"][resource]
                assert quantity(limit) >= quantity(request), (c["name"], resource)


def test_no_pod_gets_a_kubernetes_api_token(everything: list[Object]) -> None:
    """None of the programs calls the Kubernetes API: no token is mounted anywhere."""
    accounts = {(namespace_of(o), o["metadata"]["name"]) for o in everything if o["kind"] == "ServiceAccount"}
    for o in everything:
        if o["kind"] == "ServiceAccount":
            assert o["automountServiceAccountToken"] is False
    for workload in workloads(everything):
        pod = pod_spec(workload)
        assert pod["automountServiceAccountToken"] is False
        assert (namespace_of(workload), pod["serviceAccountName"]) in accounts


def test_rbac_is_least_privilege(everything: list[Object]) -> None:
    """No cluster-wide roles; every rule names its resources and uses no wildcard."""
    assert not [o for o in everything if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    for role in (o for o in everything if o["kind"] == "Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field]
            assert rule["resourceNames"], "a rule must name the objects it grants"
            assert not {"create", "delete", "deletecollection", "escalate", "bind"} & set(rule["verbs"])
    roles = {(namespace_of(o), o["metadata"]["name"]) for o in everything if o["kind"] == "Role"}
    for binding in (o for o in everything if o["kind"] == "RoleBinding"):
        assert (namespace_of(binding), binding["roleRef"]["name"]) in roles


def test_images_are_pinned(everything: list[Object]) -> None:
    """Every image has a registry, and a version tag or digest (never latest)."""
    for workload in workloads(everything):
        for c in containers(pod_spec(workload)):
            image = c["image"]
            assert "/" in image, image
            name, _, tag = image.rpartition(":")
            assert "@sha256:" in image or (tag and tag != "latest" and "/" not in tag), image


def grpc_health_probes(c: Object) -> dict[str, Object]:
    return {kind: c[kind]["grpc"] for kind in ("startupProbe", "readinessProbe", "livenessProbe") if kind in c}


def test_programs_are_probed_on_grpc_health_at_the_health_port(everything: list[Object]) -> None:
    """The sidecar and the control plane have startup, readiness and liveness probes, all
    grpc.health.v1 on their `health` port: readiness on "" and liveness on "liveness"."""
    probed = 0
    for workload in workloads(everything):
        for c in containers(pod_spec(workload)):
            if module_of(c) not in ("sidecar", "control_plane"):
                continue
            probes = grpc_health_probes(c)
            assert set(probes) == {"startupProbe", "readinessProbe", "livenessProbe"}, c["name"]
            health = next(p["containerPort"] for p in c["ports"] if p["name"] == "health")
            assert all(p["port"] == health for p in probes.values())
            assert probes["readinessProbe"].get("service", "") == ""
            assert probes["startupProbe"].get("service", "") == ""
            assert probes["livenessProbe"]["service"] == "liveness"
            probed += 1
    assert probed == 2


def test_sidecar_is_a_native_sidecar_that_gates_the_app(everything: list[Object]) -> None:
    """The sidecar is an init container with restartPolicy Always and a startupProbe, so the
    kubelet starts the app only once the sidecar is ready; the app is a regular container."""
    deployment = one(everything, "Deployment", "registry")
    pod = pod_spec(deployment)
    sidecar = next(c for c in pod["initContainers"] if c["name"] == "tsunagi-sidecar")
    assert sidecar["restartPolicy"] == "Always"
    assert "startupProbe" in sidecar and "readinessProbe" in sidecar
    assert [c["name"] for c in pod["containers"]] == ["app"]
    assert module_of(sidecar) == "sidecar"


def test_join_token_reaches_the_sidecar_from_a_secret(everything: list[Object]) -> None:
    """The sidecar config's join.tokenFile points into a mounted Secret."""
    pod = pod_spec(one(everything, "Deployment", "registry"))
    sidecar = container(pod, "tsunagi-sidecar")
    config_map = one(everything, "ConfigMap", "registry-sidecar")
    path = parse_config(config_map["data"]["sidecar.yaml"]).join.token_file
    volume, key = mounted_file(sidecar, pod, path) or ({}, "")
    assert "secret" in volume and key == "token"


def sleep_seconds(c: Object) -> int:
    return int(c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0))


def test_agency_grace_period_covers_prestop_and_sidecar_drain(everything: list[Object]) -> None:
    """terminationGracePeriodSeconds leaves room for the app's preStop sleep, a drain budget
    for the app, and then the sidecar's drainTimeout."""
    deployment = one(everything, "Deployment", "registry")
    pod = pod_spec(deployment)
    config_map = one(everything, "ConfigMap", "registry-sidecar")
    drain = parse_config(config_map["data"]["sidecar.yaml"]).drain_timeout.ToTimedelta().total_seconds()
    app_prestop = sum(sleep_seconds(c) for c in pod["containers"])
    assert app_prestop > 0, "the app must wait for endpoint removal before it stops"
    assert pod["terminationGracePeriodSeconds"] >= app_prestop + drain + 10


def test_control_plane_grace_period_covers_prestop_and_drain(everything: list[Object]) -> None:
    """The control plane's grace covers its preStop sleep and its 5 s drain."""
    pod = pod_spec(one(everything, "Deployment", "tsunagi-control-plane"))
    prestop = sleep_seconds(container(pod, "control-plane"))
    assert prestop > 0 and pod["terminationGracePeriodSeconds"] >= prestop + 5 + 5


@pytest.mark.parametrize("name", ["tsunagi-control-plane", "registry"])
def test_rolling_update_never_drops_below_desired(everything: list[Object], name: str) -> None:
    """A new pod is ready before an old one stops."""
    strategy = one(everything, "Deployment", name)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_control_plane_runs_two_replicas_spread_over_nodes(everything: list[Object]) -> None:
    """Two replicas (leader election guards once-only work), a PDB and node anti-affinity."""
    deployment = one(everything, "Deployment", "tsunagi-control-plane")
    assert deployment["spec"]["replicas"] == 2
    pdb = one(everything, "PodDisruptionBudget", "tsunagi-control-plane")
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(deployment))
    assert pod_spec(deployment)["affinity"]["podAntiAffinity"]


def etcd_args(everything: list[Object]) -> list[str]:
    return list(container(pod_spec(one(everything, "StatefulSet", "tsunagi-etcd")), "etcd")["args"])


def test_etcd_is_three_members_each_on_its_own_node_with_a_volume(everything: list[Object]) -> None:
    """3 replicas, required hostname anti-affinity, a PDB allowing one down, a PVC each."""
    etcd = one(everything, "StatefulSet", "tsunagi-etcd")
    assert etcd["spec"]["replicas"] == ETCD_REPLICAS
    assert etcd["spec"]["podManagementPolicy"] == "Parallel"
    terms = pod_spec(etcd)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert any(t["topologyKey"] == "kubernetes.io/hostname" and
               selects(t["labelSelector"]["matchLabels"], pod_labels(etcd)) for t in terms)
    pdb = one(everything, "PodDisruptionBudget", "tsunagi-etcd")
    assert pdb["spec"]["maxUnavailable"] == 1 and selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(etcd))
    claims = {t["metadata"]["name"] for t in etcd["spec"]["volumeClaimTemplates"]}
    data_dir = flag(etcd_args(everything), "data-dir") or ""
    mount = next(m for m in container(pod_spec(etcd), "etcd")["volumeMounts"] if data_dir.startswith(m["mountPath"]))
    assert mount["name"] in claims


def test_etcd_initial_cluster_names_every_member_at_its_peer_address(everything: list[Object]) -> None:
    """--initial-cluster lists exactly the StatefulSet's pods at the governing Service's names,
    on the peer port, and each member advertises the same form."""
    etcd = one(everything, "StatefulSet", "tsunagi-etcd")
    name, service = etcd["metadata"]["name"], etcd["spec"]["serviceName"]
    peer_port = next(p["containerPort"] for p in container(pod_spec(etcd), "etcd")["ports"] if p["name"] == "peer")
    args = etcd_args(everything)
    members = dict(m.split("=", 1) for m in (flag(args, "initial-cluster") or "").split(","))
    expected = {f"{name}-{i}": f"https://{name}-{i}.{service}.$(POD_NAMESPACE).svc.cluster.local:{peer_port}"
                for i in range(ETCD_REPLICAS)}
    assert members == expected
    assert flag(args, "initial-advertise-peer-urls") == \
        f"https://$(POD_NAME).{service}.$(POD_NAMESPACE).svc.cluster.local:{peer_port}"
    assert flag(args, "name") == "$(POD_NAME)"


def test_etcd_speaks_mutual_tls_with_auth_from_the_certificate(everything: list[Object]) -> None:
    """Client and peer URLs are https, client certificates are required on both and give the
    etcd user, only the peer CN may join, and a whole apply fits in one transaction."""
    args = etcd_args(everything)
    for url_flag in ("listen-client-urls", "advertise-client-urls", "listen-peer-urls", "initial-advertise-peer-urls"):
        assert all(u.startswith("https://") for u in (flag(args, url_flag) or "").split(","))
    assert flag(args, "client-cert-auth") == "" and flag(args, "peer-client-cert-auth") == ""
    assert flag(args, "peer-cert-allowed-cn") == "tsunagi-etcd-peer"
    assert flag(args, "max-txn-ops") == "1024"
    for file_flag in ("trusted-ca-file", "cert-file", "key-file", "peer-trusted-ca-file", "peer-cert-file", "peer-key-file"):
        assert (flag(args, file_flag) or "").startswith("/etc/etcd/tls/")


def test_etcd_probes_use_the_metrics_listener(everything: list[Object]) -> None:
    """Probes hit /health on the plain-HTTP metrics port, which etcd is told to serve."""
    etcd = container(pod_spec(one(everything, "StatefulSet", "tsunagi-etcd")), "etcd")
    metrics = next(p["containerPort"] for p in etcd["ports"] if p["name"] == "metrics")
    assert flag(list(etcd["args"]), "listen-metrics-urls") == f"http://0.0.0.0:{metrics}"
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert etcd[kind]["httpGet"]["path"].startswith("/health")
        assert etcd[kind]["httpGet"]["port"] == "metrics"


def test_pod_security_restricted_is_enforced_on_every_namespace(everything: list[Object]) -> None:
    """Each namespace enforces the restricted Pod Security Standard."""
    for ns in (o for o in everything if o["kind"] == "Namespace"):
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_generated_config_files_are_yaml_mappings(everything: list[Object]) -> None:
    """Each generated ConfigMap holds YAML mappings (what --config expects)."""
    for config_map in (o for o in everything if o["kind"] == "ConfigMap"):
        for text in config_map["data"].values():
            assert isinstance(yaml.safe_load(text), dict)
