/**
 * Feature dumps: Arrow IPC files of frozen features (`train.arrow`, `val.arrow`, `test.arrow`)
 * and the stage-1 classifier (`classifier.arrow`), written in record batches and read with
 * checks that say exactly what is wrong (decoding in reader.ts takes bytes; load.ts reads files). See {@link ./schema.ts} for the contract.
 *
 * @module
 */

export * from "./schema.ts";
export * from "./writer.ts";
export * from "./check.ts";
export * from "./reader.ts";
export * from "./load.ts";
export * from "./synthetic.ts";
