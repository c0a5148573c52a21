/** The Node host's `encore.dev/service`. */
import type { Middleware } from "encore.dev/api";

export interface ServiceConfig {
  middlewares?: Middleware[];
}

export class Service {
  constructor(
    public readonly name: string,
    public readonly cfg: ServiceConfig = {},
  ) {}
}
