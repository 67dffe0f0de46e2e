/**
 * Third-party modules, pinned in one place. Full `npm:` specifiers (not an import map) so the kit
 * works the same when imported from a URL.
 *
 * @module
 */

export { WgslReflect } from "npm:wgsl_reflect@1.6.0/wgsl_reflect.module.js";

/** Apache Arrow (feature dumps: lib/features; image tables: lib/data/arrow_table.ts). */
export * as arrow from "npm:apache-arrow@21.2.0";
