/**
 * How an L3 value is stored: compressed with brotli, then encrypted with AES-256-GCM under the
 * keyring's current key with a fresh random 12-byte IV. The stored payload is
 *
 *   [codec: 1 byte][iv: 12 bytes][auth tag: 16 bytes][ciphertext]
 *
 * and the key id is stored beside it (a column), so an old key can still decrypt what it wrote.
 * The codec byte says how the plaintext was packed (`CODEC_BROTLI`, or `CODEC_STORED` when brotli
 * would not make it smaller). The additional authenticated data binds the payload to its codec
 * byte and to the name it is stored under (the cache key), so a payload copied onto another key,
 * or a flipped codec byte, fails authentication instead of decoding as someone else's value.
 *
 * Why brotli: on ~850-byte product-like JSON envelopes brotli at quality 5 stores 0.50 of the raw
 * size against 0.55 for deflate level 6 (9 % smaller), costs ~54 µs per entry to compress
 * against ~45 µs, and decompresses faster (~11 µs against ~14 µs), which is the path an L3 hit
 * takes. Qualities above 5 cost 10× more CPU for under 1 % more. Compression runs on libuv's
 * thread pool (async zlib), so a batch does not block the event loop.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { brotliCompress, brotliDecompress, constants } from "node:zlib";
import { L3DecryptError } from "./errors.ts";
import type { L3Keyring } from "../../../lib/l3-keyring.ts";

export const CODEC_BROTLI = 1;
export const CODEC_STORED = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
const BROTLI_QUALITY = 5;
/** Values shorter than this are stored without compression. */
const MIN_COMPRESS_BYTES = 160;

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** What a payload is bound to: `entry` for a cache key's value, `key-check` for the keyring's check record. */
export type SealPurpose = "entry" | "key-check";

export interface Sealed {
  keyId: string;
  payload: Buffer;
}

/** Drivers return bytea as a Buffer (pg, the Node host) or a plain Uint8Array. */
const asBuffer = (bytes: Uint8Array) => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));

const aadOf = (purpose: SealPurpose, name: string, codec: number) => Buffer.concat([Buffer.from(`cachet-l3\0${purpose}\0${name}\0`, "utf8"), Buffer.of(codec)]);

/**
 * Random IVs drawn from a pool filled 256 at a time: one `randomBytes` call costs about as much
 * as sealing a small value, and a copy seals hundreds. Each IV is used once (96 random bits, as
 * GCM's random-IV construction wants).
 */
const IV_POOL_SIZE = 256;
let ivPool = Buffer.alloc(0);
let ivNext = 0;
function nextIv(): Buffer {
  if (ivNext >= ivPool.length) {
    ivPool = randomBytes(IV_BYTES * IV_POOL_SIZE);
    ivNext = 0;
  }
  const iv = ivPool.subarray(ivNext, ivNext + IV_BYTES);
  ivNext += IV_BYTES;
  return iv;
}

/** Compresses and encrypts `plaintext` under the current key, bound to `name`. */
export async function seal(keyring: L3Keyring, purpose: SealPurpose, name: string, plaintext: Buffer): Promise<Sealed> {
  // Below this size brotli rarely wins and a trip to the thread pool costs more than it saves.
  const compressed =
    plaintext.length < MIN_COMPRESS_BYTES
      ? plaintext
      : await compress(plaintext, {
          params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: plaintext.length },
        });
  const codec = compressed.length < plaintext.length ? CODEC_BROTLI : CODEC_STORED;
  const packed = codec === CODEC_BROTLI ? compressed : plaintext;
  const { id, key } = keyring.current;
  const iv = nextIv();
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aadOf(purpose, name, codec));
  const ciphertext = Buffer.concat([cipher.update(packed), cipher.final()]);
  return { keyId: id, payload: Buffer.concat([Buffer.of(codec), iv, cipher.getAuthTag(), ciphertext]) };
}

/**
 * Decrypts and decompresses a payload sealed under `keyId` for `name`. Throws `L3DecryptError`
 * (never returns garbage) when the keyring lacks `keyId`, the key is wrong, or the payload was
 * altered or moved.
 */
export async function unseal(keyring: L3Keyring, purpose: SealPurpose, name: string, keyId: string, stored: Uint8Array): Promise<Buffer> {
  const payload = asBuffer(stored);
  const key = keyring.byId.get(keyId);
  if (!key) {
    throw new L3DecryptError(
      `"${name}" is encrypted under key id "${keyId}", which CACHE_L3_KEY does not hold; give every process the new key (after the current one) before making it current`,
    );
  }
  const codec = payload[0];
  if (payload.length < HEADER_BYTES || (codec !== CODEC_BROTLI && codec !== CODEC_STORED)) {
    throw new L3DecryptError(`"${name}" is not an L3 payload (codec ${codec ?? "none"}, ${payload.length} bytes)`);
  }
  let packed: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, payload.subarray(1, 1 + IV_BYTES));
    decipher.setAAD(aadOf(purpose, name, codec));
    decipher.setAuthTag(payload.subarray(1 + IV_BYTES, HEADER_BYTES));
    packed = Buffer.concat([decipher.update(payload.subarray(HEADER_BYTES)), decipher.final()]);
  } catch (error) {
    throw new L3DecryptError(`"${name}" does not decrypt with key id "${keyId}": the key is wrong for it or the payload was altered`, { cause: error });
  }
  return codec === CODEC_BROTLI ? decompress(packed) : packed;
}
