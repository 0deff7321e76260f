// Builds the web app's assets with esbuild: one ES module per page (shared code split into chunks),
// one stylesheet, Swagger UI's files for /docs; every file name carries a content hash, and
// static/dist/manifest.json tells the templates which files each page loads.
//
//   node backend/coopride/web/frontend/build.mjs          (scripts/setup.sh runs it when a source changed)
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const webRoot = dirname(here);
const repoRoot = join(webRoot, "..", "..", "..");
const outdir = join(webRoot, "static", "dist");
const pagesDir = join(here, "src", "pages");

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const pages = readdirSync(pagesDir).filter((name) => name.endsWith(".js")).map((name) => basename(name, ".js")).sort();
const result = await esbuild.build({
  entryPoints: [
    ...pages.map((page) => ({ in: join(pagesDir, `${page}.js`), out: `pages/${page}` })),
    { in: join(here, "src", "css", "app.css"), out: "app" },
  ],
  outdir,
  absWorkingDir: repoRoot, // metafile paths are relative to it, wherever the build is run from
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2022", "chrome109", "firefox115", "safari16"],
  minify: true,
  sourcemap: false,
  metafile: true,
  legalComments: "eof",
  entryNames: "[dir]/[name]-[hash]",
  chunkNames: "chunks/[name]-[hash]",
  assetNames: "assets/[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  logLevel: "warning",
});

// The files each page loads: its entry, the chunks it imports (static) and those it may import later (dynamic).
const outputs = result.metafile.outputs;
const key = (path) => relative(outdir, join(repoRoot, path)).split("\\").join("/");
function closure(start) {
  const seen = new Set();
  const dynamic = new Set();
  const todo = [[start, false]];
  while (todo.length) {
    const [path, isDynamic] = todo.pop();
    if (seen.has(path)) continue;
    seen.add(path);
    if (isDynamic) dynamic.add(path);
    for (const imported of outputs[path].imports) {
      if (imported.external || !outputs[imported.path]) continue;
      todo.push([imported.path, isDynamic || imported.kind === "dynamic-import"]);
    }
  }
  return { all: [...seen], dynamic };
}

const manifest = { pages: {}, css: null, vendor: {} };
for (const [path, output] of Object.entries(outputs)) {
  if (!output.entryPoint) continue;
  if (output.entryPoint.endsWith(".css")) {
    manifest.css = key(path);
    continue;
  }
  // Modules loaded with import() are entry points too: only the pages' own are listed.
  if (!join(repoRoot, output.entryPoint).startsWith(pagesDir)) continue;
  const page = basename(output.entryPoint, ".js");
  const { all, dynamic } = closure(path);
  manifest.pages[page] = {
    entry: key(path),
    preload: all.filter((p) => p !== path && !dynamic.has(p)).map(key).sort(),
    lazy: [...dynamic].map(key).sort(),
  };
}

// Swagger UI for /docs, served from here so that the API docs work with no network.
const swagger = join(repoRoot, "node_modules", "swagger-ui-dist");
mkdirSync(join(outdir, "vendor"), { recursive: true });
for (const [name, file] of [["swagger_js", "swagger-ui-bundle.js"], ["swagger_css", "swagger-ui.css"], ["swagger_favicon", "favicon-32x32.png"]]) {
  const body = readFileSync(join(swagger, file));
  const hash = createHash("sha256").update(body).digest("hex").slice(0, 10);
  const target = `vendor/${basename(file, extname(file))}-${hash}${extname(file)}`;
  copyFileSync(join(swagger, file), join(outdir, target));
  manifest.vendor[name] = target;
}

// A gzip copy of every script and stylesheet, which the server sends to browsers that accept gzip.
function gzipAll(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) gzipAll(path);
    else if (/\.(js|css)$/.test(entry.name)) writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
  }
}
gzipAll(outdir);

writeFileSync(join(outdir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`web: built ${pages.length} pages into ${relative(repoRoot, outdir)}`);
