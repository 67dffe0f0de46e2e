/**
 * Third-party modules of the scripts and browser tests, pinned in one place with full `npm:`
 * specifiers. playwright-core drives an installed Chromium and downloads no browser.
 *
 * @module
 */

export { type Browser, chromium, type Page } from "npm:playwright-core@1.65.1";
