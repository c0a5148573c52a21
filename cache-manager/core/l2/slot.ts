/**
 * Redis Cluster's key → slot function: CRC16 (XMODEM) of the key, or of its hash tag — the
 * text between the first `{` and the next `}` when non-empty — modulo 16384. Used to group
 * multi-key work by slot owner, so no pipeline or command ever spans nodes (no CROSSSLOT).
 *
 * @example keySlot("user:1") === keySlot("{user:1}:profile") // a hash tag co-locates keys
 */

export const SLOT_COUNT = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC16_TABLE[((crc >>> 8) ^ bytes[i]) & 0xff]) & 0xffff;
  return crc;
}

/** The cluster slot of `key` (UTF-8 bytes, hash tags honoured). */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  const open = bytes.indexOf(0x7b); // {
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOT_COUNT;
  }
  return crc16(bytes, 0, bytes.length) % SLOT_COUNT;
}
