import { hostPort, isContiguousIpv4Netmask, parseAddress } from "../../lib/model";

describe("parseAddress", () => {
  test.each([
    ["172.16.1.8", "ipv4", "172.16.1.8"],
    ["FD00:16:0:0:0:0:0:8", "ipv6", "fd00:16::8"],
    ["2001:db8:0:0:1:0:0:1", "ipv6", "2001:db8::1:0:0:1"],
    ["2001:0db8::0001", "ipv6", "2001:db8::1"],
    ["::1", "ipv6", "::1"],
    ["::", "ipv6", "::"],
    ["::ffff:172.16.1.8", "ipv6", "::ffff:ac10:108"],
    ["2001:db8:1:2:3:4:0:5", "ipv6", "2001:db8:1:2:3:4:0:5"],
  ])("reads %s as %s %s", (text, family, canonical) => {
    expect(parseAddress(text)).toEqual({ family, canonical });
  });

  test.each(["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4 ", "fd00::8::1", "fd00:12345::1", "1:2:3:4:5:6:7:8:9", "host.example", "", "1.2.3.4;rm -rf /"])(
    "rejects %j",
    (text) => {
      expect(parseAddress(text)).toBeUndefined();
    },
  );

  test("rejects non-strings", () => {
    expect(parseAddress(42)).toBeUndefined();
  });
});

describe("hostPort", () => {
  test("brackets IPv6 the way ipvsadm prints it", () => {
    expect(hostPort("ipv6", "fd00::8", 80)).toBe("[fd00::8]:80");
    expect(hostPort("ipv4", "10.0.0.1", 80)).toBe("10.0.0.1:80");
  });
});

describe("isContiguousIpv4Netmask", () => {
  test("accepts contiguous masks and rejects holes", () => {
    expect(isContiguousIpv4Netmask("255.255.255.0")).toBe(true);
    expect(isContiguousIpv4Netmask("255.255.0.255")).toBe(false);
    expect(isContiguousIpv4Netmask("0.0.0.0")).toBe(false);
  });
});
