#!/usr/bin/python3
"""Checks a NoCloud seed banger built, with cloud-init's own code.

Usage: check_seed.py CLOUD_INIT_ROOT SEED_IMG [EXPECT_HOSTNAME]

Reads the seed's files with mtools (no mount), then: meta-data has an
instance-id and local-hostname; user-data (a #cloud-config, or a MIME
multipart whose cloud-config part is checked) passes cloud-init's schema;
network-config parses with cloud-init's network_state into eth0 with a
static address. Exits 1 with the reasons otherwise.
"""
import email
import subprocess
import sys

import yaml


def mtype(seed, name):
    return subprocess.run(["mtype", "-i", seed, "::" + name], check=True, capture_output=True, text=True).stdout


def main():
    root, seed = sys.argv[1], sys.argv[2]
    want_host = sys.argv[3] if len(sys.argv) > 3 else None
    sys.path.insert(0, root + "/usr/lib/python3/dist-packages")
    from cloudinit.config.schema import get_schema, validate_cloudconfig_schema
    from cloudinit.net.network_state import parse_net_config_data

    label = subprocess.run(["blkid", "-o", "value", "-s", "LABEL", seed], capture_output=True, text=True).stdout.strip()
    assert label == "cidata", f"label is {label!r}, not cidata"
    meta = yaml.safe_load(mtype(seed, "meta-data"))
    assert meta.get("instance-id"), "meta-data has no instance-id"
    if want_host:
        assert meta.get("local-hostname") == want_host, meta

    text = mtype(seed, "user-data")
    if text.startswith("Content-Type: multipart/"):
        parts = [p for p in email.message_from_string(text).walk() if not p.is_multipart()]
        configs = [p.get_payload() for p in parts if p.get_content_type() == "text/cloud-config"]
        assert len(configs) == 1, f"{len(configs)} cloud-config parts"
        text = configs[0]
    assert text.startswith("#cloud-config\n"), "user-data is not a #cloud-config"
    config = yaml.safe_load(text)
    validate_cloudconfig_schema(config, get_schema(), strict=True)
    if want_host:
        assert config.get("hostname") == want_host, config.get("hostname")

    state = parse_net_config_data(yaml.safe_load(mtype(seed, "network-config")))
    ifaces = list(state.iter_interfaces())
    assert [i["name"] for i in ifaces] == ["eth0"], ifaces
    assert ifaces[0]["subnets"][0]["type"] == "static", ifaces[0]
    print(f"seed ok: instance-id {meta['instance-id']}, {len(config)} cloud-config keys, eth0 "
          f"{ifaces[0]['subnets'][0]['address']}/{ifaces[0]['subnets'][0]['prefix']}")


if __name__ == "__main__":
    main()
