"""The mesh config files embedded in the generated ConfigMaps are parsed by the programs' own
parsers (a misspelt field fails), and what they name agrees with the manifests: listener
ports, mounted files, the etcd and control plane Services, and the mesh resources."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from google.protobuf import json_format

from control_plane.validate import World, validate_object
from demo.resources import descriptor_set
from demo.v1 import registry_pb2
from mesh.resources import from_dict
from mesh.v1 import control_plane_config_pb2
from sidecar.errors import ConfigError
from sidecar.settings import parse_config, to_settings
from tests.unit.deploy.conftest import AGENCY
from tests.unit.deploy.manifests import (
    container, container_port, flag, mounted_file, namespace_of, one, pod_spec,
)

SIDECAR_CONTAINER = "tsunagi-sidecar"
CLUSTER_DOMAIN = "cluster.local"
Object = dict[str, Any]


def config_text(objects: list[Object], workload: Object, container_name: str) -> tuple[str, str]:
    """(config path, file text) of the --config file a container runs with, read from the
    ConfigMap that is mounted where the path points."""
    pod = pod_spec(workload)
    target = container(pod, container_name)
    path = flag(target["args"], "config")
    assert path, f"{container_name} has no --config"
    mounted = mounted_file(target, pod, path)
    assert mounted, f"{path} is not inside a volume mount of {container_name}"
    volume, key = mounted
    assert "configMap" in volume, f"{path} must come from a ConfigMap"
    config_map = next(o for o in objects if o["kind"] == "ConfigMap"
                      and o["metadata"]["name"] == volume["configMap"]["name"])
    assert key in config_map["data"]
    return path, config_map["data"][key]


@pytest.fixture(scope="module")
def agency(rendered: dict[str, list[Object]]) -> list[Object]:
    return rendered["example-agency"]


@pytest.fixture(scope="module")
def base(rendered: dict[str, list[Object]]) -> list[Object]:
    return rendered["base"]


@pytest.fixture(scope="module")
def sidecar_doc(agency: list[Object]) -> str:
    return config_text(agency, one(agency, "Deployment", "registry"), SIDECAR_CONTAINER)[1]


@pytest.fixture(scope="module")
def control_plane_config(base: list[Object]) -> control_plane_config_pb2.ControlPlaneConfig:
    text = config_text(base, one(base, "Deployment", "tsunagi-control-plane"), "control-plane")[1]
    return json_format.ParseDict(yaml.safe_load(text), control_plane_config_pb2.ControlPlaneConfig(),
                                 ignore_unknown_fields=False)


def service_address(service: Object, port_name: str) -> str:
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == port_name)
    return f"{service['metadata']['name']}.{namespace_of(service)}.svc.{CLUSTER_DOMAIN}:{port}"


def port_of(address: str) -> int:
    return int(address.rpartition(":")[2])


def test_sidecar_config_passes_the_sidecars_own_checks(sidecar_doc: str) -> None:
    """The embedded sidecar.yaml parses strictly and passes sidecar.settings.to_settings."""
    settings = to_settings(parse_config(sidecar_doc))
    assert settings.etcd is not None and settings.inbound is not None


@pytest.mark.parametrize("misspelling", [("drainTimeout", "drainTimout"), ("spiffeId", "spiffeID")])
def test_misspelt_field_in_sidecar_config_fails(sidecar_doc: str, misspelling: tuple[str, str]) -> None:
    """The check is the real parser: an unknown field name is an error."""
    with pytest.raises(ConfigError):
        parse_config(sidecar_doc.replace(*misspelling))


def test_control_plane_config_has_every_required_field(control_plane_config: control_plane_config_pb2.ControlPlaneConfig) -> None:
    """The embedded control-plane.yaml parses strictly and sets what load_settings requires."""
    c = control_plane_config
    assert c.trust_domain and c.listen and c.admin and c.join_listen
    for pair in (c.identity, c.ca, c.signer, c.etcd):
        assert pair.cert_file and pair.key_file
    assert c.identity.bundle_file and c.etcd.ca_file and c.etcd.endpoints
    assert c.operators and all(op.role == "platform-admin" or op.org for op in c.operators)


def test_misspelt_field_in_control_plane_config_fails(base: list[Object]) -> None:
    """The control plane's parser rejects a misspelt field in the embedded file."""
    text = config_text(base, one(base, "Deployment", "tsunagi-control-plane"), "control-plane")[1]
    doc = yaml.safe_load(text.replace("joinListen", "joinListener"))
    with pytest.raises(json_format.ParseError):
        json_format.ParseDict(doc, control_plane_config_pb2.ControlPlaneConfig(), ignore_unknown_fields=False)


