/**
 * Where HTTP origins may connect. Internal addresses (loopback, link-local such as the cloud
 * metadata service 169.254.169.254, private and shared ranges, multicast, "this network") are
 * refused unless the allow-list names them (`CACHE_ORIGIN_ALLOW_NETWORKS`, CIDRs or addresses),
 * because an admin-configured URL is fetched on a viewer's read and its answer shown to viewers.
 *
 * The check runs on every address a host name resolves to, at connect time, inside the fetch's
 * own DNS lookup: a name that resolves to a public address when configured and to 127.0.0.1 later
 * (DNS rebinding) is refused on the connection that would use it.
 *
 * @example
 * const policy = egressPolicyFromEnv({ CACHE_ORIGIN_ALLOW_NETWORKS: "10.20.0.0/16" });
 * const fetch = egressFetch(policy);   // fetch("http://10.20.1.5/x") allowed, fetch("http://127.0.0.1/") refused
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";
import { OriginEgressError } from "./errors.ts";

/** Ranges no origin may reach unless allowed: [address, prefix length, family]. */
const INTERNAL_RANGES: Array<[string, number, "ipv4" | "ipv6"]> = [
  ["0.0.0.0", 8, "ipv4"], // "this network"
  ["10.0.0.0", 8, "ipv4"],
  ["100.64.0.0", 10, "ipv4"], // carrier-grade NAT
  ["127.0.0.0", 8, "ipv4"],
  ["169.254.0.0", 16, "ipv4"], // link-local, cloud metadata
  ["172.16.0.0", 12, "ipv4"],
  ["192.0.0.0", 24, "ipv4"],
  ["192.168.0.0", 16, "ipv4"],
  ["198.18.0.0", 15, "ipv4"], // benchmarking
  ["224.0.0.0", 3, "ipv4"], // multicast, reserved, broadcast
  ["::", 128, "ipv6"],
  ["::1", 128, "ipv6"],
  ["64:ff9b::", 96, "ipv6"], // NAT64 of IPv4 addresses
  ["fc00::", 7, "ipv6"], // unique local
  ["fe80::", 10, "ipv6"], // link-local
  ["ff00::", 8, "ipv6"], // multicast
];

/** Decides which addresses origins may connect to. */
export class EgressPolicy {
  private readonly internal = new BlockList();
  private readonly allowed = new BlockList();

  /** `allow`: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses that are allowed although internal. */
  constructor(allow: readonly string[] = []) {
    for (const [address, prefix, family] of INTERNAL_RANGES) this.internal.addSubnet(address, prefix, family);
    for (const entry of allow) {
      const [address, prefixText] = entry.trim().split("/");
      const family = isIP(address);
      const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
      if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
        throw new OriginEgressError(`CACHE_ORIGIN_ALLOW_NETWORKS: "${entry}" is not an address or CIDR such as 10.0.0.0/8 or fd00::/8`);
      }
      this.allowed.addSubnet(address, prefix, family === 6 ? "ipv6" : "ipv4");
    }
  }

  /** Throws OriginEgressError when `address` is internal and not allowed. */
  check(address: string, host = address): void {
    const family = isIP(address);
    if (family === 0) throw new OriginEgressError(`origin host ${host} resolved to "${address}", which is not an IP address`);
    const v4 = family === 6 ? mappedIPv4(address) : undefined;
    const [checked, type] = v4 ? [v4, "ipv4" as const] : [address, family === 6 ? ("ipv6" as const) : ("ipv4" as const)];
    if (this.internal.check(checked, type) && !this.allowed.check(checked, type)) {
      throw new OriginEgressError(
        `origin host ${host} is the internal address ${address}; origins may not reach loopback, link-local or private networks unless CACHE_ORIGIN_ALLOW_NETWORKS names them`,
      );
    }
  }
}

/** `1.2.3.4` for `::ffff:1.2.3.4` (an IPv4 address written as IPv6), else undefined. */
function mappedIPv4(address: string): string | undefined {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (match) return match[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The policy from `CACHE_ORIGIN_ALLOW_NETWORKS` (comma-separated CIDRs or addresses; none by default). */
export function egressPolicyFromEnv(env: Record<string, string | undefined> = process.env): EgressPolicy {
  const list = (env.CACHE_ORIGIN_ALLOW_NETWORKS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return new EgressPolicy(list);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `fetch` whose connections go only where `policy` allows: every address a name resolves to is
 * checked (one internal address refuses the name), and IP literals are checked before connecting.
 */
export function egressFetch(policy: EgressPolicy): typeof fetch {
  const lookup = (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, []);
      try {
        for (const { address } of addresses) policy.check(address, hostname);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const dispatcher = new Agent({ connect: { lookup: lookup as never } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host)) policy.check(host);
    return undiciFetch(url, { ...(init as object), dispatcher } as never) as unknown as Response;
  }) as typeof fetch;
}
