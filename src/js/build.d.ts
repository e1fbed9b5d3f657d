// What the entry imports from the build (scripts/build.sh): wasm-bindgen's glue for the worker's
// wasm, whose one class is src/task.rs's `Task`, the wasm module itself and the documents. For
// type checking only (`npm run typecheck`); the end-to-end tests run the real ones.

declare module "*/index.js" {
  export function initSync(options: { module: WebAssembly.Module }): void;
  /** A request, queue batch, cron run or object request, driven to its end (src/task.rs). */
  export class Task {
    static fetch(env: unknown, method: string, url: string, headers: Headers): Task;
    static object(env: unknown, method: string, url: string, headers: Headers): Task;
    static queue(env: unknown, bodies: string[]): Task;
    static scheduled(env: unknown): Task;
    /** The next operation's JSON, or undefined once the task is done. */
    resume(ok: boolean, value?: string | null): string | undefined;
    resumeWithBody(body?: Uint8Array | null): string | undefined;
    /** The next large text beside the operation parked last (taken), for the next path it names. */
    text(): string | undefined;
    status(): number;
    streamed(): boolean;
    body(): string | undefined;
    /** The export of ./documents.mjs that is the body, instead of `body()`. */
    document(): "openapi" | "flows" | undefined;
    /** Names and values in turn. */
    headers(): string[];
    free(): void;
  }
}

/** The JSON texts the entry answers instead of the wasm (scripts/documents.mjs). */
declare module "*/documents.mjs" {
  export const openapi: string;
  export const flows: string;
}

declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