def test_every_file_the_sidecar_config_names_is_mounted(agency: list[Object], sidecar_doc: str) -> None:
    """Certificates, keys, bundle and state dir all lie inside the sidecar's volume mounts."""
    config = parse_config(sidecar_doc)
    deployment = one(agency, "Deployment", "registry")
    pod = pod_spec(deployment)
    sidecar = container(pod, SIDECAR_CONTAINER)
    paths = [config.identity.cert_file, config.identity.key_file, config.identity.bundle_file,
             config.etcd.cert_file, config.etcd.key_file, config.etcd.ca_file, config.state_dir + "/lkg.bin"]
    for path in paths:
        assert mounted_file(sidecar, pod, path), f"{path} is not mounted in the sidecar"
    # The identity the join flow writes must be on a writable, memory-backed volume.
    volume, _ = mounted_file(sidecar, pod, config.identity.key_file) or ({}, "")
    assert volume.get("emptyDir", {}).get("medium") == "Memory"


def test_every_file_the_control_plane_config_names_is_mounted(
    base: list[Object], control_plane_config: control_plane_config_pb2.ControlPlaneConfig,
) -> None:
    """Each certificate and key file of control-plane.yaml lies inside a mounted volume."""
    c = control_plane_config
    pod = pod_spec(one(base, "Deployment", "tsunagi-control-plane"))
    target = container(pod, "control-plane")
    for path in (c.identity.cert_file, c.identity.key_file, c.identity.bundle_file, c.ca.cert_file,
                 c.ca.key_file, c.signer.cert_file, c.signer.key_file, c.etcd.cert_file,
                 c.etcd.key_file, c.etcd.ca_file):
        assert mounted_file(target, pod, path), f"{path} is not mounted in the control plane"


def test_key_files_come_from_secrets_or_memory(base: list[Object], agency: list[Object],
                                               control_plane_config: control_plane_config_pb2.ControlPlaneConfig,
                                               sidecar_doc: str) -> None:
    """No private key is read from a ConfigMap or a disk-backed volume."""
    c = control_plane_config
    s = parse_config(sidecar_doc)
    for objects, name, cname, keys in (
        (base, "tsunagi-control-plane", "control-plane", [c.identity.key_file, c.ca.key_file, c.signer.key_file, c.etcd.key_file]),
        (agency, "registry", SIDECAR_CONTAINER, [s.identity.key_file, s.etcd.key_file]),
    ):
        pod = pod_spec(one(objects, "Deployment", name))
        for key in keys:
            volume, _ = mounted_file(container(pod, cname), pod, key) or ({}, "")
            assert "secret" in volume or volume.get("emptyDir", {}).get("medium") == "Memory", key


def test_sidecar_listener_ports_are_its_container_ports(agency: list[Object], sidecar_doc: str) -> None:
    """inbound.address listens on the port the container declares as mesh-inbound, on all
    interfaces; the app the sidecar forwards to is the app container's port on loopback."""
    config = parse_config(sidecar_doc)
    pod = pod_spec(one(agency, "Deployment", "registry"))
    sidecar = container(pod, SIDECAR_CONTAINER)
    assert config.inbound.address == f"0.0.0.0:{container_port(sidecar, 'mesh-inbound')}"
    app = container(pod, "app")
    assert config.inbound.upstream == f"127.0.0.1:{flag(app['args'], 'port')}"


def test_control_plane_listener_ports_are_its_container_ports(
    base: list[Object], control_plane_config: control_plane_config_pb2.ControlPlaneConfig,
) -> None:
    """listen is the api port and joinListen the join port of the container."""
    target = container(pod_spec(one(base, "Deployment", "tsunagi-control-plane")), "control-plane")
    assert port_of(control_plane_config.listen) == container_port(target, "api")
    assert port_of(control_plane_config.join_listen) == container_port(target, "join")


def test_admin_listeners_stay_on_loopback(control_plane_config: control_plane_config_pb2.ControlPlaneConfig,
                                          sidecar_doc: str) -> None:
    """The admin listeners are loopback-only; probes never target them."""
    assert control_plane_config.admin.startswith("127.0.0.1:")
    assert parse_config(sidecar_doc).admin.address.startswith("127.0.0.1:")


def test_etcd_endpoint_is_the_etcd_client_service(base: list[Object], sidecar_doc: str,
                                                  control_plane_config: control_plane_config_pb2.ControlPlaneConfig) -> None:
    """Both programs reach etcd through the one DNS name of the client Service, which selects
    the etcd pods on their client port."""
    service = one(base, "Service", "tsunagi-etcd-client")
    expected = service_address(service, "client")
    assert list(control_plane_config.etcd.endpoints) == [expected]
    assert list(parse_config(sidecar_doc).etcd.endpoints) == [expected]


