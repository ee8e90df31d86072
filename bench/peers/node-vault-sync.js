#!/usr/bin/env node
// The JavaScript peer of kvenv in bench/run: node-vault, the Vault client most Node users pick.
//
// What a user would write: one client, every read started at once with Promise.all, then a .env
// with one NAME=value line each. node-vault opens as many connections as there are reads.
//
// usage: VAULT_ADDR=... VAULT_TOKEN=... [VAULT_CACERT=ca.pem] node node-vault-sync.js LIST
//   LIST has one line per variable: NAME MOUNT PATH KEY KV_VERSION,
//   e.g. S0001 kv bench/n8/s0001 S0001 1
'use strict';

const fs = require('fs');
const path = require('path');

// The module is installed by bench/run into bench/.peers/npm (see bench/peers/package.json).
const vaultModule = require(path.join(__dirname, '..', '.peers', 'npm', 'node_modules', 'node-vault'));

async function main() {
  const entries = fs
    .readFileSync(process.argv[2], 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => line.trim().split(/\s+/));
  const options = { endpoint: process.env.VAULT_ADDR, token: process.env.VAULT_TOKEN };
  if (process.env.VAULT_CACERT) {
    options.requestOptions = { ca: fs.readFileSync(process.env.VAULT_CACERT) };
  }
  const vault = vaultModule(options);
  const values = await Promise.all(
    entries.map(async ([name, mount, secretPath, key, version]) => {
      const apiPath = version === '2' ? `${mount}/data/${secretPath}` : `${mount}/${secretPath}`;
      const answer = await vault.read(apiPath);
      const data = version === '2' ? answer.data.data : answer.data;
      return `${name}=${data[key]}\n`;
    }),
  );
  fs.writeFileSync('.env', values.join(''));
}

main().catch((err) => {
  console.error(`node-vault-sync: ${err.message}`);
  process.exit(1);
});
