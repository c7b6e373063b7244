import { parseShell } from "../../lib/words";

/** The words of each command, as plain text. */
function texts(script: string): string[][] {
  return parseShell(script).commands.map((c) => c.words.map((w) => w.text));
}

describe("parseShell splits a script into simple commands", () => {
  test("the seed's commands, one per line", () => {
    const script = "ipvsadm -A -t 172.16.1.8:1000 -s rr\niptables -t nat -A PREROUTING -p tcp --dport 1010 -j REDIRECT --to-port 1000\n";
    expect(texts(script)).toEqual([
      ["ipvsadm", "-A", "-t", "172.16.1.8:1000", "-s", "rr"],
      ["iptables", "-t", "nat", "-A", "PREROUTING", "-p", "tcp", "--dport", "1010", "-j", "REDIRECT", "--to-port", "1000"],
    ]);
  });

  test("separators && || ; | & start a new command and are remembered", () => {
    const parsed = parseShell("modprobe ip_vs && sysctl -w net.ipv4.vs.conntrack=1 || true; a | b & c");
    expect(parsed.commands.map((c) => [c.words[0].text, c.joinedBy])).toEqual([
      ["modprobe", undefined],
      ["sysctl", "&&"],
      ["true", "||"],
      ["a", ";"],
      ["b", "|"],
      ["c", "&"],
    ]);
  });

  test("quotes are removed and keep their contents in one word", () => {
    expect(texts(`iptables -m comment --comment 'my alias; not a command' -j "DNAT" --to-destination 172.16.1.8:1000`)).toEqual([
      ["iptables", "-m", "comment", "--comment", "my alias; not a command", "-j", "DNAT", "--to-destination", "172.16.1.8:1000"],
    ]);
  });

  test("backslash escapes a character and joins continued lines", () => {
    expect(texts("ipvsadm -a -t 172.16.1.8:1000 \\\n  -r 172.16.1.8:1001 -m\necho a\\;b")).toEqual([
      ["ipvsadm", "-a", "-t", "172.16.1.8:1000", "-r", "172.16.1.8:1001", "-m"],
      ["echo", "a;b"],
    ]);
  });

  test("comments are skipped; # inside a word is not a comment", () => {
    expect(texts("# set up\nipvsadm -C # flush\necho a#b")).toEqual([["ipvsadm", "-C"], ["echo", "a#b"]]);
  });

  test("a `&&` at the end of a line still joins the next line's command", () => {
    const parsed = parseShell("modprobe ip_vs &&\n  sysctl -w net.ipv4.vs.conntrack=1");
    expect(parsed.commands[1].joinedBy).toBe("&&");
    expect(parsed.commands[1].line).toBe(2);
  });

  test("expansions stay as written and mark the word dynamic", () => {
    const [cmd] = parseShell('ipvsadm -A -t "$VIP:${PORT}" -s $(cat /etc/sched)').commands;
    expect(cmd.words.map((w) => [w.text, w.dynamic])).toEqual([
      ["ipvsadm", false],
      ["-A", false],
      ["-t", false],
      ["$VIP:${PORT}", true],
      ["-s", false],
      ["$(cat /etc/sched)", true],
    ]);
  });

  test("a command substitution with ; and ) inside quotes is one word", () => {
    expect(texts(`x=$(echo 'a;)' ; echo b) next`)).toEqual([["x=$(echo 'a;)' ; echo b)", "next"]]);
  });
});

