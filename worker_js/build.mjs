// Bundle the notebook page: page/page.js -> dist/ (git-ignored, served at /bento/static/page/).
// `npm run build` (./dev runs it); `node build.mjs --watch` rebuilds on change.
import * as esbuild from "esbuild";

const options = {
  entryPoints: { page: "page/page.js" },
  bundle: true,
  splitting: true, // the server kernel (@jupyterlab/services) loads only when chosen
  format: "esm",
  target: "chrome120",
  outdir: "dist",
  minify: true,
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
  // @jupyterlab/ui-components (under the widgets' output area) imports its icons as SVG text.
  loader: { ".css": "css", ".svg": "text" },
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
