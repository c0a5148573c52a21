/**
 * A consistent-hash ring with virtual nodes. Each node owns `vnodes` points on a 32-bit circle;
 * a key belongs to the first point clockwise from its hash, and its replicas to the next
 * *distinct* nodes after that. Adding one node to N therefore moves about 1/(N+1) of the keys,
 * all of them to the new node; removing a node moves only the keys it held.
 *
 * @example
 * const ring = new HashRing(["a:6379", "b:6379", "c:6379"]);
 * ring.replicas("user:1", 2) // e.g. ["b:6379", "a:6379"] — primary first
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

/** MurmurHash3 x86 32-bit: fast, well mixed, and stable across processes and versions. */
export function murmur3(data: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const tail = data.length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(rotl(Math.imul(k, C1), 15), C2);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  const rest = data.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= data[tail + 2] << 16;
    if (rest >= 2) k ^= data[tail + 1] << 8;
    k ^= data[tail];
    h ^= Math.imul(rotl(Math.imul(k, C1), 15), C2);
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const hashKey = (key: string): number => murmur3(Buffer.from(key, "utf8"));

export interface HashRingOptions {
  /** Points per node; more points, smoother spread. Default 160 (as ketama). */
  vnodes?: number;
}

export class HashRing {
  private readonly vnodes: number;
  private readonly members: string[] = [];
  private points = new Uint32Array(0);
  /** Index into `members` for each point. */
  private owners = new Uint16Array(0);

  constructor(nodes: readonly string[] = [], options: HashRingOptions = {}) {
    this.vnodes = options.vnodes ?? 160;
    for (const node of nodes) if (!this.members.includes(node)) this.members.push(node);
    this.rebuild();
  }

  nodes(): string[] {
    return [...this.members];
  }

  has(node: string): boolean {
    return this.members.includes(node);
  }

  add(node: string): void {
    if (this.has(node)) return;
    this.members.push(node);
    this.rebuild();
  }

  remove(node: string): void {
    const at = this.members.indexOf(node);
    if (at === -1) return;
    this.members.splice(at, 1);
    this.rebuild();
  }

  /** The node that owns `key`. */
  primary(key: string): string {
    return this.replicas(key, 1)[0];
  }

  /** Up to `count` distinct nodes for `key`, clockwise from its hash; primary first. */
  replicas(key: string, count: number): string[] {
    const total = this.points.length;
    if (total === 0) return [];
    const wanted = Math.min(count, this.members.length);
    const found: number[] = [];
    let at = this.firstPointAtOrAfter(hashKey(key));
    for (let step = 0; step < total && found.length < wanted; step++, at++) {
      const owner = this.owners[at % total];
      if (!found.includes(owner)) found.push(owner);
    }
    return found.map((i) => this.members[i]);
  }

  private firstPointAtOrAfter(hash: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo; // may equal length: wraps to 0 in `replicas`
  }

  private rebuild(): void {
    const all: Array<[hash: number, owner: number]> = [];
    this.members.forEach((node, owner) => {
      for (let v = 0; v < this.vnodes; v++) all.push([hashKey(`${node}#${v}`), owner]);
    });
    // Ties (rare) break by node name, so every process builds the same ring.
    all.sort((a, b) => a[0] - b[0] || (this.members[a[1]] < this.members[b[1]] ? -1 : 1));
    this.points = Uint32Array.from(all, (p) => p[0]);
    this.owners = Uint16Array.from(all, (p) => p[1]);
  }
}
