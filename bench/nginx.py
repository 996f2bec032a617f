"""The nginx pair: A takes h2c and grpc_passes over mTLS to B, which checks the client
certificate and grpc_passes h2c to the upstream. One config file per instance."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from bench.identities import Pki

NGINX = "/usr/sbin/nginx"
# nginx closes an HTTP/2 connection after keepalive_requests requests (default 1000); the
# benchmark must measure forwarding, not reconnects.
_MANY_REQUESTS = 10_000_000

_MAIN = """\
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests {many};
    keepalive_timeout 600s;
    upstream next_hop {{
        server {upstream};
        keepalive 64;
        keepalive_requests {many};
        keepalive_timeout 600s;
    }}
    server {{
{server}
    }}
}}
"""

# A: the consumer side. Plain h2c in; out, it presents the consumer certificate and accepts
# only a B that chains to the bundle and carries the provider's pinned DNS name.
_FRONT = """\
        listen {listen} http2;
        location / {{
            grpc_pass grpcs://next_hop;
            grpc_socket_keepalive on;
            grpc_ssl_protocols TLSv1.2 TLSv1.3;
            grpc_ssl_certificate {cert};
            grpc_ssl_certificate_key {key};
            grpc_ssl_trusted_certificate {bundle};
            grpc_ssl_verify on;
            grpc_ssl_verify_depth 3;
            grpc_ssl_name {server_name};
            grpc_ssl_server_name on;
            grpc_ssl_session_reuse on;
        }}"""

# B: the provider side. mTLS in with a client certificate required; h2c to the upstream.
_BACK = """\
        listen {listen} ssl http2;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_client_certificate {bundle};
        ssl_verify_client on;
        ssl_verify_depth 3;
        location / {{
            grpc_pass grpc://next_hop;
            grpc_socket_keepalive on;
        }}"""


def front_config(directory: Path, listen: str, upstream: str, pki: Pki) -> str:
    """nginx.conf for A: h2c on `listen`, mTLS to B at `upstream`."""
    server = _FRONT.format(
        listen=listen,
        cert=pki.consumer.cert,
        key=pki.consumer.key,
        bundle=pki.bundle,
        server_name=pki.provider.server_name,
    )
    return _MAIN.format(dir=directory, upstream=upstream, many=_MANY_REQUESTS, server=server)


def back_config(directory: Path, listen: str, upstream: str, pki: Pki) -> str:
    """nginx.conf for B: mTLS on `listen`, h2c to the app at `upstream`."""
    server = _BACK.format(
        listen=listen, cert=pki.provider.cert, key=pki.provider.key, bundle=pki.bundle
    )
    return _MAIN.format(dir=directory, upstream=upstream, many=_MANY_REQUESTS, server=server)


def write_instance(directory: Path, config: str) -> list[str]:
    """Write `config` as `directory`/nginx.conf; return the argv that runs it in the foreground."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "nginx.conf"
    conf.write_text(config)
    return [
        NGINX,
        "-p",
        str(directory),
        "-c",
        str(conf),
        "-e",
        str(directory / "error.log"),
        "-g",
        "daemon off;",
    ]


def nginx_problems() -> list[str]:
    """Why nginx cannot run this benchmark (missing binary or modules); empty when it can."""
    if shutil.which(NGINX) is None:
        return [f"{NGINX} not found (Debian: apt-get install nginx-light)"]
    configure = _run_version(["-V"])
    problems = []
    if "--with-http_v2_module" not in configure:
        problems.append("nginx lacks http_v2_module")
    if "--with-http_ssl_module" not in configure:
        problems.append("nginx lacks http_ssl_module")
    if "--without-http_grpc_module" in configure:
        problems.append("nginx lacks the grpc module")
    return problems


def nginx_version() -> str | None:
    """ "1.22.1", or None without nginx."""
    if shutil.which(NGINX) is None:
        return None
    found = re.search(r"nginx/(\S+)", _run_version(["-v"]))
    return found.group(1) if found else None


def _run_version(flags: list[str]) -> str:
    # nginx prints its version and configure arguments on stderr.
    done = subprocess.run([NGINX, *flags], capture_output=True, text=True, timeout=10, check=False)
    return done.stdout + done.stderr
