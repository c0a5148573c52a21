import { describe, expect, test } from "vitest";
import { NONE, SlotLinks, SlotList } from "./list";

function contents(list: SlotList): number[] {
  const slots: number[] = [];
  for (let slot = list.head; slot !== NONE; slot = list.after(slot)) slots.push(slot);
  return slots;
}

describe("SlotList", () => {
  test("keeps slots in insertion order and moves a slot to the tail", () => {
    const list = new SlotList(new SlotLinks(8));
    for (const slot of [3, 1, 4, 5]) list.push(slot);
    list.moveToTail(1);
    list.moveToTail(3);
    list.moveToTail(3);
    expect(contents(list)).toEqual([4, 5, 1, 3]);
    expect([list.head, list.tail, list.length]).toEqual([4, 3, 4]);
  });

  test("removes slots from the head, middle and tail", () => {
    const list = new SlotList(new SlotLinks(8));
    for (const slot of [0, 1, 2, 3, 4]) list.push(slot);
    list.remove(0);
    list.remove(2);
    list.remove(4);
    expect(contents(list)).toEqual([1, 3]);
    list.remove(1);
    list.remove(3);
    expect([list.head, list.tail, list.length]).toEqual([NONE, NONE, 0]);
  });

  test("splices another list onto its tail and leaves that list empty", () => {
    const links = new SlotLinks(8);
    const first = new SlotList(links);
    const second = new SlotList(links);
    [0, 1].forEach((slot) => first.push(slot));
    [5, 6, 7].forEach((slot) => second.push(slot));
    first.takeAll(second);
    expect(contents(first)).toEqual([0, 1, 5, 6, 7]);
    expect(second.length).toBe(0);
    const empty = new SlotList(links);
    empty.takeAll(first);
    expect(contents(empty)).toEqual([0, 1, 5, 6, 7]);
  });

  test("keeps its links when the shared link array grows", () => {
    const links = new SlotLinks(2);
    const list = new SlotList(links);
    list.push(0);
    list.push(1);
    links.grow(4);
    list.push(3);
    list.moveToTail(0);
    expect(contents(list)).toEqual([1, 3, 0]);
  });

  test("keeps lists sharing links independent", () => {
    const links = new SlotLinks(6);
    const odd = new SlotList(links);
    const even = new SlotList(links);
    for (let slot = 0; slot < 6; slot++) (slot % 2 === 0 ? even : odd).push(slot);
    odd.moveToTail(1);
    even.remove(2);
    expect([contents(odd), contents(even)]).toEqual([
      [3, 5, 1],
      [0, 4],
    ]);
  });
});
