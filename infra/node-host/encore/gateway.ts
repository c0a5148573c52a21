import type { AuthHandlerBrand } from "./auth.ts";

export interface GatewayConfig {
  authHandler?: AuthHandlerBrand;
}

/** The API gateway. The host finds it by its export, like endpoints, and runs its auth handler. */
export class Gateway {
  public readonly name = "api-gateway";
  constructor(public readonly cfg: GatewayConfig) {}
}
