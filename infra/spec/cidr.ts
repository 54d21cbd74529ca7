/**
 * IPv4 ranges that become EC2 security group rules (cidrIpv4): an IPv4 network address with a
 * prefix length and its host bits zero (the AWS provider refuses "10.0.0.1/8"). Checked at plan
 * time so a bad range fails at `fleet plan` / `pulumi preview`, not half-way through `pulumi up`.
 */
export function ipv4CidrProblem(cidr: string): { message: string; fix: string } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  if (!m) {
    return cidr.includes(":")
      ? { message: `"${cidr}" is an IPv6 range; the gateway's rules take IPv4 ranges only`, fix: "list the IPv4 ranges of your clients, e.g. 203.0.113.0/24" }
      : { message: `"${cidr}" is not an IPv4 range`, fix: "write a.b.c.d/n, e.g. 203.0.113.0/24 (a network) or 203.0.113.7/32 (one address)" };
  }
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return { message: `"${cidr}" has an octet above 255`, fix: "write a.b.c.d/n with each of a, b, c, d at most 255" };
  if (m[5] === undefined) return { message: `"${cidr}" is a bare address without a prefix length`, fix: `write ${cidr}/32 for that one address` };
  const prefix = Number(m[5]);
  if (prefix > 32) return { message: `"${cidr}" has prefix length /${prefix}; IPv4 allows /0 to /32`, fix: "use a prefix length from 0 to 32" };
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  const network = address - (address % 2 ** (32 - prefix));
  if (network !== address) {
    const canonical = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join(".");
    return { message: `"${cidr}" has host bits set below its /${prefix} prefix`, fix: `write the network address: ${canonical}/${prefix} (or ${m.slice(1, 5).join(".")}/32 for that one address)` };
  }
  return undefined;
}
