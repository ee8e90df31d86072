// Read dotenv files with npm's `dotenv`, as tests/conformance.rs asks.
// argv: the node_modules directory holding dotenv, then a JSON file holding a list of paths.
// Prints one JSON object: {path: {name: value}}. dotenv.parse() reports no errors: it skips
// what it cannot match.
'use strict'
const fs = require('fs')
const path = require('path')
const dotenv = require(path.join(process.argv[2], 'dotenv'))
const paths = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const out = {}
for (const p of paths) {
  out[p] = dotenv.parse(fs.readFileSync(p))
}
process.stdout.write(JSON.stringify(out))
