#!/usr/bin/env node
// Stands in for a native solc for py-solc-x (and so Brownie): answers `--version` and
// `--standard-json`, compiling with the WebAssembly build from the npm `solc` package.
// Imports resolve like native solc: relative to the base path, then each --allow-paths folder.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..", "..");
const versionCache = path.join(projectRoot, "build", ".solc-version");

function loadSolc() {
  return require(path.join(projectRoot, "node_modules", "solc"));
}

function version() {
  const pkg = require(path.join(projectRoot, "node_modules", "solc", "package.json"));
  try {
    const cached = JSON.parse(fs.readFileSync(versionCache, "utf8"));
    if (cached.pkg === pkg.version) return cached.full;
  } catch (_) { /* no cache yet */ }
  const full = loadSolc().version();
  fs.mkdirSync(path.dirname(versionCache), { recursive: true });
  fs.writeFileSync(versionCache, JSON.stringify({ pkg: pkg.version, full }));
  return full;
}

function optionValues(args, name) {
  const values = [];
  args.forEach((arg, i) => {
    if (arg === name && args[i + 1]) values.push(...args[i + 1].split(","));
    else if (arg.startsWith(name + "=")) values.push(...arg.slice(name.length + 1).split(","));
  });
  return values.filter(Boolean);
}

function compileStandardJson(args) {
  const roots = [
    ...optionValues(args, "--base-path"),
    ...optionValues(args, "--include-path"),
    ...optionValues(args, "--allow-paths"),
    process.cwd(),
  ].map((p) => path.resolve(p));
  const findImport = (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      const allowed = roots.some((root) => candidate === root || candidate.startsWith(root + path.sep));
      if (allowed && fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
    }
    return { error: `File not found inside the allowed paths: ${importPath}` };
  };
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(loadSolc().compile(input, { import: findImport }));
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version()}\n`);
} else if (args.includes("--standard-json")) {
  compileStandardJson(args);
} else {
  process.stderr.write("solc-bridge: only --version and --standard-json are supported\n");
  process.exit(2);
}
