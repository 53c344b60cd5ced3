// Who is calling, from the headers: Cloudflare sets CF-Connecting-IP on every request it forwards.

export const USER_AGENT_MAX_LENGTH = 256;

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * The network an address belongs to for counting: an IPv4 address is one client; an IPv6 address is
 * reduced to its /64, the block one subscriber usually gets whole, so changing the low 64 bits does not
 * make a new client.
 */
export function networkOf(address: string | undefined): string {
  if (!address) return "";
  const trimmed = address.trim().toLowerCase();
  if (!trimmed.includes(":")) return trimmed;
  const mapped = IPV4_MAPPED.exec(trimmed);
  if (mapped?.[1]) return mapped[1];
  const groups = expandIpv6(trimmed);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : trimmed;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros; undefined if it is not one. */
function expandIpv6(address: string): string[] | undefined {
  const [head = "", tail, ...rest] = address.split("::");
  if (rest.length > 0) return undefined;
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array<string>(Math.max(missing, 0)).fill("0"), ...right];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return undefined;
  return groups.map((group) => group.replace(/^0+(?=.)/, ""));
}
