/**
 * Vitest global setup: the `dashboard` service needs dashboard/dist to exist (Encore's static
 * assets rule), so every host a test starts finds at least the placeholder page.
 */
import { ensurePlaceholder } from "../scripts/dashboard.mjs";

export default function setup(): void {
  ensurePlaceholder();
}
