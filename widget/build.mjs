// Bundle the canvas for anywidget: src/index.tsx -> ../tensorrag/widget/static/{index.js,index.css}.
// React Flow's stylesheet is imported by src/index.tsx, so index.css carries it (handles have no size without it).
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(here, "../tensorrag/widget/static");
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

/** @type {import("esbuild").BuildOptions} */
const options = {
  entryPoints: { index: path.join(here, "src/index.tsx") },
  bundle: true,
  format: "esm",
  target: ["es2020"],
  outdir,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": JSON.stringify(dev ? "development" : "production") },
  legalComments: "none",
  logLevel: "info",
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`watching; writing ${outdir}`);
} else {
  const result = await esbuild.build({ ...options, metafile: true });
  const sizes = Object.entries(result.metafile.outputs).map(([f, o]) => `${path.basename(f)} ${(o.bytes / 1024).toFixed(0)} KB`);
  console.log(`built ${sizes.join(", ")} into ${path.relative(process.cwd(), outdir) || "."}`);
}
