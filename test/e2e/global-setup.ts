/**
 * Runs once before the e2e suites, which run two at a time (jest.e2e.config.js): builds the lab
 * image (cached by input hash), so two suites never build it at once.
 */
import { ensureImage } from "./lab";

export default function globalSetup(): void {
  ensureImage();
}
