// Functions are written for Deno. When tsc checks them through the Node-side tests, the
// `Deno` namespace comes from @deno/shim-deno (installed globally by tests/fixtures).
declare const Deno: typeof import('@deno/shim-deno').Deno

interface ImportMeta {
  main?: boolean
}
