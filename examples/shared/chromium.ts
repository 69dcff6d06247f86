// Headless Chromium for the examples' end-to-end tests: the same launcher as the hub's own tests.
export { launchChromium } from '../../test/support/browser.ts';
