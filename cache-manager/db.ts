import { SQLDatabase } from "encore.dev/storage/sqldb";

/** cache-manager's database: the demo `product:` origin's table. */
export const db = new SQLDatabase("origins", { migrations: "./migrations" });
