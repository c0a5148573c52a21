/**
 * The demo data set: a `products` table and the `product:` origin that reads it, with an
 * optional added latency so cache misses are visible next to L1/L2 hits.
 */
import type { SqlExecutor, SqlOriginConfig } from "./types.ts";

export const DEMO_PRODUCT_NAMESPACE = "product:";
const MAX_DEMO_ROWS = 1_000_000;

/**
 * Creates `products(id int primary key, name text, price numeric, data jsonb)` if needed and fills
 * ids 1..rows (existing ids are left alone, so it is safe to run on every start). Values are a
 * function of the id, so tests can predict them: name "Product <id>", price ((id*37) % 10000)/100.
 *
 * @example
 * await seedDemoProducts(executorFromQueryable(new PGlite()), { rows: 10_000 }); // → { rows: 10000 }
 */
export async function seedDemoProducts(executor: SqlExecutor, options: { rows?: number } = {}): Promise<{ rows: number }> {
  const rows = options.rows ?? 10_000;
  if (!Number.isInteger(rows) || rows < 0 || rows > MAX_DEMO_ROWS) throw new RangeError(`rows must be an integer from 0 to ${MAX_DEMO_ROWS}, got ${rows}`);
  await executor(
    "CREATE TABLE IF NOT EXISTS products (id int PRIMARY KEY, name text NOT NULL, price numeric(10, 2) NOT NULL, data jsonb NOT NULL DEFAULT '{}')",
    [],
  );
  await executor(
    `INSERT INTO products (id, name, price, data)
     SELECT g, 'Product ' || g, ((g * 37) % 10000) / 100.0,
            jsonb_build_object('sku', 'SKU-' || lpad(g::text, 7, '0'), 'stock', (g * 7) % 500, 'category', (ARRAY['books', 'games', 'garden', 'kitchen', 'tools'])[1 + g % 5])
     FROM generate_series(1, $1::int) AS g
     ON CONFLICT (id) DO NOTHING`,
    [rows],
  );
  const [count] = await executor("SELECT count(*)::int AS n FROM products", []);
  return { rows: Number(count.n) };
}

/**
 * The `product:` origin over the demo table: loads return `{id, name, price, data}`, listing pages
 * through ids, and writes accept the same object shape back (write-through / write-behind demos).
 */
export function demoProductOrigin(options: { addedLatencyMs?: number; database?: string } = {}): SqlOriginConfig {
  return {
    namespace: DEMO_PRODUCT_NAMESPACE,
    kind: "sql",
    ...(options.database ? { database: options.database } : {}),
    query: "SELECT id, name, price, data FROM products WHERE id = $1",
    listQuery: "SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2",
    listStart: 0,
    writeQuery:
      "UPDATE products SET name = coalesce($2::jsonb->>'name', name), price = coalesce(($2::jsonb->>'price')::numeric, price), data = coalesce($2::jsonb->'data', data) WHERE id = $1 RETURNING id",
    deleteQuery: "DELETE FROM products WHERE id = $1",
    addedLatencyMs: options.addedLatencyMs ?? 0,
  };
}
