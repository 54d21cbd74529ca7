/** The ranges a security group rule takes, as the AWS provider checks them (cidrIpv4). */
import { describe, expect, it } from "vitest";
import { ipv4CidrProblem } from "./cidr";

describe("ipv4CidrProblem", () => {
  it.each(["0.0.0.0/0", "10.0.0.0/8", "203.0.113.0/24", "203.0.113.7/32"])("accepts %s", (c) => {
    expect(ipv4CidrProblem(c)).toBeUndefined();
  });
  it.each([
    ["203.0.113.7", /bare address/, /203\.0\.113\.7\/32/],
    ["10.0.0.1/8", /host bits set below its \/8 prefix/, /10\.0\.0\.0\/8/],
    ["10.0.0.0/33", /prefix length \/33/, /0 to 32/],
    ["10.0.0.256/32", /octet above 255/, /at most 255/],
    ["2001:db8::/32", /IPv6/, /IPv4 ranges/],
    ["office", /not an IPv4 range/, /a\.b\.c\.d\/n/],
    [" 10.0.0.0/8", /not an IPv4 range/, /a\.b\.c\.d\/n/],
  ])("refuses %s with what is wrong and a fix", (c, message, fix) => {
    const problem = ipv4CidrProblem(c);
    expect(problem?.message).toMatch(message);
    expect(problem?.fix).toMatch(fix);
  });
});
