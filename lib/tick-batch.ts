/**
 * Group commit for one event-loop turn: calls made while the loop is busy are gathered and run as
 * one batch at the next turn (`setImmediate`). Under concurrency that turns many round trips (one
 * socket write and one reply parse each, the cost that dominates a Redis command from Node) into
 * one; a lone call waits only for the current turn to end.
 *
 * `run` receives the items in call order and returns one result per item, in the same order. When
 * it throws, every call of that batch rejects with the error, as each would have alone. A batch
 * holds at most `maxItems` items; later calls start the next one.
 *
 * @example
 * const gets = new TickBatch((keys: string[]) => redis.mget(...keys));
 * const [a, b] = await Promise.all([gets.add("a"), gets.add("b")]); // one MGET
 */
export class TickBatch<I, O> {
  private open: { items: I[]; results: Promise<O[]> } | null = null;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxItems = 1_000,
  ) {}

  add(item: I): Promise<O> {
    let batch = this.open;
    if (!batch || batch.items.length >= this.maxItems) {
      const items: I[] = [];
      const opened = {
        items,
        results: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          if (this.open === opened) this.open = null;
          return this.run(items);
        }),
      };
      batch = this.open = opened;
    }
    const index = batch.items.push(item) - 1;
    return batch.results.then((results) => results[index]);
  }
}
