/**
 * Least recently used: one list in access order; a hit moves the entry to the tail, the head is
 * evicted. Cheapest per operation, but a one-off scan larger than the cache flushes it.
 */
import { SlotLinks, SlotList } from "../list";
import type { EvictionPolicy, PolicyContext, PolicyEntryInfo } from "./policy";

export class LruPolicy implements EvictionPolicy {
  readonly name = "lru" as const;
  private readonly links: SlotLinks;
  private readonly order: SlotList;

  constructor(context: PolicyContext) {
    this.links = new SlotLinks(context.table.capacity);
    this.order = new SlotList(this.links);
  }

  grow(capacity: number): void {
    this.links.grow(capacity);
  }

  onInsert(slot: number): void {
    this.order.push(slot);
  }

  onAccess(slot: number): void {
    this.order.moveToTail(slot);
  }

  onUpdate(slot: number): void {
    this.order.moveToTail(slot);
  }

  onRemove(slot: number): void {
    this.order.remove(slot);
  }

  selectVictim(): number {
    return this.order.head;
  }

  forEachInEvictionOrder(visit: (slot: number) => void): void {
    this.order.forEach(visit);
  }

  describe(): PolicyEntryInfo {
    return { policy: "lru" };
  }

  clear(): void {
    this.order.clear();
  }
}
