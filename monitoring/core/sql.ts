/** The SQL the monitoring core needs: parameterised statements ($1, $2, …) returning rows. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}
