/** The Node host's `encore.dev/auth`: `authHandler()` returns the handler itself, as Encore's SDK does. */
export type AuthHandlerBrand = { readonly __authHandlerBrand: unique symbol };

export type AuthHandler<Params extends object, AuthData extends { userID: string }> = ((params: Params) => Promise<AuthData | null>) & AuthHandlerBrand;

export function authHandler<Params extends object, AuthData extends { userID: string }>(
  fn: (params: Params) => Promise<AuthData | null>,
): AuthHandler<Params, AuthData> {
  return fn as AuthHandler<Params, AuthData>;
}