def test_bootstrap_job_reaches_etcd_through_the_client_service(base: list[Object]) -> None:
    """The bootstrap Job's --endpoints is the etcd client Service as well."""
    job = container(pod_spec(one(base, "Job", "tsunagi-etcd-bootstrap")), "bootstrap")
    assert flag(job["args"], "endpoints") == service_address(one(base, "Service", "tsunagi-etcd-client"), "client")


def test_sidecar_reaches_the_control_plane_service(base: list[Object], sidecar_doc: str,
                                                   control_plane_config: control_plane_config_pb2.ControlPlaneConfig) -> None:
    """controlPlane.address is the control plane Service's api port, and the identity the
    sidecar pins is the control plane's own."""
    config = parse_config(sidecar_doc)
    assert config.control_plane.address == service_address(one(base, "Service", "tsunagi-control-plane"), "api")
    assert config.control_plane.identity == control_plane_config.identity.spiffe_id


def test_trust_domain_agrees_everywhere(control_plane_config: control_plane_config_pb2.ControlPlaneConfig,
                                        sidecar_doc: str) -> None:
    """Every SPIFFE ID in both configs is in the control plane's trust domain."""
    prefix = f"spiffe://{control_plane_config.trust_domain}/"
    config = parse_config(sidecar_doc)
    ids = [control_plane_config.identity.spiffe_id, config.identity.spiffe_id, config.control_plane.identity]
    ids += [op.identity for op in control_plane_config.operators]
    assert all(i.startswith(prefix) for i in ids), ids


def mesh_documents() -> list[Object]:
    docs: list[Object] = []
    for path in sorted((AGENCY / "mesh").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def test_mesh_resources_pass_control_plane_validation(control_plane_config: control_plane_config_pb2.ControlPlaneConfig) -> None:
    """The example's Organization/System/Service/Route parse strictly and validate as a whole."""
    messages = [from_dict(doc) for doc in mesh_documents()]
    world = World({(m.DESCRIPTOR.name, m.metadata.org, m.metadata.name): m for m in messages},
                  control_plane_config.trust_domain)
    problems = [(m.metadata.name, e) for m in messages for e in validate_object(m, world)]
    assert problems == []


def test_system_identity_is_the_sidecars(sidecar_doc: str) -> None:
    """The registry System's spiffeId is the identity its sidecar serves as."""
    system = next(d for d in mesh_documents() if d["kind"] == "System" and d["metadata"]["name"] == "registry")
    assert system["spec"]["spiffeId"] == parse_config(sidecar_doc).identity.spiffe_id


def test_mesh_service_endpoint_is_the_agency_service(agency: list[Object]) -> None:
    """Peers call the registry at the Kubernetes Service that fronts the sidecar's inbound port."""
    service = next(d for d in mesh_documents() if d["kind"] == "Service")
    expected = service_address(one(agency, "Service", "registry"), "mesh-inbound")
    assert [e["address"] for e in service["spec"]["endpoints"]] == [expected]


def test_mesh_service_descriptor_set_is_the_demo_proto() -> None:
    """The committed descriptorSet is what demo.resources builds from the registry proto today."""
    service = next(d for d in mesh_documents() if d["kind"] == "Service")
    assert service["spec"]["descriptorSet"] == descriptor_set(registry_pb2.DESCRIPTOR)


def test_agency_namespace_is_labelled_for_the_mesh(agency: list[Object]) -> None:
    """The agency namespace carries the label that the mesh's NetworkPolicies admit."""
    namespace = one(agency, "Namespace", "city-a")
    assert namespace["metadata"]["labels"]["tsunagi.io/mesh"] == "enabled"
    assert all(namespace_of(o) == "city-a" for o in agency if o["kind"] != "Namespace")


def test_probe_port_is_the_configs_health_listener(agency: list[Object], sidecar_doc: str, base: list[Object]) -> None:
    """The kubelet's grpc probes target the health listener each config declares."""
    def health_port(doc: Object) -> int:
        health = doc["health"]  # a Listener {address} or a plain "HOST:PORT", like admin
        return port_of(health["address"] if isinstance(health, dict) else health)

    sidecar = container(pod_spec(one(agency, "Deployment", "registry")), SIDECAR_CONTAINER)
    assert health_port(yaml.safe_load(sidecar_doc)) == container_port(sidecar, "health")
    text = config_text(base, one(base, "Deployment", "tsunagi-control-plane"), "control-plane")[1]
    control_plane = container(pod_spec(one(base, "Deployment", "tsunagi-control-plane")), "control-plane")
    assert health_port(yaml.safe_load(text)) == container_port(control_plane, "health")
