#!/usr/bin/env python3
"""The Python peer of kvenv in bench/run: hvac, the Vault client most Python users pick.

What a user would write: one hvac.Client (one requests session, keep-alive), the secrets read
one after the other, then a .env written with one NAME=value line each.

usage: VAULT_ADDR=... VAULT_TOKEN=... [VAULT_CACERT=ca.pem] hvac-sync.py LIST
  LIST has one line per variable: NAME MOUNT PATH KEY KV_VERSION,
  e.g. S0001 kv bench/n8/s0001 S0001 1
"""

import os
import sys

import hvac


def main():
    entries = [line.split() for line in open(sys.argv[1]) if line.strip()]
    client = hvac.Client(
        url=os.environ["VAULT_ADDR"],
        token=os.environ["VAULT_TOKEN"],
        verify=os.environ.get("VAULT_CACERT") or True,
    )
    lines = []
    for name, mount, path, key, version in entries:
        if version == "2":
            data = client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=mount, raise_on_deleted_version=True
            )["data"]["data"]
        else:
            data = client.secrets.kv.v1.read_secret(path=path, mount_point=mount)["data"]
        lines.append(f"{name}={data[key]}\n")
    with open(".env", "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
