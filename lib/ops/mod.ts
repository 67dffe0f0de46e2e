/**
 * One wrapper per kernel family. Every op validates shapes and dtypes before recording work.
 *
 * @module
 */

export * from "./elementwise.ts";
