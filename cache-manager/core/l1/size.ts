/**
 * Byte sizes for `L1Cache.set({ sizeBytes })`.
 *
 * The cache bounds memory by the size the caller declares, so the best figure is one the caller
 * already has: the length of the serialized value it read from L2 (`utf8Length(raw)` or
 * `buffer.byteLength`). `estimateByteSize` is for values that were never serialized (fresh from
 * an origin): it approximates their JSON size in UTF-8 without serializing them.
 */

/** UTF-8 length of a string without encoding it (a surrogate pair is one 4-byte code point). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Approximate serialized size of a value in bytes:
 * - strings: UTF-8 length; `Buffer`, `ArrayBuffer`, typed arrays and `DataView`: `byteLength`;
 * - numbers 8, booleans and `null`/`undefined` 4, dates 24, bigints their byte length;
 * - arrays, `Set`s, `Map`s and plain objects: their items plus JSON punctuation (brackets, commas,
 *   quoted keys and colons); functions and symbols 0;
 * - an object reached twice (shared or cyclic) counts once, so cycles terminate.
 *
 * @example estimateByteSize({ id: 7, name: "Ada" }) // braces 2 + id (2+3+8) + name (4+3+3) + comma 1 = 26
 */
export function estimateByteSize(value: unknown): number {
  const seen = new Set<object>();
  const pending: unknown[] = [value];
  let total = 0;
  while (pending.length > 0) {
    const item = pending.pop();
    switch (typeof item) {
      case "string":
        total += utf8Length(item);
        continue;
      case "number":
        total += 8;
        continue;
      case "boolean":
      case "undefined":
        total += 4;
        continue;
      case "bigint":
        total += Math.ceil(item.toString(16).length / 2);
        continue;
      case "function":
      case "symbol":
        continue;
    }
    if (item === null) {
      total += 4;
      continue;
    }
    const object = item as object;
    if (seen.has(object)) continue;
    seen.add(object);
    total += containerSize(object, pending);
  }
  return total;
}

/** The size of `object` itself; its children are pushed onto `pending` to be sized in turn. */
function containerSize(object: object, pending: unknown[]): number {
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return object.byteLength;
  if (object instanceof Date) return 24;
  if (Array.isArray(object)) {
    for (const element of object) pending.push(element);
    return 2 + Math.max(0, object.length - 1);
  }
  if (object instanceof Set) {
    for (const element of object) pending.push(element);
    return 2 + Math.max(0, object.size - 1);
  }
  if (object instanceof Map) {
    for (const [key, element] of object) pending.push(key, element);
    return 2 + object.size * 2 + Math.max(0, object.size - 1); // [[k,v],...]: brackets and comma per pair
  }
  let size = 2;
  let fields = 0;
  for (const key of Object.keys(object)) {
    size += utf8Length(key) + 3;
    pending.push((object as Record<string, unknown>)[key]);
    fields++;
  }
  return size + Math.max(0, fields - 1);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
