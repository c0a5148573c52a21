import { PGlite } from "@electric-sql/pglite";
let t=Date.now(); const db = new PGlite(); await db.waitReady; console.log("ready", Date.now()-t);
t=Date.now(); await db.query("select 1"); console.log("q", Date.now()-t);
t=Date.now(); const db2 = new PGlite(); await db2.waitReady; console.log("ready2", Date.now()-t);
