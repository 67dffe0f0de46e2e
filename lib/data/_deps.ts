/**
 * Third-party modules of the data package, pinned in one place with full `npm:` specifiers.
 *
 * @module
 */

export {
  Binary,
  Field,
  FixedSizeList,
  Int32,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Type,
  Uint8,
  Utf8,
} from "npm:apache-arrow@21.2.0";
export type { Data, DataType } from "npm:apache-arrow@21.2.0";
