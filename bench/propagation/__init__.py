"""The config-propagation benchmark: from a control-plane apply until N real config clients
(sidecar.config_client) have the change in effect, against a raw etcd watch."""
