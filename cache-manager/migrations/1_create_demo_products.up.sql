-- The demo origin's data (the `product:` namespace), in cache-manager's own database.
-- Values are a function of the id, so tests and demos can predict them.
CREATE TABLE products (
    id     INT PRIMARY KEY,
    name   TEXT NOT NULL,
    price  NUMERIC(10, 2) NOT NULL,
    data   JSONB NOT NULL DEFAULT '{}'
);

INSERT INTO products (id, name, price, data)
SELECT g, 'Product ' || g, ((g * 37) % 10000) / 100.0,
       jsonb_build_object('sku', 'SKU-' || lpad(g::text, 7, '0'), 'stock', (g * 7) % 500,
                          'category', (ARRAY['books', 'games', 'garden', 'kitchen', 'tools'])[1 + g % 5])
FROM generate_series(1, 10000) AS g;
