/**
 * Third-party modules, pinned in one place. Full `npm:` specifiers (not an import map) so the kit
 * works the same when imported from a URL.
 *
 * @module
 */

export { WgslReflect } from "npm:wgsl_reflect@1.6.0/wgsl_reflect.module.js";

/** Apache Arrow (feature dumps: lib/features; image tables: lib/data/arrow_table.ts). */
export * as arrow from "npm:apache-arrow@21.2.0";

/**
 * Arrow's IPC file footer (schema and record-batch blocks), for reading a shard's small columns
 * without its pixel bytes (lib/data/pack_rows.ts). Internal to apache-arrow, hence the deep path.
 */
export { Footer as ArrowFooter } from "npm:apache-arrow@21.2.0/ipc/metadata/file";
