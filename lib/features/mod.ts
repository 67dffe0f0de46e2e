/**
 * Feature dumps: Arrow IPC files of frozen features (`train.arrow`, `val.arrow`, `test.arrow`)
 * and the stage-1 classifier (`classifier.arrow`), written in record batches and read with
 * checks that say exactly what is wrong (decoding in reader.ts takes bytes; load.ts reads files). See {@link ./schema.ts} for the contract.
 *
 * A layer barrel: every public module of the layer, for the kit's own scripts and tests;
 * internal `_name.ts` modules are imported from their files, and programs import the root
 * `mod.ts`, whose list is the public API (tests/api_test.ts checks both rules).
 *
 * @module
 */

export * from "./schema.ts";
export * from "./writer.ts";
export * from "./check.ts";
export * from "./reader.ts";
export * from "./load.ts";
export * from "./synthetic.ts";
