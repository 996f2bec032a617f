#!/usr/bin/env bash
# etcd's own PKI for the mesh, made with openssl on an operator's workstation (not in a pod).
#
#   deploy/k8s/pki/etcd-pki.sh OUT_DIR [NAMESPACE] [CLUSTER_DOMAIN]
#
# Writes into OUT_DIR (which must not hold a CA yet), every key 0600:
#   ca.crt ca.key                  etcd's CA (separate from the mesh CA: a workload
#                                  certificate can never authenticate to etcd)
#   server.crt server.key          every member's serving and peer certificate,
#                                  CN tsunagi-etcd-peer (--peer-cert-allowed-cn)
#   root.crt root.key              client CN root: the bootstrap Job only
#   control-plane.crt/.key         client CN control-plane: read-write on /tsunagi/
#   sidecar.crt sidecar.key        client CN sidecar: read-only on /tsunagi/v1/config/
# With --client-cert-auth, etcd takes the user from the client certificate's CN.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
  echo "usage: $0 OUT_DIR [NAMESPACE] [CLUSTER_DOMAIN]" >&2
  exit 2
fi
out=$1
namespace=${2:-tsunagi-system}
domain=${3:-cluster.local}
days_ca=${ETCD_PKI_CA_DAYS:-3650}
days_leaf=${ETCD_PKI_LEAF_DAYS:-365}

umask 077
mkdir -p "$out"
if [[ -e "$out/ca.key" ]]; then
  echo "error: $out/ca.key already exists; refusing to replace a CA" >&2
  exit 1
fi

serial() { echo "0x$(openssl rand -hex 16)"; }

# leaf NAME CN EKU [SAN]: a P-256 key and a certificate signed by the CA.
leaf() {
  local name=$1 cn=$2 eku=$3 san=${4:-}
  local ext="$out/$name.ext"
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "extendedKeyUsage = $eku"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid"
    if [[ -n "$san" ]]; then echo "subjectAltName = $san"; fi
  } > "$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$out/$name.key" -out "$out/$name.csr" -subj "/O=Tsunagi/CN=$cn" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "$(serial)" -days "$days_leaf" -sha256 -extfile "$ext" \
    -out "$out/$name.crt" 2>/dev/null
  rm -f "$out/$name.csr" "$ext"
}

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$out/ca.key" -out "$out/ca.crt" -days "$days_ca" -sha256 \
  -set_serial "$(serial)" -subj "/O=Tsunagi/CN=Tsunagi etcd CA" \
  -addext "basicConstraints = critical, CA:TRUE, pathlen:0" \
  -addext "keyUsage = critical, keyCertSign, cRLSign" 2>/dev/null

peers="tsunagi-etcd.$namespace.svc"
clients="tsunagi-etcd-client.$namespace.svc"
leaf server tsunagi-etcd-peer "serverAuth, clientAuth" \
  "DNS:*.$peers.$domain, DNS:*.$peers, DNS:$peers.$domain, DNS:$clients.$domain, DNS:$clients, DNS:localhost, IP:127.0.0.1"
for user in root control-plane sidecar; do
  leaf "$user" "$user" "clientAuth"
done
chmod 0644 "$out"/*.crt
echo "etcd PKI written to $out (namespace $namespace, cluster domain $domain)"