describe("parseShell reads redirections and here-documents", () => {
  test("echo 1 > /proc/sys/... is a command with a redirect, not a word", () => {
    const [cmd] = parseShell("echo 1 > /proc/sys/net/ipv4/vs/conntrack").commands;
    expect(cmd.words.map((w) => w.text)).toEqual(["echo", "1"]);
    expect(cmd.redirects).toEqual([{ op: ">", target: { text: "/proc/sys/net/ipv4/vs/conntrack", dynamic: false } }]);
  });

  test("digits touching the operator are a file descriptor", () => {
    const [cmd] = parseShell("ipvsadm -C 2>/dev/null").commands;
    expect(cmd.words.map((w) => w.text)).toEqual(["ipvsadm", "-C"]);
    expect(cmd.redirects[0]).toMatchObject({ fd: 2, op: ">", target: { text: "/dev/null" } });
  });

  test("cat <<EOF > file keeps the body with the command", () => {
    const script = "cat <<'EOF' > /etc/sysctl.d/90-lb.conf\nnet.ipv4.vs.conntrack = 1\nnet.ipv4.ip_forward=1\nEOF\nsysctl -p /etc/sysctl.d/90-lb.conf\n";
    const parsed = parseShell(script);
    expect(parsed.problems).toEqual([]);
    expect(parsed.commands).toHaveLength(2);
    const [cat, sysctl] = parsed.commands;
    expect(cat.redirects).toEqual([
      { op: "<<", target: { text: "EOF", dynamic: false }, heredoc: "net.ipv4.vs.conntrack = 1\nnet.ipv4.ip_forward=1\n", heredocLiteral: true },
      { op: ">", target: { text: "/etc/sysctl.d/90-lb.conf", dynamic: false } },
    ]);
    expect(sysctl.words.map((w) => w.text)).toEqual(["sysctl", "-p", "/etc/sysctl.d/90-lb.conf"]);
    expect(sysctl.line).toBe(5);
  });

  test("<<- strips leading tabs, including before the delimiter", () => {
    const [cat] = parseShell("cat <<-END >/etc/modules-load.d/ipvs.conf\n\tip_vs\n\tEND\n").commands;
    expect(cat.redirects[0].heredoc).toBe("ip_vs\n");
  });

  test("a quoted delimiter makes the body literal; an unquoted one lets sh expand it", () => {
    const literal = (script: string) => parseShell(script).commands[0].redirects[0].heredocLiteral;
    expect([literal("cat <<'EOF'\n$X\nEOF\n"), literal('cat <<"EOF"\n$X\nEOF\n'), literal("cat <<\\EOF\n$X\nEOF\n"), literal("cat <<EOF\n$X\nEOF\n")]).toEqual([true, true, true, false]);
  });

  test("a here-document body is not read as commands", () => {
    expect(texts("cat <<EOF >/tmp/x\nipvsadm -C\nEOF\n")).toEqual([["cat"]]);
  });
});

describe("parseShell on broken input", () => {
  test("reports an unterminated quote and still returns what it read", () => {
    const parsed = parseShell("ipvsadm -C\necho 'oops");
    expect(parsed.commands[0].words.map((w) => w.text)).toEqual(["ipvsadm", "-C"]);
    expect(parsed.problems).toEqual(["line 2: unterminated '"]);
  });

  test("reports a here-document without its end", () => {
    expect(parseShell("cat <<EOF\nabc\n").problems).toEqual(['here-document ending in "EOF" is not terminated']);
  });

  test("never throws on arbitrary text", () => {
    for (const s of ["", "\\", "$", "$(", "`", "<<", "2>", "a'b\"c", ")))", "&&&&", "\u0000\u2028", "${{{", "$'\\"]) {
      expect(() => parseShell(s)).not.toThrow();
    }
  });
});

describe("parseShell, property", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fc = require("fast-check") as typeof import("fast-check");
  const shellish = fc.string({ unit: fc.constantFrom(..."ab 1\\'\"$(){}`;&|<>#-\n\t=".split("")), maxLength: 80 });

  test("terminates without throwing on any mix of shell syntax", () => {
    fc.assert(fc.property(shellish, (s) => { parseShell(s); }), { seed: 42, numRuns: 2000 });
  });

  test("a word made only of plain characters comes back unchanged", () => {
    const plain = fc.stringMatching(/^[A-Za-z0-9_.:\/=,+-]{1,30}$/);
    fc.assert(
      fc.property(fc.array(plain, { minLength: 1, maxLength: 6 }), (ws) => {
        const [cmd] = parseShell(ws.join(" ")).commands;
        expect(cmd.words.map((w) => w.text)).toEqual(ws);
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
