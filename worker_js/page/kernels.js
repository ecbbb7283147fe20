// The kernel selector: every kind of kernel the page can use, behind BentoKernel's interface
// (start/execute/interrupt/restart/shutdown; events status/output/fatal; worker protocol shapes).
import { BentoKernel } from "../kernel/kernel.js";

export const KERNELS = {
  serverless: {
    label: "Serverless (Pyodide, in this tab)",
    lost: "every variable, import and loaded DataFrame in the browser kernel; " +
      "Pyodide reloads (a few seconds) and pandas loads again in the background",
    async create({ config, protocol }) {
      const kernel = new BentoKernel({ ...config, protocol });
      kernel.kind = "serverless";
      return kernel;
    },
  },
  server: {
    label: "Server (ipykernel)",
    lost: "every variable and import in the server kernel",
    async create({ config, protocol, baseUrl, token, path }) {
      // Loaded only when chosen: @jupyterlab/services is most of the page's code.
      const { ServerKernel } = await import("./server_kernel.js");
      const server = config.serverKernel || {};
      // path: the notebook's, so the kernel works in its folder (as in JupyterLab).
      return new ServerKernel({ protocol, baseUrl, token, name: server.name || "python3",
        setup: server.setup || [], path });
    },
  },
};

export const NO_KERNEL = "none";

export function createKernel(kind, context) {
  const spec = KERNELS[kind];
  if (!spec) {
    throw new Error(`unknown kernel '${kind}'; choose one of ${Object.keys(KERNELS).join(", ")} ` +
      `or '${NO_KERNEL}'`);
  }
  return spec.create(context);
}
