import { SQLDatabase } from "encore.dev/storage/sqldb";
import type { SqlExecutor } from "./core/origins/types";

/** cache-manager's database: the demo `product:` origin's table. */
export const db = new SQLDatabase("origins", { migrations: "./migrations" });

/**
 * The SQL origins' executor on `db`. Read-only statements (loads and listings, which any viewer's
 * miss triggers) run in a `READ ONLY` transaction, so a configured query cannot write.
 */
export const originExecutor: SqlExecutor = async (text, params, options) => {
  const values = params as never[];
  if (!options?.readOnly) return db.rawQueryAll(text, ...values);
  const tx = await db.begin();
  try {
    await tx.rawExec("SET TRANSACTION READ ONLY");
    const rows = await tx.rawQueryAll(text, ...values);
    await tx.commit();
    return rows;
  } catch (error) {
    await tx.rollback().catch(() => {});
    throw error;
  }
};

/**
 * The L3 tier's database (`core/l3/postgres.ts`): `l3_entries`, the compressed and encrypted
 * backup of L2, and `l3_key_checks`. Its own database, so its size and vacuum load stay apart
 * from the origins' data.
 */
export const l3db = new SQLDatabase("l3", { migrations: "./l3-migrations" });
