/**
 * The API gateway and its auth handler: the Encore declarations only. Encore's parser requires an
 * auth handler, a gateway and secrets inside a service directory (tsparser
 * `resources/apis/authhandler.rs` takes the service from the file's directory), so they are
 * declared here; what they do lives in lib/auth/ (authenticate.ts), and the checks endpoints make
 * (`requireRole`, `requireKeyAccess`) in lib/auth/access.ts, which every service imports.
 * Importing this module opens no connection: the rate limiter starts on the first request.
 */
import { Gateway, type Header } from "encore.dev/api";
import { authHandler } from "encore.dev/auth";
import { secret } from "encore.dev/config";
import type { AuthData } from "../lib/auth/access";
import { createAuthenticator } from "../lib/auth/authenticate";
import { redisUrl } from "./config";

export type { AuthData } from "../lib/auth/access";

/** Bootstrap admin token (`npm start` generates one when unset). */
const adminToken = secret("CACHE_ADMIN_TOKEN");
/** Further tokens: see lib/auth/tokens.ts for the format. */
const tokenConfig = secret("CACHE_TOKENS");

interface AuthParams {
  authorization: Header<"Authorization">;
}

const authenticator = createAuthenticator({ secrets: () => ({ admin: adminToken(), tokens: tokenConfig() }), redisUrl });

export const auth = authHandler<AuthParams, AuthData>((params) => authenticator.authenticate(params.authorization));

export const gateway = new Gateway({ authHandler: auth });
