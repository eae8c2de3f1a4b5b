// Bundles the page (src/) and Leaflet into hashed files in the Python package's static folder,
// with a manifest the server reads to name them in the page.
import { build } from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "composition", "web", "static");
mkdirSync(out, { recursive: true });
for (const name of readdirSync(out)) {
  if (name !== ".gitkeep") rmSync(join(out, name), { recursive: true, force: true });
}

const result = await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  loader: { ".png": "file", ".svg": "file" },
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const manifest = {};
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (info.entryPoint && file.endsWith(".js")) manifest.js = basename(file);
  if (file.endsWith(".css")) manifest.css = basename(file);
}
if (!manifest.js || !manifest.css) throw new Error("build made no app js/css");
writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
console.log(`web: built ${manifest.js} and ${manifest.css} into ${out}`);
