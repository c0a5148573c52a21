/**
 * The gateway's authentication step: decode the auth handler's params (`Header<>`, `Query<>`,
 * `Cookie<>` fields) from the request and call the handler. A request without any of those
 * credentials is anonymous; a handler returning null means the credentials were rejected.
 */
import { APIError } from "../encore/errors.ts";
import type { AuthHandlerManifest, FieldSchema, TypeSchema } from "../manifest/types.ts";
import type { Decoder, RawInput } from "./http/decode.ts";
import type { RequestContext } from "./reqctx.ts";

export type AuthData = NonNullable<RequestContext["authData"]>;

export class Authenticator {
  /** The handler's inputs, header names lowercased as node:http gives them. */
  private readonly credentials: { loc: FieldSchema["loc"]; wire: string }[];

  constructor(
    private readonly manifest: AuthHandlerManifest,
    private readonly handler: (params: unknown) => Promise<AuthData | null>,
    private readonly decoder: Decoder,
    types: Record<string, TypeSchema>,
  ) {
    let params = manifest.params;
    for (let hops = 0; params.k === "ref" && hops < 32; hops++) params = types[params.name];
    const fields = params.k === "object" ? params.fields : [];
    this.credentials = fields.map((field) => ({ loc: field.loc, wire: field.loc === "header" ? field.wire.toLowerCase() : field.wire }));
  }

  /** True when the request carries any of the auth handler's inputs. */
  hasCredentials(input: Pick<RawInput, "headers" | "query">): boolean {
    for (const { loc, wire } of this.credentials) {
      if (
        loc === "header"
          ? input.headers[wire] !== undefined
          : loc === "query"
            ? input.query.has(wire)
            : loc === "cookie" && String(input.headers.cookie ?? "").includes(`${wire}=`)
      ) {
        return true;
      }
    }
    return false;
  }

  /** Runs the auth handler; throws `unauthenticated` when it rejects the credentials. */
  authenticate(input: RawInput): Promise<AuthData> {
    let params: unknown;
    try {
      params = this.decoder.decodeRequest(this.manifest.params, { ...input, method: "GET", body: undefined });
    } catch (err) {
      return Promise.reject(err as Error);
    }
    let pending: Promise<AuthData | null>;
    try {
      pending = this.handler(params);
    } catch (err) {
      return Promise.reject(handlerFailure(err));
    }
    // Chained rather than awaited: one promise fewer on every authenticated request.
    return pending.then(requireAuthData, (err: unknown) => {
      throw handlerFailure(err);
    });
  }
}

function handlerFailure(err: unknown): APIError {
  return err instanceof APIError ? err : APIError.unauthenticated("authentication failed", err as Error);
}

function requireAuthData(data: AuthData | null): AuthData {
  if (!data) throw APIError.unauthenticated("invalid credentials");
  return data;
}
