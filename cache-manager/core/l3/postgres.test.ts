/**
 * The PostgreSQL L3 store against a real PostgreSQL server, through the `l3` Encore database as
 * cache-manager declares it (db.ts) and its migration: the contract suite, where a pool of
 * connections makes the lock tests truly concurrent.
 */
import { registerL3ContractSuite } from "./contract.ts";
import { usePostgresL3Database } from "./testing.ts";

const backend = usePostgresL3Database();
registerL3ContractSuite("postgres", () => backend);
