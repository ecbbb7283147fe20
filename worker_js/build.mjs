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
  // The widget controls' icons (Font Awesome, through @jupyter-widgets/controls' CSS) as files.
  loader: { ".css": "css", ".woff": "file", ".woff2": "file", ".eot": "file", ".ttf": "file", ".svg": "file" },
  assetNames: "assets/[name]-[hash]",
};

if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
